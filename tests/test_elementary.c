/* The binary64 exp and log of sim/elementary.h, first stage of the fast
 * engine's correctly rounded exp and log: the split of ln 2 against MPFR
 * (LN2_HI of at most 42 bits, so that k * LN2_HI is exact for |k| < 2^11,
 * and LN2_LO = RN(ln 2 - LN2_HI)); the domains where a bound is claimed;
 * and the relative error against MPFR at 200 bits over more than 10^6
 * arguments (exp: uniform on [-690, 690], near the ends of that range,
 * near the reduction boundaries (k + 1/2) ln 2 and tiny arguments of
 * every binade; log: every binade of binary64, subnormals included, and
 * arguments near 1 and near the switch point sqrt(1/2)), which must stay
 * below NFI_ELEM_REL_ERROR.  The largest error observed is printed.
 *
 * The second stage of exp (double-word, NFI_ELEM_DD_REL_ERROR) is checked
 * the same way, with its table of 2^(j/32).
 *
 * Why: the fast engine rounds both ends of [y (1 - 2^-47), y (1 + 2^-47)]
 * and trusts the answer when they agree.  If the bound were wrong, the
 * engine would return a wrong rounding without falling back, and only an
 * argument near a rounding boundary would show it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bits.h"
#include "elementary.h"
#include "harness.h"

#define WORK_PREC 200

/* Whether |x| < 2^e (or <= with or_equal). */
static bool abs_below_pow2(mpfr_srcptr x, long e, bool or_equal)
{
    mpfr_t p;
    mpfr_init2(p, 2);
    mpfr_set_ui_2exp(p, 1, e, MPFR_RNDN);
    int c = mpfr_cmpabs(x, p);
    mpfr_clear(p);
    return or_equal ? c <= 0 : c < 0;
}

static void check_ln2_split(void)
{
    mpfr_t ln2, hi, lo, t;
    mpfr_inits2(WORK_PREC, ln2, hi, lo, t, (mpfr_ptr)0);
    mpfr_const_log2(ln2, MPFR_RNDN);
    mpfr_set_d(hi, nfi_elem_ln2_hi, MPFR_RNDN);
    mpfr_set_d(lo, nfi_elem_ln2_lo, MPFR_RNDN);

    check_true(mpfr_min_prec(hi) <= 42, "nfi_elem_ln2_hi = %a has %ld "
               "significant bits, at most 42 claimed", nfi_elem_ln2_hi,
               (long)mpfr_min_prec(hi));

    /* ln2 - hi is exact at 200 bits; its rounding to binary64 is lo. */
    mpfr_sub(t, ln2, hi, MPFR_RNDN);
    double want_lo = mpfr_get_d(t, MPFR_RNDN);
    check_double(want_lo, nfi_elem_ln2_lo, "nfi_elem_ln2_lo = RN(ln 2 - "
                 "nfi_elem_ln2_hi)");
    /* hi must be ln 2 to within its own last place, so that lo is small. */
    check_true(abs_below_pow2(t, -42, false), "|ln 2 - hi| should be "
               "below 2^-42");

    /* |ln 2 - hi - lo| <= 2^-97, the figure the error analysis uses. */
    mpfr_sub(t, t, lo, MPFR_RNDN);
    check_true(abs_below_pow2(t, -97, true), "|ln 2 - hi - lo| = "
               "%g should be at most 2^-97", mpfr_get_d(t, MPFR_RNDN));

    /* k * hi is exact in binary64 for every |k| < 2^11. */
    long inexact = 0;
    for (long k = -2047; k <= 2047; k++) {
        mpfr_mul_si(t, hi, k, MPFR_RNDN);
        inexact += mpfr_cmp_d(t, (double)k * nfi_elem_ln2_hi) != 0;
    }
    check_true(inexact == 0, "k * nfi_elem_ln2_hi inexact for %ld values "
               "of |k| < 2^11", inexact);
    mpfr_clears(ln2, hi, lo, t, (mpfr_ptr)0);
}

/* Where the bound is not claimed the functions return 0; everywhere in
 * the claimed domain they return 1. */
static void check_domains(void)
{
    static const double exp_refused[] = {690.0, -690.0, 700.0, -745.0,
                                         1e300, -1e300, INFINITY,
                                         -INFINITY, NAN};
    static const double exp_accepted[] = {
        0x1.58fffffffffffp+9, -0x1.58fffffffffffp+9, 0.0, -0.0, 1e-300,
        0x1p-1074, -0x1p-1074, 1.0, -1.0, 88.0, -103.0};
    static const double log_refused[] = {0.0, -0.0, -1.0, 1.0, INFINITY,
                                         -INFINITY, NAN, -0x1p-1074};
    static const double log_accepted[] = {
        0x1p-1074, 0x1p-1022, 0x1.fffffffffffffp+1023, 2.0, 0.5,
        0x1.0000000000001p0, 0x1.fffffffffffffp-1};
    double y = 0;
    for (size_t i = 0; i < sizeof exp_refused / sizeof exp_refused[0]; i++)
        check_true(nfi_elem_exp(exp_refused[i], &y) == 0,
                   "nfi_elem_exp(%a) should decline", exp_refused[i]);
    for (size_t i = 0; i < sizeof exp_accepted / sizeof exp_accepted[0];
         i++)
        check_true(nfi_elem_exp(exp_accepted[i], &y) == 1,
                   "nfi_elem_exp(%a) should answer", exp_accepted[i]);
    for (size_t i = 0; i < sizeof log_refused / sizeof log_refused[0]; i++)
        check_true(nfi_elem_log(log_refused[i], &y) == 0,
                   "nfi_elem_log(%a) should decline", log_refused[i]);
    for (size_t i = 0; i < sizeof log_accepted / sizeof log_accepted[0];
         i++)
        check_true(nfi_elem_log(log_accepted[i], &y) == 1,
                   "nfi_elem_log(%a) should answer", log_accepted[i]);
}

/* Relative error of y against f(x) computed by MPFR; records the largest
 * and checks it against the bound. */
struct error_record {
    const char *name;
    double max_error;
    double worst_argument;
    long count;
};

static mpfr_t exact, diff;

static void check_error(struct error_record *rec, bool is_exp, double x)
{
    double y;
    int answered = is_exp ? nfi_elem_exp(x, &y) : nfi_elem_log(x, &y);
    if (!check_true(answered == 1, "%s(%a) declined inside its domain",
                    rec->name, x))
        return;
    mpfr_set_d(diff, x, MPFR_RNDN);
    if (is_exp)
        mpfr_exp(exact, diff, MPFR_RNDN);
    else
        mpfr_log(exact, diff, MPFR_RNDN);
    mpfr_sub_d(diff, exact, y, MPFR_RNDN);
    mpfr_div(diff, diff, exact, MPFR_RNDN);
    mpfr_abs(diff, diff, MPFR_RNDN);
    double rel = mpfr_get_d(diff, MPFR_RNDU);
    rec->count++;
    if (rel > rec->max_error) {
        rec->max_error = rel;
        rec->worst_argument = x;
    }
    check_true(rel <= NFI_ELEM_REL_ERROR, "%s(%a) = %a has relative error "
               "%g, above NFI_ELEM_REL_ERROR = %g", rec->name, x, y, rel,
               NFI_ELEM_REL_ERROR);
}

/* A random binary64 with a given binade and a random significand. */
static double random_in_binade(test_rng *rng, int e)
{
    uint64_t m = (rng_next(rng) >> 11) | (1ULL << 52);
    return ldexp((double)m, e - 52);
}

static void check_exp(test_rng *rng, long n)
{
    struct error_record rec = {"nfi_elem_exp", 0, 0, 0};
    for (long i = 0; i < n; i++) {
        double x;
        switch (i % 5) {
        case 0:
        case 1:
            x = -690.0 + 1380.0 * rng_unit(rng);
            break;
        case 2: {
            /* Near (k + 1/2) ln 2, where the reduction changes k. */
            long k = rng_range(rng, -996, 995);
            double mid = ((double)k + 0.5) * 0x1.62e42fefa39efp-1;
            x = mid + ldexp(rng_unit(rng) - 0.5, -rng_range(rng, 20, 52));
            break;
        }
        case 3: {
            /* Tiny arguments of every binade, subnormals included. */
            int e = (int)rng_range(rng, -1074, -1);
            x = e >= -1022 ? random_in_binade(rng, e)
                           : ldexp((double)(rng_next(rng) >> 12), -1074) +
                                 0x1p-1074;
            if (rng_next(rng) & 1)
                x = -x;
            break;
        }
        default:
            /* Near the ends of the claimed range. */
            x = 690.0 * (1.0 - ldexp(rng_unit(rng), -rng_range(rng, 1, 30)));
            if (rng_next(rng) & 1)
                x = -x;
            break;
        }
        if (!(x > -690.0 && x < 690.0))
            continue;
        check_error(&rec, true, x);
        /* the four- and eight-lane forms give the scalar bits, in every
         * lane */
        double xs[8] = {x, -x, x * 0.5, 700.0, x * 0.25, NAN, -x * 0.5,
                        -700.0}, y4[4], y8[8], y1;
        unsigned answered = nfi_elem_exp4(xs, y4);
        unsigned answered8 = nfi_elem_exp8(xs, y8);
        for (int l = 0; l < 8; l++) {
            int one = nfi_elem_exp(xs[l], &y1);
            check_true(one == (int)(answered8 >> l & 1) &&
                           (!one || nfi_bits_of(y1) == nfi_bits_of(y8[l])),
                       "nfi_elem_exp8 lane %d of %a: %a, scalar %a", l,
                       xs[l], y8[l], y1);
            if (l >= 4)
                continue;
            check_true(one == (int)(answered >> l & 1) &&
                           (!one || nfi_bits_of(y1) == nfi_bits_of(y4[l])),
                       "nfi_elem_exp4 lane %d of %a: %a, scalar %a", l,
                       xs[l], y4[l], y1);
        }
    }
    printf("nfi_elem_exp: %ld arguments, largest relative error %.3g "
           "(2^%.2f) at %a; bound 2^-48\n", rec.count, rec.max_error,
           rec.max_error > 0 ? log2(rec.max_error) : -INFINITY,
           rec.worst_argument);
}

static void check_log(test_rng *rng, long n)
{
    struct error_record rec = {"nfi_elem_log", 0, 0, 0};
    for (long i = 0; i < n; i++) {
        double x;
        switch (i % 4) {
        case 0:
        case 1: {
            /* Every binade, subnormals included. */
            int e = (int)rng_range(rng, -1075, 1023);
            if (e < -1022)
                x = ldexp((double)(rng_next(rng) >> 12), -1074) + 0x1p-1074;
            else
                x = random_in_binade(rng, e);
            break;
        }
        case 2: {
            /* Near 1, where log is small and cancellation would show. */
            double d = ldexp((double)rng_range(rng, 1, 1L << 20),
                             -(int)rng_range(rng, 52, 72));
            x = rng_next(rng) & 1 ? 1.0 + d : 1.0 - d;
            break;
        }
        default: {
            /* Near the switch m < sqrt(1/2), in random binades. */
            double s = 0x1.6a09e667f3bcdp-1 +
                       ldexp((double)rng_range(rng, -1000, 1000), -53);
            x = ldexp(s, (int)rng_range(rng, -1000, 1000));
            break;
        }
        }
        if (!(x > 0.0) || x == 1.0 || isinf(x))
            continue;
        check_error(&rec, false, x);
    }
    printf("nfi_elem_log: %ld arguments, largest relative error %.3g "
           "(2^%.2f) at %a; bound 2^-48\n", rec.count, rec.max_error,
           rec.max_error > 0 ? log2(rec.max_error) : -INFINITY,
           rec.worst_argument);
}

/* The second stage: its table of 2^(j/32) against MPFR (hi the nearest
 * binary64, lo the nearest to the rest), then the relative error of
 * hi + lo against exp at 200 bits over arguments drawn as for the first
 * stage (uniform, near the reduction boundaries (N + 1/2) ln(2)/32, tiny,
 * near the ends of -665 < x < 690), which must stay below
 * NFI_ELEM_DD_REL_ERROR; and |lo| at most half an ulp of hi. */
static void check_exp_dd(test_rng *rng, long n)
{
    mpfr_t t, v;
    mpfr_inits2(WORK_PREC, t, v, (mpfr_ptr)0);
    for (int j = 0; j < 32; j++) {
        double lo, hi = nfi_elem_exp2_32nd(j, &lo);
        mpfr_set_si(t, j, MPFR_RNDN);
        mpfr_div_ui(t, t, 32, MPFR_RNDN);
        mpfr_exp2(t, t, MPFR_RNDN);
        bool ok = mpfr_get_d(t, MPFR_RNDN) == hi;
        mpfr_sub_d(v, t, hi, MPFR_RNDN);
        ok = ok && mpfr_get_d(v, MPFR_RNDN) == lo;
        check_true(ok, "table entry 2^(%d/32): (%a, %a) is not the nearest "
                   "pair", j, hi, lo);
    }
    double worst = 0.0, worst_x = 0.0;
    long count = 0;
    for (long i = 0; i < n; i++) {
        double x;
        switch (i % 4) {
        case 0:
            x = -665.0 + 1355.0 * rng_unit(rng);
            break;
        case 1: {
            long k = rng_range(rng, -30700, 31800);
            double mid = ((double)k + 0.5) * 0x1.62e42fefa39efp-6;
            x = mid + ldexp(rng_unit(rng) - 0.5, -rng_range(rng, 20, 52));
            break;
        }
        case 2:
            x = random_in_binade(rng, (int)rng_range(rng, -1022, -1));
            if (rng_next(rng) & 1)
                x = -x;
            break;
        default:
            x = rng_next(rng) & 1
                    ? 690.0 * (1.0 - ldexp(rng_unit(rng), -30))
                    : -665.0 * (1.0 - ldexp(rng_unit(rng), -30));
            break;
        }
        double hi, lo;
        if (!(x > -665.0 && x < 690.0))
            continue;
        if (!check_true(nfi_elem_exp_dd(x, &hi, &lo) == 1,
                        "nfi_elem_exp_dd(%a) declined", x))
            continue;
        mpfr_set_d(v, x, MPFR_RNDN);
        mpfr_exp(t, v, MPFR_RNDN);
        mpfr_set_d(v, hi, MPFR_RNDN);
        mpfr_add_d(v, v, lo, MPFR_RNDN); /* exact at 200 bits */
        mpfr_sub(v, v, t, MPFR_RNDN);
        mpfr_div(v, v, t, MPFR_RNDN);
        double rel = fabs(mpfr_get_d(v, MPFR_RNDU));
        count++;
        if (rel > worst) {
            worst = rel;
            worst_x = x;
        }
        check_true(rel <= NFI_ELEM_DD_REL_ERROR && hi + lo == hi,
                   "nfi_elem_exp_dd(%a) = %a + %a: relative error %g "
                   "(bound %g), or lo not below half an ulp", x, hi, lo,
                   rel, NFI_ELEM_DD_REL_ERROR);
    }
    double none;
    check_true(nfi_elem_exp_dd(-665.0, &none, &none) == 0 &&
                   nfi_elem_exp_dd(690.0, &none, &none) == 0 &&
                   nfi_elem_exp_dd(NAN, &none, &none) == 0,
               "nfi_elem_exp_dd answers outside -665 < x < 690");
    printf("nfi_elem_exp_dd: %ld arguments, largest relative error %.3g "
           "(2^%.2f) at %a; bound 2^-96\n", count, worst,
           worst > 0 ? log2(worst) : -INFINITY, worst_x);
    mpfr_clears(t, v, (mpfr_ptr)0);
}

int main(void)
{
    harness_init("test_elementary", 1);
    mpfr_inits2(WORK_PREC, exact, diff, (mpfr_ptr)0);
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    check_ln2_split();
    check_domains();
    check_exp(&rng, 525000);
    check_log(&rng, 525000);
    check_exp_dd(&rng, 400000);
    mpfr_clears(exact, diff, (mpfr_ptr)0);
    mpfr_free_cache();
    return harness_finish();
}
