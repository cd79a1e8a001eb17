/* Tests of sim/lanes_wide.h and sim/matmul_wide: RNE with 26 <= p <= 52
 * on four lanes from error-free transformations.
 *
 *   1. The rounding step, exhaustively over a set of configurations: s
 *      on every kind of position in its grid step (grid point, just
 *      above, the midpoint and its binary64 neighbours, just below the
 *      next grid point) at the ends of binades and of the exponent
 *      range, both signs, with errors e of both signs and several sizes
 *      (0, tiny, a quarter, just under a half and exactly a half of
 *      u53(s) where s = RN(s + e) allows it); expected: RNE to p bits of
 *      the exact s + e by MPFR, and a flag exactly when it overflows.
 *   2. Products and sums of format values lane by lane against the fast
 *      engine's scalar nfi_fast_mul and nfi_fast_add (the slow twin),
 *      with operands built to land on midpoints with and without an
 *      error, to cancel, to underflow, to overflow, signed zeros,
 *      infinities and NaNs.
 *   3. nfi_matmul_wide_row and nfi_column_sums_wide against the scalar
 *      loop on random matrices from those operands.
 * In 2 and 3 a flag must be raised exactly when it must: never when
 * every rounded value of the twin is a normal value or zero away from
 * the ends of the range, always when one is infinite or NaN, or (without
 * subnormals) below 2^emin.  Values are compared whenever no flag was
 * raised, subnormal results included.  Part 1 also covers the subnormal
 * grid (its points, midpoints and their neighbours) against MPFR.
 * The proof that lets a kernel skip the range checks is checked against
 * the twin, and the unchecked kernel run where it holds.
 *   4. nfi_matmul and nfi_column_sums (which take the kernels, with the
 *      general route for flagged rows) against MPFR reference handles.
 * Every failure prints its inputs and the seed (NFI_TEST_SEED). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bits.h"
#include "harness.h"
#include "lanes_wide.h"
#include "matmul.h"
#include "matmul_wide.h"

static test_rng rng;

static const char *const specs[] = {
    "p=26,emin=-126,emax=127", "p=27,emin=-126,emax=127",
    "p=28,emin=-126,emax=127", "p=32,emin=-126,emax=127",
    "p=40,emin=-126,emax=127", "p=51,emin=-126,emax=127",
    "p=52,emin=-126,emax=127", "p=30,emin=-14,emax=15",
    "p=28,emin=-14,emax=15,subnormals=off", "p=45,emin=-300,emax=300",
    "p=33,emin=-6,emax=7,overflow=saturate", "p=48,emin=-40,emax=41,subnormals=off",
};
#define SPEC_COUNT (sizeof specs / sizeof *specs)

static bool make_ctx(nfi_fast *f, const char *spec)
{
    nfi_format fmt = harness_format(spec);
    nfi_error err;
    if (nfi_fast_init(f, &fmt, NFI_ROUND_RNE, 0, &err) != 0)
        return check_true(false, "setup %s: %s", spec, err.message);
    return check_true(nfi_matmul_wide_applies(f), "%s: kernels decline",
                      spec);
}

/* Whether a rounded value r lies at or beyond the ends of the normal
 * range, where the kernels may flag; x is the binary64 result of the
 * same operation, non-zero exactly when the exact result is (products of
 * format values do not underflow binary64, sums are exact there), so
 * that a zero from an underflow counts. */
static bool at_edge(const nfi_fast *f, double r, double x)
{
    double a = fabs(r);
    return isnan(r) || a >= f->max_finite ||
           (a != 0.0 && a <= ldexp(1.0, f->emin)) || (r == 0.0 && x != 0.0);
}

/* Whether a rounded value must be flagged: an infinity, a NaN, and
 * without subnormals (which the checked lanes round themselves
 * otherwise) a value below 2^emin or an underflow to zero.  The
 * overflow value of a saturating format cannot be told apart from
 * max_finite, so it is not required. */
static bool must_flag(const nfi_fast *f, double r, double x)
{
    double a = fabs(r);
    bool tiny = (a != 0.0 && a < ldexp(1.0, f->emin)) ||
                (r == 0.0 && x != 0.0);
    return isnan(r) || isinf(r) || (tiny && !f->format.subnormals);
}

/* ---- 1. The rounding step ---- */

static void round_case(const nfi_fast *f, const char *spec, double s,
                       double e, int lane)
{
    const nfi_lanes_wide c = nfi_lanes_wide_of(f);
    nfi_v4d sv = {1.0, 1.0, 1.0, 1.0}, ev = {0.0, 0.0, 0.0, 0.0};
    sv[lane] = s;
    ev[lane] = e;
    bool sub = f->format.subnormals;
    nfi_wide_flags g = nfi_wide_flags_new(sub);
    nfi_v4d r = nfi_wide_round(&c, sv, ev, &g);

    /* The format's RNE of s + e: p bits from 2^emin up, multiples of
     * 2^(emin - p + 1) below it (with subnormals). */
    mpfr_t x, lo_m;
    mpfr_init2(x, 2300);
    mpfr_init2(lo_m, 2);
    mpfr_set_ui_2exp(lo_m, 1, f->emin, MPFR_RNDN);
    mpfr_set_d(x, s, MPFR_RNDN);
    mpfr_add_d(x, x, e, MPFR_RNDN); /* exact at 2300 bits */
    if (sub && mpfr_cmpabs(x, lo_m) < 0) {
        mpfr_mul_2si(x, x, -(f->emin - f->p + 1), MPFR_RNDN);
        mpfr_rint(x, x, MPFR_RNDN);
        mpfr_mul_2si(x, x, f->emin - f->p + 1, MPFR_RNDN);
    } else {
        mpfr_prec_round(x, f->p, MPFR_RNDN);
    }
    bool over = mpfr_cmp_d(x, f->max_finite) > 0 ||
                mpfr_cmp_d(x, -f->max_finite) < 0;
    double want = mpfr_get_d(x, MPFR_RNDN); /* exact: p bits */
    mpfr_clear(x);
    mpfr_clear(lo_m);

    /* Flagged: s outside the normal range (an overflow needs s above
     * max_finite). */
    double a = fabs(s), lo = ldexp(1.0, f->emin);
    bool flag = a > f->max_finite || (!sub && s != 0.0 && a < lo);
    int flagged = nfi_wide_flagged(&c, &g);
    if (!check_true(flagged == (int)flag && (!over || flag), "round %s s=%a "
                    "e=%a lane %d: flagged %d, expected %d", spec, s, e,
                    lane, flagged, flag))
        return;
    if (!flagged)
        check_true(same_double(want, r[lane]), "round %s s=%a e=%a: "
                   "expected %a, got %a", spec, s, e, want, r[lane]);
}

static void round_exhaustive(void)
{
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        nfi_fast f;
        if (!make_ctx(&f, specs[i]))
            continue;
        int p = f.p, shift = 53 - p, emax = (int)f.format.emax;
        int exps[] = {f.emin, f.emin + 1, -1, 0, 1, emax - 1, emax};
        uint64_t half = 1ULL << (shift - 1), step = 1ULL << shift;
        uint64_t offs[] = {0, 1, 2, half - 1, half, half + 1, step - 2,
                           step - 1};
        for (size_t xi = 0; xi < sizeof exps / sizeof *exps; xi++) {
            for (int g = 0; g < 16; g++) {
                /* p-bit significand: the first and last four of the
                 * binade, and eight random ones. */
                uint64_t top = 1ULL << (p - 1), m;
                if (g < 4)
                    m = top + (uint64_t)g;
                else if (g < 8)
                    m = 2 * top - 1 - (uint64_t)(g - 4);
                else
                    m = top + rng_below(&rng, top);
                for (size_t oi = 0; oi < sizeof offs / sizeof *offs; oi++) {
                    uint64_t sig = (m << shift) + offs[oi];
                    int ex = exps[xi];
                    if (ex == emax && m == 2 * top - 1 && offs[oi] > half)
                        continue; /* kept within max + half a step */
                    double s = exact_scaled(sig, ex - 52);
                    double u = ldexp(1.0, ex - 52);
                    bool pow2 = sig == 1ULL << 52, even = (sig & 1) == 0;
                    double es[] = {0.0, 0x1p-1074, u * 0x1p-30, u / 4,
                                   u / 2 * (1 - 0x1p-52), u / 2};
                    for (int sg = 0; sg < 2; sg++) {
                        double ss = sg ? -s : s;
                        for (size_t ei = 0; ei < 12; ei++) {
                            double e = es[ei / 2];
                            bool toward = ei & 1; /* toward zero */
                            if (toward && pow2 && e > u / 4)
                                continue; /* s would not be RN(s + e) */
                            if (e == u / 2 && !even)
                                continue;
                            if (e == 0.0 && toward)
                                continue;
                            double es_signed = (toward != (sg == 1)) ? -e
                                                                     : e;
                            round_case(&f, specs[i], ss, es_signed,
                                       (int)rng_below(&rng, 4));
                        }
                    }
                }
            }
        }
        /* Below 2^emin with subnormals: grid points, midpoints and
         * their binary64 neighbours of the subnormal grid. */
        if (f.format.subnormals) {
            int qe = f.emin - p + 1;
            uint64_t top = 1ULL << (p - 1);
            for (int g = 0; g < 24; g++) {
                uint64_t j = g < 4 ? (uint64_t)g
                             : g < 8 ? top - 1 - (uint64_t)(g - 4)
                                     : rng_below(&rng, top);
                for (int half = 0; half < 2; half++) {
                    double base = ldexp((double)(2 * j + (uint64_t)half),
                                        qe - 1);
                    for (int d = -2; d <= 2; d++) {
                        double sv = base;
                        for (int t = 0; t < (d < 0 ? -d : d); t++)
                            sv = nextafter(sv, d < 0 ? 0.0 : 1.0);
                        /* results of products and sums are never below
                         * half a subnormal step (products_never_tiny) */
                        if (sv < ldexp(1.0, qe - 1) ||
                            sv >= ldexp(1.0, f.emin))
                            continue;
                        double u = ldexp(1.0, ilogb(sv) - 52);
                        double es[] = {0.0, 0x1p-1074, u / 4, -u / 4,
                                       -0x1p-1074};
                        for (int sg = 0; sg < 2; sg++)
                            for (int ei = 0; ei < 5; ei++)
                                if (fabs(es[ei]) <= u / 2)
                                        round_case(&f, specs[i],
                                               sg ? -sv : sv,
                                               sg ? -es[ei] : es[ei],
                                               (int)rng_below(&rng, 4));
                    }
                }
            }
        }
        /* Outside the range: zeros pass, anything else is flagged (below
         * 2^emin only without subnormals). */
        const nfi_lanes_wide c = nfi_lanes_wide_of(&f);
        double tiny = ldexp(1.0, f.emin) * (1 - 0x1p-53);
        double bad[] = {INFINITY, -INFINITY, NAN,
                        f.max_finite * (1 + 0x1p-40), tiny, -tiny,
                        ldexp(1.0, f.emin - 3)};
        size_t nbad = f.format.subnormals ? 4 : 7;
        for (size_t b = 0; b < nbad; b++) {
            nfi_wide_flags g = nfi_wide_flags_new(f.format.subnormals),
                           z = g;
            nfi_v4d sv = {1.0, bad[b], -0.0, 0.0}, ev = {0, 0, 0, 0};
            nfi_v4d zv = {1.0, 0.5, -0.0, 0.0};
            nfi_wide_round(&c, sv, ev, &g);
            nfi_v4d r = nfi_wide_round(&c, zv, ev, &z);
            check_true(nfi_wide_flagged(&c, &g) &&
                       !nfi_wide_flagged(&c, &z) &&
                       same_double(r[2], -0.0) && same_double(r[3], 0.0),
                       "%s: s=%a not flagged, or zeros flagged",
                       specs[i], bad[b]);
        }
    }
}

/* ---- 2. Products and sums of format values ---- */

/* A random p-bit significand scaled by 2^ex (a format value when ex is
 * within the range). */
static double random_value(const nfi_fast *f, int ex)
{
    uint64_t top = 1ULL << (f->p - 1);
    uint64_t m = top + rng_below(&rng, top);
    double v = exact_scaled(m, ex - f->p + 1);
    return rng_below(&rng, 2) ? -v : v;
}

static int random_exponent(const nfi_fast *f)
{
    int emax = (int)f->format.emax;
    switch (rng_below(&rng, 8)) {
    case 0: return (int)rng_range(&rng, f->emin, emax);
    case 1: return (int)rng_range(&rng, f->emin, f->emin + 4);
    case 2: return (int)rng_range(&rng, emax - 4, emax);
    default: return (int)rng_range(&rng, -4, 4);
    }
}

/* Inverse of an odd a modulo 2^64 (Newton's iteration). */
static uint64_t inverse_odd(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

/* A pair (a, b) of p-bit values whose exact product, scaled near 1,
 * lies within u53/2 of a midpoint of the p-bit grid (on either side,
 * or on it), so that its binary64 rounding is the midpoint: the low p
 * bits of A B (A odd) are 2^(p-1) + d with small d.  Returns false when
 * the B found does not have p bits. */
static bool tie_partner_of(const nfi_fast *f, uint64_t A, double *b)
{
    int p = f->p;
    uint64_t top = 1ULL << (p - 1), mask = 2 * top - 1;
    int64_t spread = 2 * p - 54 > 0 ? (int64_t)1 << (2 * p - 54) : 1;
    int64_t d = (int64_t)rng_below(&rng, 2 * (uint64_t)spread + 1) - spread;
    uint64_t B = ((top + (uint64_t)d) * inverse_odd(A)) & mask;
    if (B < top)
        return false;
    *b = exact_scaled(B, (int)rng_range(&rng, -3, 3) - p + 1);
    if (rng_below(&rng, 2))
        *b = -*b;
    return true;
}

static bool tie_product(const nfi_fast *f, double *a, double *b)
{
    int p = f->p;
    uint64_t top = 1ULL << (p - 1), mask = 2 * top - 1;
    uint64_t A = (top + rng_below(&rng, top)) | 1;
    int64_t spread = 2 * p - 54 > 0 ? (int64_t)1 << (2 * p - 54) : 1;
    int64_t d = (int64_t)rng_below(&rng, 2 * (uint64_t)spread + 1) - spread;
    uint64_t B = ((top + (uint64_t)d) * inverse_odd(A)) & mask;
    if (B < top)
        return false;
    int ea = (int)rng_range(&rng, -3, 3), eb = (int)rng_range(&rng, -3, 3);
    *a = exact_scaled(A, ea - p + 1);
    *b = exact_scaled(B, eb - p + 1);
    if (rng_below(&rng, 2))
        *a = -*a;
    if (rng_below(&rng, 2))
        *b = -*b;
    return true;
}

/* A pair whose product is exactly a midpoint of the p-bit grid: a = 3
 * (scaled), b = m scaled with m a p-bit integer, m = 2 (mod 4) and
 * 3m >= 2^(p+1), so that 3m has p + 2 significant bits ending in binary
 * 10: half a step of its grid (exact in binary64, p + 2 <= 53). */
static void exact_tie_product(const nfi_fast *f, double *a, double *b)
{
    int p = f->p;
    uint64_t low = ((1ULL << (p + 1)) + 2) / 3, top = 1ULL << p;
    uint64_t m = (low + rng_below(&rng, top - low)) & ~3ULL;
    m = m < low ? m + 6 : m + 2;
    *a = exact_scaled(3, (int)rng_range(&rng, -3, 3));
    *b = exact_scaled(m, (int)rng_range(&rng, -3, 3) - p + 1);
    if (rng_below(&rng, 2))
        *a = -*a;
    if (rng_below(&rng, 2))
        *b = -*b;
}

/* A value b such that a + b lies at or next to a midpoint of a's grid
 * (a normal, non-zero): half a step of a's grid, plus or minus a few
 * units of b's last place, of either sign; truncated onto the format's
 * grid where the range is too narrow for those bits (exact ties then). */
static double tie_partner(const nfi_fast *f, double a)
{
    int p = f->p, ex = ilogb(a);
    uint64_t top = 1ULL << (p - 1);
    int64_t d = (int64_t)rng_range(&rng, -3, 3);
    double h = exact_scaled((uint64_t)((int64_t)top + d), ex - 2 * p + 1);
    h = truncate_to_format(&f->format, h);
    return rng_below(&rng, 2) ? -h : h;
}

/* A pair whose exact sum lies at or next to a midpoint; a in binade
 * 2^ex, raised where needed so that b has room in the range. */
static void tie_sum(const nfi_fast *f, int ex, double *a, double *b)
{
    int emax = (int)f->format.emax;
    if (ex < f->emin + f->p)
        ex = f->emin + f->p < emax ? f->emin + f->p : emax;
    *a = random_value(f, ex);
    *b = tie_partner(f, *a);
}

/* Operands for one lane: most ordinary, some of every special kind. */
static void operand_pair(const nfi_fast *f, int *kind, double *a,
                         double *b)
{
    int emax = (int)f->format.emax;
    nfi_fast g = *f;
    *kind = (int)rng_below(&rng, 12);
    switch (*kind) {
    case 0:
        while (!tie_product(f, a, b)) {
        }
        return;
    case 1:
        tie_sum(f, (int)rng_range(&rng, f->emin + 1, emax), a, b);
        return;
    case 2: /* cancellation */
        *a = random_value(f, random_exponent(f));
        *b = -*a;
        if (rng_below(&rng, 2))
            *b = nfi_fast_mul(&g, *b, 1 + 0x1p-20);
        return;
    case 3: /* subnormal or underflowing results */
        *a = random_value(f, f->emin + (int)rng_below(&rng, 3));
        *b = rng_below(&rng, 2) ? random_value(f, (int)rng_range(&rng, -3, 0))
                                : -*a * (1 + 0x1p-10);
        *b = nfi_fast_round(&g, *b);
        return;
    case 4: /* overflow */
        *a = random_value(f, emax - (int)rng_below(&rng, 2));
        *b = rng_below(&rng, 2) ? *a : random_value(f, (int)rng_below(&rng,
                                                                     3));
        return;
    case 5: /* signed zeros */
        *a = rng_below(&rng, 2) ? 0.0 : -0.0;
        *b = rng_below(&rng, 2) ? -*a : random_value(f, random_exponent(f));
        if (rng_below(&rng, 2)) {
            double t = *a;
            *a = *b;
            *b = t;
        }
        return;
    case 6: { /* infinities and NaNs */
        double inf = f->format.has_inf ? INFINITY : NAN;
        double sp[] = {inf, -inf, NAN, 0.0};
        *a = sp[rng_below(&rng, 4)];
        *b = rng_below(&rng, 2) ? sp[rng_below(&rng, 4)]
                                : random_value(f, random_exponent(f));
        return;
    }
    default:
        *a = random_value(f, random_exponent(f));
        *b = random_value(f, random_exponent(f));
        return;
    }
}

/* Checks one vector of four lane results against the twin values. */
static void check_lanes(const nfi_fast *f, const char *what,
                        const char *spec, const double *a, const double *b,
                        nfi_v4d got, const nfi_wide_flags *g,
                        const double *want,
                        bool product)
{
    bool edge = false, must = false;
    for (int l = 0; l < 4; l++) {
        double x = product ? a[l] * b[l] : a[l] + b[l];
        edge |= at_edge(f, want[l], x);
        must |= must_flag(f, want[l], x);
    }
    const nfi_lanes_wide c = nfi_lanes_wide_of(f);
    bool flagged = nfi_wide_flagged(&c, g);
    if (!check_true(flagged ? edge : !must, "%s %s: flag %d but twin "
                    "results %a %a %a %a (a %a %a %a %a, b %a %a %a %a)",
                    what, spec, flagged, want[0], want[1], want[2], want[3],
                    a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]))
        return;
    if (flagged)
        return;
    for (int l = 0; l < 4; l++)
        check_true(same_double(want[l], got[l]), "%s %s: %a, %a: expected "
                   "%a, got %a", what, spec, a[l], b[l], want[l], got[l]);
}

static void lane_ops(void)
{
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        nfi_fast f;
        if (!make_ctx(&f, specs[i]))
            continue;
        const nfi_lanes_wide c = nfi_lanes_wide_of(&f);
        long clean[2] = {0, 0};
        for (int rep = 0; rep < 20000; rep++) {
            double a[4], b[4], pw[4], sw[4];
            int kind;
            for (int l = 0; l < 4; l++) {
                operand_pair(&f, &kind, &a[l], &b[l]);
                pw[l] = nfi_fast_mul(&f, a[l], b[l]);
                sw[l] = nfi_fast_add(&f, a[l], b[l]);
            }
            nfi_wide_flags po = nfi_wide_flags_new(f.format.subnormals),
                           so = po;
            nfi_v4d pv = nfi_wide_mul(&c, nfi_load4(a), nfi_load4(b), &po);
            nfi_v4d sv = nfi_wide_add(&c, nfi_load4(a), nfi_load4(b), &so);
            check_lanes(&f, "mul", specs[i], a, b, pv, &po, pw, true);
            check_lanes(&f, "add", specs[i], a, b, sv, &so, sw, false);
            clean[0] += !nfi_wide_flagged(&c, &po);
            clean[1] += !nfi_wide_flagged(&c, &so);
        }
        check_true(clean[0] > 100 && clean[1] > 100, "%s: only %ld and %ld "
                   "unflagged vectors", specs[i], clean[0], clean[1]);
    }
}

/* Whether a binary64 value is zero or lies in [2^emin, max_finite] in
 * magnitude. */
static bool in_normal_range(const nfi_fast *f, double v)
{
    double a = fabs(v);
    return a == 0.0 || (a >= ldexp(1.0, f->emin) && a <= f->max_finite);
}

/* The split operations (nfi_wide_mul_split, nfi_wide_add_split) on four
 * product ties a b and four sum ties x + y of moderate size (normal
 * values): a lane left unmarked must hold the twin's value, whatever
 * the split did elsewhere, and where nfi_wide_split_exact, every lane
 * of the operations without marks (mark NULL).  kept[0], kept[1] count
 * the exact ties (the binary64 value a midpoint with no error) that
 * products and sums left unmarked: those the split itself rounds to
 * even. */
static void split_ties(const nfi_fast *f, const char *spec, const double *a,
                       const double *b, const double *pw, const double *x,
                       const double *y, const double *sw, long kept[2])
{
    const nfi_lanes_wide c = nfi_lanes_wide_of(f);
    nfi_v4u pr = {0, 0, 0, 0}, sr = pr;
    nfi_v4d pv = nfi_wide_mul_split(&c, nfi_load4(a), nfi_load4(b), &pr);
    nfi_v4d sv = nfi_wide_add_split(&c, nfi_load4(x), nfi_load4(y), &sr);
    bool exact = nfi_wide_split_exact(f);
    nfi_v4d pn = nfi_wide_mul_split(&c, nfi_load4(a), nfi_load4(b), NULL);
    nfi_v4d sn = nfi_wide_add_split(&c, nfi_load4(x), nfi_load4(y), NULL);
    for (int l = 0; l < 4; l++) {
        double ps = a[l] * b[l], ss = x[l] + y[l];
        bool pmid = (nfi_bits_of(ps) & f->low_mask) == f->half_minus_one + 1;
        bool smid = (nfi_bits_of(ss) & f->low_mask) == f->half_minus_one + 1;
        /* the split's domain: normal values and zeros (the kernels
         * use it only where every value is proven so) */
        bool pin = in_normal_range(f, ps), sin = in_normal_range(f, ss);
        kept[0] += pin && !pr[l] && pmid && fma(a[l], b[l], -ps) == 0.0;
        kept[1] += sin && !sr[l] && smid && (x[l] - ss) + y[l] == 0.0;
        if (!pr[l] && pin)
            check_true(same_double(pw[l], pv[l]), "mul split %s: %a * %a: "
                       "expected %a, got %a", spec, a[l], b[l], pw[l],
                       pv[l]);
        if (!sr[l] && sin)
            check_true(same_double(sw[l], sv[l]), "add split %s: %a + %a: "
                       "expected %a, got %a", spec, x[l], y[l], sw[l],
                       sv[l]);
        if (exact && pin)
            check_true(same_double(pw[l], pn[l]), "mul split without "
                       "marks %s: %a * %a: expected %a, got %a", spec, a[l],
                       b[l], pw[l], pn[l]);
        if (exact && sin)
            check_true(same_double(sw[l], sn[l]), "add split without "
                       "marks %s: %a + %a: expected %a, got %a", spec, x[l],
                       y[l], sw[l], sn[l]);
    }
}

/* nfi_wide_split on its own against the engine's rounding of a binary64
 * value (nfi_fast_round): every kind of tie of the p-bit grid (least,
 * greatest and random significands, so that C v falls in both of its
 * binades), their binary64 neighbours and random values, at exponents
 * across the normal range up to the largest finite value, both signs;
 * and zeros keep their sign. */
static void split_rounding(void)
{
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        nfi_fast f;
        if (!make_ctx(&f, specs[i]) || !nfi_wide_split_applies(&f))
            continue;
        const nfi_lanes_wide c = nfi_lanes_wide_of(&f);
        int p = f.p, emax = (int)f.format.emax;
        uint64_t top = 1ULL << (p - 1);
        for (int rep = 0; rep < 20000; rep++) {
            double v[4], want[4];
            for (int l = 0; l < 4; l++) {
                uint64_t m;
                switch (rng_below(&rng, 4)) {
                case 0: m = top; break;
                case 1: m = 2 * top - 1; break;
                default: m = top + rng_below(&rng, top); break;
                }
                int ex = random_exponent(&f);
                /* (m + 1/2) u with u = 2^(ex - p + 1), on 54 - p + p
                 * bits: 2 m + 1 scaled by 2^(ex - p) */
                double t = exact_scaled(2 * m + 1, ex - p);
                if (ex == emax && m == 2 * top - 1)
                    t = exact_scaled(2 * m - 1, ex - p); /* in range */
                switch (rng_below(&rng, 4)) {
                case 0: t = nextafter(t, 0.0); break;
                case 1: t = nextafter(t, INFINITY); break;
                case 2:
                    t = exact_scaled((rng_next(&rng) >> 11) | (1ULL << 52),
                                     ex - 52);
                    break;
                default: break;
                }
                if (t > f.max_finite)
                    t = f.max_finite;
                v[l] = rng_below(&rng, 2) ? -t : t;
                want[l] = nfi_fast_round(&f, v[l]);
            }
            nfi_v4d r = nfi_wide_split(&c, nfi_load4(v));
            for (int l = 0; l < 4; l++)
                check_true(same_double(want[l], r[l]), "split %s: %a: "
                           "expected %a, got %a", specs[i], v[l], want[l],
                           r[l]);
        }
        double zeros[4] = {0.0, -0.0, -0.0, 0.0};
        nfi_v4d z = nfi_wide_split(&c, nfi_load4(zeros));
        for (int l = 0; l < 4; l++)
            check_true(same_double(zeros[l], z[l]), "split %s keeps the "
                       "sign of zero %a: got %a", specs[i], zeros[l], z[l]);
    }
}

/* Targeted ties only, four per vector, so that every vector is checked
 * by value; counts how many were binary64 midpoints with an error. */
static void lane_ties(void)
{
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        nfi_fast f;
        if (!make_ctx(&f, specs[i]))
            continue;
        const nfi_lanes_wide c = nfi_lanes_wide_of(&f);
        long mid_err[2] = {0, 0}, split_kept[2] = {0, 0};
        for (int rep = 0; rep < 5000; rep++) {
            double a[4], b[4], x[4], y[4], pw[4], sw[4];
            for (int l = 0; l < 4; l++) {
                if (rng_below(&rng, 4) == 0)
                    exact_tie_product(&f, &a[l], &b[l]);
                else
                    while (!tie_product(&f, &a[l], &b[l])) {
                    }
                tie_sum(&f, (int)rng_range(&rng, -3, 3), &x[l], &y[l]);
                pw[l] = nfi_fast_mul(&f, a[l], b[l]);
                sw[l] = nfi_fast_add(&f, x[l], y[l]);
                double ps = a[l] * b[l], ss = x[l] + y[l];
                uint64_t low = f.low_mask, half = f.half_minus_one + 1;
                mid_err[0] += (nfi_bits_of(ps) & low) == half &&
                              fma(a[l], b[l], -ps) != 0.0;
                mid_err[1] += (nfi_bits_of(ss) & low) == half &&
                              (x[l] - ss) + y[l] != 0.0;
            }
            nfi_wide_flags po = nfi_wide_flags_new(f.format.subnormals),
                           so = po;
            nfi_v4d pv = nfi_wide_mul(&c, nfi_load4(a), nfi_load4(b), &po);
            nfi_v4d sv = nfi_wide_add(&c, nfi_load4(x), nfi_load4(y), &so);
            check_lanes(&f, "mul tie", specs[i], a, b, pv, &po, pw, true);
            check_lanes(&f, "add tie", specs[i], x, y, sv, &so, sw, false);
            if (nfi_wide_split_applies(&f))
                split_ties(&f, specs[i], a, b, pw, x, y, sw, split_kept);
        }
        /* p = 26: products and these sums are exact in binary64; a
         * sum tie with an error needs b's bits, 2^(ex - 2p + 1), on the
         * format's grid (ex >= emin + p).  Where the split needs no
         * marks, no midpoint with an error may occur at all. */
        bool sums_room = f.p > 26 && f.emin + f.p <= f.format.emax;
        check_true((f.p == 26 || mid_err[0] > 1000) &&
                   (!sums_room || mid_err[1] > 1000),
                   "%s: only %ld and %ld midpoints with an error",
                   specs[i], mid_err[0], mid_err[1]);
        check_true(!nfi_wide_split_exact(&f) ||
                   (mid_err[0] == 0 && mid_err[1] == 0),
                   "%s: the split without marks, but %ld product and %ld "
                   "sum midpoints with an error", specs[i], mid_err[0],
                   mid_err[1]);
        check_true(!nfi_wide_split_applies(&f) ||
                   (split_kept[0] > 1000 && split_kept[1] > 1000),
                   "%s: the split kept only %ld exact product ties and "
                   "%ld exact sum ties", specs[i], split_kept[0],
                   split_kept[1]);
    }
}

/* ---- 3. Rows and column sums against the scalar loop ---- */

/* One row of row_case's product (a single row a, n columns of bt, the
 * bias bp or NULL) by nfi_matmul_wide_rows under the watch `how`: a flag
 * is allowed only when near_ends (a value of the twin comes near the
 * ends of the range), and an unflagged row must equal the twin's want.
 * Returns whether the row came out unflagged. */
static bool watched_row(const nfi_fast *f, const char *label,
                        const char *what, int how, size_t n, size_t w,
                        size_t k, const double *ai, ptrdiff_t ak,
                        const double *bt, const double *bp,
                        const double *want, bool near_ends)
{
    double *got = calloc(w, sizeof *got);
    int r = nfi_matmul_wide_rows(f, 1, n, w, k, ai, 0, ak, bt, bp, got,
                                 &how);
    check_true(!r || near_ends, "%s: %s flagged a row that stays in range",
               label, what);
    for (size_t j = 0; j < n && !r; j++)
        if (!check_true(same_double(want[j], got[j]), "%s: %s, column %zu: "
                        "expected %a, got %a", label, what, j, want[j],
                        got[j]))
            break;
    free(got);
    return !r;
}

static void row_case(nfi_fast *f, const char *spec, size_t n, size_t k,
                     bool with_bias, int mix, long *clean)
{
    size_t w = (n + 7) / 8 * 8;
    ptrdiff_t ak = 1 + (ptrdiff_t)rng_below(&rng, 3);
    double *ai = calloc(k * (size_t)ak, sizeof *ai);
    double *bt = calloc(k * w, sizeof *bt);
    double *bias = calloc(w, sizeof *bias);
    double *want = calloc(w, sizeof *want), *got = calloc(w, sizeof *got);
    double *x = calloc((k + 1) * n, sizeof *x);
    double sums_want[64], sums_got[64];

    /* Columns of b as multiples of a common row operand, so that the
     * products and sums meet the constructed configurations. */
    uint64_t top = 1ULL << (f->p - 1);
    for (size_t t = 0; t < k; t++) {
        int kind;
        double a0, b0;
        operand_pair(f, &kind, &a0, &b0);
        bool odd_row = rng_below(&rng, 2);
        uint64_t A = (top + rng_below(&rng, top)) | 1;
        if (odd_row)
            a0 = exact_scaled(A, (int)rng_range(&rng, -3, 3) - f->p + 1);
        else if (mix == 0 && (kind >= 2 && kind <= 6))
            a0 = random_value(f, (int)rng_range(&rng, -3, 3));
        ai[t * (size_t)ak] = a0;
        for (size_t j = 0; j < n; j++) {
            double u, v;
            operand_pair(f, &kind, &u, &v);
            if (mix == 0 && (kind >= 2 && kind <= 6))
                v = random_value(f, (int)rng_range(&rng, -3, 3));
            /* a product tie with this row's a, or a cancellation */
            if (odd_row && rng_below(&rng, 2))
                tie_partner_of(f, A, &v);
            bt[t * w + j] = rng_below(&rng, 4) ? v : -bt[(t ? t - 1 : 0) *
                                                          w + j];
        }
    }

    /* The twin, padding columns included (to know whether a flag is
     * due). */
    bool edge = false, must = false, big = false;
    for (size_t j = 0; j < w; j++) {
        double s = nfi_fast_mul(f, ai[0], bt[j]), x = ai[0] * bt[j];
        bias[j] = 0.0;
        edge |= at_edge(f, s, x);
        must |= must_flag(f, s, x);
        for (size_t t = 1; t < k; t++) {
            double at = ai[t * (size_t)ak], bb = bt[t * w + j];
            double pr = nfi_fast_mul(f, at, bb);
            edge |= at_edge(f, pr, at * bb);
            must |= must_flag(f, pr, at * bb);
            x = s + pr;
            s = nfi_fast_add(f, s, pr);
            edge |= at_edge(f, s, x);
            must |= must_flag(f, s, x);
        }
        if (with_bias) {
            /* ties with the sum, or an ordinary value */
            bool tie = j < n && s != 0.0 && isfinite(s) && rng_below(&rng, 2);
            if (j < n)
                bias[j] = tie ? tie_partner(f, s)
                              : random_value(f, (int)rng_range(&rng, -3, 3));
            x = s + bias[j];
            s = nfi_fast_add(f, s, bias[j]);
            edge |= at_edge(f, s, x);
            must |= must_flag(f, s, x);
        }
        want[j] = s;
    }
    for (size_t j = 0; j < w; j++)
        big |= fabs(want[j]) >= f->max_finite / 2;
    const double *bp = with_bias ? bias : NULL;
    nfi_wide_operands wo;
    nfi_matmul_wide_shared(&wo, k, w, bt, bp);
    const double *one_row[1] = {ai};
    int watch = nfi_matmul_wide_watch_rows(f, &wo, 1, one_row, ak);
    bool safe = watch == NFI_WIDE_UNCHECKED;
    int how = NFI_WIDE_CHECKED;
    int flagged = nfi_matmul_wide_rows(f, 1, n, w, k, ai, 0, ak, bt,
                                       with_bias ? bias : NULL, got, &how);
    check_true(how == NFI_WIDE_CHECKED ||
               (how == NFI_WIDE_SUBNORMAL && f->format.subnormals),
               "checked kernel left the watch %d", how);
    char label[160];
    snprintf(label, sizeof label, "row %s n=%zu k=%zu ak=%td%s mix %d",
             spec, n, k, ak, with_bias ? " bias" : "", mix);
    /* The proof of safety covers the partial sums too; the final ones
     * are checked here, must covers every value. */
    check_true(!safe || (!must && !big), "%s: safe, but a twin value "
               "leaves the range", label);
    if (safe) {
        clean[2]++;
        double *unchecked = calloc(w, sizeof *unchecked);
        int none = NFI_WIDE_UNCHECKED;
        int r = nfi_matmul_wide_rows(f, 1, n, w, k, ai, 0, ak, bt, bp,
                                     unchecked, &none);
        check_true(r == 0, "%s: unchecked kernel returned %d", label, r);
        for (size_t j = 0; j < n; j++)
            if (!check_true(same_double(want[j], unchecked[j]), "%s: "
                            "unchecked, column %zu: expected %a, got %a",
                            label, j, want[j], unchecked[j]))
                break;
        free(unchecked);
    }
    bool near_ends = edge || must || big;
    /* Products proven normal (an unchecked watch proves them too), sums
     * watched: the twin's values unless a sum was flagged. */
    if (watch == NFI_WIDE_UNCHECKED ||
        watch == (NFI_WIDE_CHECKED | NFI_WIDE_PLAIN_PRODUCTS))
        clean[4] += watched_row(f, label, "plain products", watch, n, w, k,
                                ai, ak, bt, bp, want, near_ends);
    /* Sums proven bounded (with subnormals only; never with plain
     * products), products watched: the twin's values unless a product
     * was flagged; in the checked lanes and in the subnormal ones. */
    check_true(!(watch & NFI_WIDE_PLAIN_SUMS) ||
               (f->format.subnormals &&
                !(watch & NFI_WIDE_PLAIN_PRODUCTS)),
               "%s: plain sums with watch %d", label, watch);
    if (watch & NFI_WIDE_PLAIN_SUMS) {
        clean[5] += watched_row(f, label, "plain sums", watch, n, w, k, ai,
                                ak, bt, bp, want, near_ends);
        clean[5] += watched_row(f, label, "plain sums, subnormal lanes",
                                NFI_WIDE_SUBNORMAL | NFI_WIDE_PLAIN_SUMS, n,
                                w, k, ai, ak, bt, bp, want, near_ends);
    }
    /* Subnormal lanes from the start: only values beyond max_finite,
     * infinities and NaN may be flagged; the rest is the twin's. */
    if (f->format.subnormals)
        clean[3] += watched_row(f, label, "subnormal lanes",
                                NFI_WIDE_SUBNORMAL, n, w, k, ai, ak, bt, bp,
                                want, near_ends);
    if (check_true(flagged ? edge : !must, "%s: flag %d, twin edge %d must "
                   "%d", label, flagged, edge, must) && !flagged) {
        clean[0]++;
        for (size_t j = 0; j < n; j++)
            if (!check_true(same_double(want[j], got[j]), "%s: column %zu: "
                            "expected %a, got %a", label, j, want[j],
                            got[j]))
                break;
    }

    /* Column sums of the (k, n) matrix of b's rows. */
    if (n <= 64) {
        for (size_t t = 0; t < k; t++)
            memcpy(x + t * n, bt + t * w, n * sizeof *x);
        edge = must = false;
        for (size_t j = 0; j < n; j++) {
            double s = x[j];
            for (size_t t = 1; t < k; t++) {
                double sx = s + x[t * n + j];
                s = nfi_fast_add(f, s, x[t * n + j]);
                edge |= at_edge(f, s, sx);
                must |= must_flag(f, s, sx);
            }
            sums_want[j] = s;
        }
        flagged = nfi_column_sums_wide(f, k, n, x, sums_got);
        if (check_true(flagged ? edge : !must, "column sums %s: flag %d, "
                       "twin edge %d must %d", label, flagged, edge, must) &&
            !flagged) {
            clean[1]++;
            for (size_t j = 0; j < n; j++)
                if (!check_true(same_double(sums_want[j], sums_got[j]),
                                "column sums %s: column %zu: expected %a, "
                                "got %a", label, j, sums_want[j],
                                sums_got[j]))
                    break;
        }
    }
    free(ai);
    free(bt);
    free(bias);
    free(want);
    free(got);
    free(x);
}

static void rows(void)
{
    static const size_t ns[] = {1, 3, 4, 5, 8, 11, 17, 23};
    static const size_t ks[] = {1, 2, 3, 7, 40};
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        nfi_fast f;
        if (!make_ctx(&f, specs[i]))
            continue;
        long clean[6] = {0, 0, 0, 0, 0, 0};
        for (int rep = 0; rep < 6; rep++)
            for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
                for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++)
                    for (int v = 0; v < 4; v++)
                        row_case(&f, specs[i], ns[ni], ks[ki], v & 1, v >> 1,
                                 clean);
        /* Narrow ranges leave too little room for the proof: products
         * must exceed 2^(emin + p - 1). */
        bool room = f.emin <= -126;
        bool sub = f.format.subnormals;
        check_true(clean[0] > 100 && clean[1] > 100 &&
                   (!room || clean[2] > 50) && (!sub || clean[3] > 100) &&
                   clean[4] > 50 && (!sub || !room || clean[5] > 50),
                   "%s: only %ld rows and %ld column sums unflagged, %ld "
                   "rows proven safe, %ld rows of subnormal lanes, %ld of "
                   "plain products, %ld of plain sums", specs[i], clean[0],
                   clean[1], clean[2], clean[3], clean[4], clean[5]);
    }
}

/* Rows whose products are normal values just above 2^emin (a in [1, 2),
 * b in [2^emin, 2^(emin + 2)), random signs) and whose partial sums
 * cancel below 2^emin again and again, with a bias that may itself lie
 * below 2^emin.  With subnormals such sums are exact and need no watch:
 * the watch must say unchecked, and the unchecked kernel must give the
 * twin's row; without subnormals it must not say unchecked. */
static void sums_below_emin(void)
{
    enum { K = 40, N = 13, W = 16 };
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        nfi_fast f;
        if (!make_ctx(&f, specs[i]))
            continue;
        bool sub = f.format.subnormals;
        double tiny = ldexp(1.0, f.emin);
        uint64_t steps = 1ULL << (f.p - 1); /* subnormal steps below it */
        long below = 0, rows = 0;
        for (int rep = 0; rep < 100; rep++) {
            double a[K], bt[K * W] = {0}, bias[W] = {0}, want[W], got[W];
            bool with_bias = rep & 1;
            for (size_t t = 0; t < K; t++) {
                a[t] = fabs(random_value(&f, 0));
                for (size_t j = 0; j < N; j++)
                    bt[t * W + j] =
                        random_value(&f, f.emin + (int)rng_below(&rng, 2));
            }
            for (size_t j = 0; with_bias && j < N; j++)
                bias[j] = rng_below(&rng, 2)
                    ? random_value(&f, f.emin)
                    : (sub ? exact_scaled(rng_below(&rng, steps),
                                          f.emin - f.p + 1) : 0.0);
            for (size_t j = 0; j < N; j++) {
                double s = nfi_fast_mul(&f, a[0], bt[j]);
                for (size_t t = 1; t <= K; t++) {
                    if (t == K && !with_bias)
                        break;
                    double term = t < K ? nfi_fast_mul(&f, a[t],
                                                       bt[t * W + j])
                                        : bias[j];
                    check_true(t == K || fabs(term) >= tiny, "%s: a "
                               "product below 2^emin", specs[i]);
                    s = nfi_fast_add(&f, s, term);
                    below += s != 0.0 && fabs(s) < tiny;
                }
                want[j] = s;
            }
            const double *bp = with_bias ? bias : NULL;
            nfi_wide_operands wo;
            nfi_matmul_wide_shared(&wo, K, W, bt, bp);
            const double *row[1] = {a};
            int watch = nfi_matmul_wide_watch_rows(&f, &wo, 1, row, 1);
            if (!sub) {
                check_true(watch != NFI_WIDE_UNCHECKED, "%s: unchecked "
                           "without subnormals", specs[i]);
                continue;
            }
            if (!check_true(watch == NFI_WIDE_UNCHECKED, "%s: watch %d for "
                            "normal products", specs[i], watch))
                continue;
            int none = NFI_WIDE_UNCHECKED;
            int r = nfi_matmul_wide_rows(&f, 1, N, W, K, a, 0, 1, bt, bp,
                                         got, &none);
            check_true(r == 0, "%s: unchecked kernel returned %d", specs[i],
                       r);
            rows++;
            for (size_t j = 0; j < N; j++)
                if (!check_true(same_double(want[j], got[j]), "%s: sums "
                                "below 2^emin, rep %d column %zu: expected "
                                "%a, got %a", specs[i], rep, j, want[j],
                                got[j]))
                    break;
        }
        /* Enough sums below 2^emin for the rows to mean something
         * (without subnormals the twin flushes them). */
        check_true(!sub || (below > 2000 && rows == 100), "%s: %ld sums "
                   "below 2^emin in %ld unchecked rows", specs[i], below,
                   rows);
    }
}

/* ---- 4. The public route against MPFR ---- */

static bool init_handle(nfi_arith *h, const char *spec, bool reference)
{
    nfi_format fmt = harness_format(spec);
    nfi_error err;
    if (nfi_arith_init(h, &fmt, NFI_ROUND_RNE, 3, reference, &err) != 0)
        return check_true(false, "setup %s: %s", spec, err.message);
    return true;
}

static void public_route(void)
{
    enum { M = 5, N = 13 };
    static const size_t ks[] = {1, 2, 9, 30};
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        nfi_arith acc, ref;
        nfi_fast f;
        if (!init_handle(&acc, specs[i], false) ||
            !init_handle(&ref, specs[i], true) || !make_ctx(&f, specs[i]))
            continue;
        nfi_reduction order;
        nfi_error err;
        nfi_reduction_parse("sequential", &order, &err);
        for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
            for (int v = 0; v < 8; v++) {
                size_t k = ks[ki];
                double *a = malloc(M * k * sizeof *a);
                double *b = malloc(N * k * sizeof *b);
                double bias[N], got[M * N], twin[M * N];
                int kind;
                double u;
                for (size_t t = 0; t < M * k; t++)
                    operand_pair(&f, &kind, &a[t], &u);
                for (size_t t = 0; t < N * k; t++)
                    operand_pair(&f, &kind, &u, &b[t]);
                for (size_t j = 0; j < N; j++)
                    bias[j] = random_value(&f, (int)rng_range(&rng, -3, 3));
                if (v & 2) { /* ordinary values only: the kernel's path */
                    for (size_t t = 0; t < M * k; t++)
                        a[t] = random_value(&f, (int)rng_range(&rng, -3, 3));
                    for (size_t t = 0; t < N * k; t++)
                        b[t] = random_value(&f, (int)rng_range(&rng, -3, 3));
                }
                if (v & 4) {
                    /* Row 0 with a small value, whose products fall
                     * below 2^emin: rows 0 and 1 need the watch, rows 2
                     * on do not (where the range has room for the proof:
                     * subnormals and a wide range); a third of their
                     * terms zero, for the kernels that skip them. */
                    bool room = f.format.subnormals && f.emin <= -126;
                    a[0] = random_value(&f, f.emin + 1);
                    for (size_t t = 2 * k; t < M * k; t++)
                        a[t] = rng_below(&rng, 3) ? a[t] : 0.0;
                    nfi_wide_operands wo;
                    double *bt = calloc(k * 16, sizeof *bt);
                    for (size_t t = 0; t < k; t++)
                        for (size_t j = 0; j < N; j++)
                            bt[t * 16 + j] = b[t * N + j];
                    nfi_matmul_wide_shared(&wo, k, 16, bt, NULL);
                    const double *rows01[2] = {a, a + k};
                    const double *rows23[2] = {a + 2 * k, a + 3 * k};
                    check_true(nfi_matmul_wide_watch_rows(&f, &wo, 2, rows01,
                                                          1) !=
                                   NFI_WIDE_UNCHECKED &&
                               (!(v & 2) || !room ||
                                nfi_matmul_wide_watch_rows(&f, &wo, 2, rows23,
                                                           1) ==
                                    NFI_WIDE_UNCHECKED),
                               "%s k=%zu: the watches of a product with a "
                               "small row", specs[i], k);
                    free(bt);
                }
                nfi_matrix_view av = {a, (ptrdiff_t)k, 1, NULL};
                nfi_matrix_view bv = {b, 1, N, NULL}; /* transposed */
                const double *bp = v & 1 ? bias : NULL;
                const nfi_format *bf = v & 1 ? &acc.fast.format : NULL;
                int s0 = nfi_matmul(&acc, &acc, &order, M, N, k, av, bv, bp,
                                    bf, got);
                int s1 = nfi_matmul(&ref, &ref, &order, M, N, k, av, bv, bp,
                                    bf, twin);
                check_true(s0 == 0 && s1 == 0, "%s: status %d %d", specs[i],
                           s0, s1);
                for (size_t t = 0; t < M * N; t++)
                    if (!check_true(same_double(twin[t], got[t]), "matmul "
                                    "%s k=%zu v=%d: element %zu: mpfr %a, "
                                    "fast %a", specs[i], k, v, t, twin[t],
                                    got[t]))
                        break;
                double cs[M], cs_ref[M];
                nfi_column_sums(&acc, &acc, &order, k, M, a, cs);
                nfi_column_sums(&ref, &ref, &order, k, M, a, cs_ref);
                for (size_t j = 0; j < M; j++)
                    check_true(same_double(cs_ref[j], cs[j]), "column sums "
                               "%s k=%zu v=%d: column %zu: mpfr %a, fast %a",
                               specs[i], k, v, j, cs_ref[j], cs[j]);
                free(a);
                free(b);
            }
        }
    }
}

int main(void)
{
    harness_init("test_matmul_wide", 0x77696465ULL);
    rng_init(&rng, harness_seed(), 0);
    round_exhaustive();
    lane_ops();
    lane_ties();
    split_rounding();
    rows();
    sums_below_emin();
    public_route();
    return harness_finish();
}
