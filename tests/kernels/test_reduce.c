/* Tests of sim/reduce: the reduction orders and dot products.
 *
 * 1. Parsing and spelling of orders, and the errors for bad ones.
 * 2. The order definitions on hand-worked binary32 sums in which every
 *    order gives a different result (expected values derived by hand in
 *    the comments, not computed by the library).
 * 3. The orders restated independently: a plain re-implementation here,
 *    on the MPFR engine, with a different loop structure (lanes summed by
 *    explicit lane arrays, pairwise by an explicit stack), compared bit
 *    for bit.
 * 4. The fast kernels against their reference twin (the same kernel on
 *    the MPFR engine) for every order, random vectors, several formats
 *    and every mode incl. stochastic rounding (same counters after).
 * 5. exact: the exact sum (MPFR at a precision that holds it) rounded
 *    once; the exact accumulator on subnormal products and specials.
 * 6. The MPFR engine's sequential dot product (nfi_mpfr_dot_d, which the
 *    twin uses) against the same loop written here with nfi_mpfr_op_d,
 *    on hostile terms: subnormals, overflow, zeros of both signs,
 *    infinities, NaN, terms outside the format, under the default and
 *    under narrow caller exponent ranges (and the loop by operations
 *    under those ranges against the default, in every mode). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "reduce.h"

static nfi_reduction order_of(const char *text)
{
    nfi_reduction r;
    nfi_error err;
    if (nfi_reduction_parse(text, &r, &err) != 0) {
        check_true(false, "order '%s' did not parse: %s", text, err.message);
        exit(harness_finish() ? 1 : 1);
    }
    return r;
}

static void test_parse(void)
{
    const char *good[] = {"sequential", "pairwise", "blocked:1",
                          "blocked:64", "lanes:1", "lanes:8", "exact",
                          "LANES:16"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        nfi_reduction r = order_of(good[i]), back;
        char buf[64];
        nfi_reduction_spell(&r, buf, sizeof buf);
        nfi_error err;
        check_true(nfi_reduction_parse(buf, &back, &err) == 0 &&
                       back.kind == r.kind && back.param == r.param,
                   "order '%s' spelled '%s' does not read back", good[i],
                   buf);
    }
    const char *bad[] = {"", "seq", "blocked", "blocked:", "blocked:0",
                         "blocked:-3", "lanes:6", "lanes:0", "lanes:8x",
                         "blocked:99999999999", "exact:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nfi_reduction r;
        nfi_error err = {{0}};
        int rc = nfi_reduction_parse(bad[i], &r, &err);
        check_true(rc == -1 && strstr(err.message, bad[i]) != NULL,
                   "bad order '%s' gave %d, message '%s'", bad[i], rc,
                   err.message);
    }
}

/* In binary32, u = 2^-24 is half an ulp of 1.  x = [1, u, u, u]:
 *   sequential: 1 + u ties to 1 (even) three times         -> 1
 *   pairwise:   (1 + u) + (u + u) = 1 + 2u = 1 + 2^-23      -> 1 + 2^-23
 *   blocked:3:  ((1 + u) + u) + u -> 1, then 1 + u (block 2) -> 1
 *   lanes:2:    lane0 1 + u = 1, lane1 u + u = 2u; 1 + 2u   -> 1 + 2^-23
 *   lanes:4:    lanes 1, u, u, u; halving: (1 + u) + (u + u)
 *               = 1 + 2u                                     -> 1 + 2^-23
 *   exact:      1 + 3u = 1 + 1.5 ulp, a tie: even 1 + 2 ulp  -> 1 + 2^-22
 * x = [u, u, 1, u] in lanes:2: lane0 u + 1 = 1 (tie), lane1 u + u = 2u,
 *   1 + 2u -> 1 + 2^-23; sequential: u + u = 2u, 2u + 1 = 1 + 2^-23,
 *   + u ties to even 1 + 2^-22. */
static void test_hand_worked(void)
{
    nfi_format f = harness_format("binary32");
    nfi_arith a;
    nfi_arith_init(&a, &f, NFI_ROUND_RNE, 0, false, NULL);
    double u = 0x1p-24;
    double x[4] = {1.0, u, u, u}, y[4] = {u, u, 1.0, u};
    struct {
        const char *order;
        const double *data;
        double expected;
    } cases[] = {
        {"sequential", x, 1.0},          {"pairwise", x, 1.0 + 0x1p-23},
        {"blocked:3", x, 1.0},           {"lanes:2", x, 1.0 + 0x1p-23},
        {"lanes:4", x, 1.0 + 0x1p-23},   {"exact", x, 1.0 + 0x1p-22},
        {"lanes:2", y, 1.0 + 0x1p-23},   {"sequential", y, 1.0 + 0x1p-22},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nfi_reduction r = order_of(cases[i].order);
        for (int ref = 0; ref < 2; ref++) {
            a.reference = ref;
            double got = nfi_reduce_sum(&a, &r, 4, cases[i].data, 1);
            check_double(cases[i].expected, got, "binary32 sum of case %zu "
                         "in %s (%s engine)", i, cases[i].order,
                         ref ? "mpfr" : "fast");
        }
    }
    /* Empty sums and sums of one term. */
    nfi_reduction orders[] = {order_of("sequential"), order_of("pairwise"),
                              order_of("blocked:4"), order_of("lanes:8"),
                              order_of("exact")};
    for (size_t i = 0; i < 5; i++) {
        double one = -0x1.8p-3;
        check_double(0.0, nfi_reduce_sum(&a, &orders[i], 0, x, 1),
                     "empty sum in order %zu", i);
        check_double(one, nfi_reduce_sum(&a, &orders[i], 1, &one, 1),
                     "sum of one term in order %zu", i);
    }
}

/* ---- the orders restated, on the MPFR engine directly --------------- */

typedef struct restated {
    const nfi_format *f;
    nfi_round mode;
    uint64_t seed, counter;
} restated;

static double radd(restated *r, double x, double y)
{
    uint32_t u = r->mode == NFI_ROUND_SR ? nfi_sr_bits(r->seed, r->counter++)
                                         : 0;
    return nfi_mpfr_op_d(NFI_OP_ADD, x, y, 0.0, r->f, r->mode, u);
}

static double restated_sequential(restated *r, size_t n, const double *x,
                                  size_t step)
{
    double s = n ? x[0] : 0.0;
    for (size_t i = 1; i < n; i++)
        s = radd(r, s, x[i * step]);
    return s;
}

/* Pairwise by an explicit post-order walk over the implicit tree. */
static double restated_pairwise(restated *r, size_t n, const double *x)
{
    if (n == 0)
        return 0.0;
    struct frame {
        size_t lo, n;
        int state;
        double left;
    } stack[128];
    int top = 0;
    double result = 0.0;
    stack[0] = (struct frame){0, n, 0, 0.0};
    while (top >= 0) {
        struct frame *fr = &stack[top];
        if (fr->n == 1) {
            result = x[fr->lo];
            top--;
        } else if (fr->state == 0) {
            fr->state = 1;
            stack[top + 1] = (struct frame){fr->lo, fr->n / 2, 0, 0.0};
            top++;
            continue;
        } else if (fr->state == 1) {
            fr->left = result;
            fr->state = 2;
            size_t h = fr->n / 2;
            stack[top + 1] = (struct frame){fr->lo + h, fr->n - h, 0, 0.0};
            top++;
            continue;
        } else {
            result = radd(r, fr->left, result);
            top--;
        }
        /* a finished frame hands `result` to its parent */
    }
    return result;
}

static double restated_lanes(restated *r, size_t lanes, size_t n,
                             const double *x)
{
    double lane[64];
    int has[64] = {0};
    for (size_t j = 0; j < n; j++) {
        size_t l = j % lanes;
        lane[l] = has[l] ? radd(r, lane[l], x[j]) : x[j];
        has[l] = 1;
    }
    if (n == 0)
        return 0.0;
    /* Combine by halving, each lane in turn, exactly as specified. */
    for (size_t w = lanes / 2; w >= 1; w /= 2) {
        for (size_t l = 0; l < w; l++) {
            if (has[l + w]) {
                lane[l] = radd(r, lane[l], lane[l + w]);
                has[l] = 1;
            }
        }
    }
    return lane[0];
}

static double restated_sum(restated *r, const nfi_reduction *o, size_t n,
                           const double *x)
{
    switch (o->kind) {
    case NFI_REDUCTION_SEQUENTIAL:
        return restated_sequential(r, n, x, 1);
    case NFI_REDUCTION_PAIRWISE:
        return restated_pairwise(r, n, x);
    case NFI_REDUCTION_BLOCKED: {
        size_t b = (size_t)o->param;
        double total = 0.0;
        for (size_t start = 0; start < n; start += b) {
            size_t m = n - start < b ? n - start : b;
            double part = restated_sequential(r, m, x + start, 1);
            total = start ? radd(r, total, part) : part;
        }
        return total;
    }
    case NFI_REDUCTION_LANES:
        return restated_lanes(r, (size_t)o->param, n, x);
    default: {
        /* exact: MPFR's correctly rounded sum at a precision that holds
         * every binary64 sum exactly, then one rounding. */
        mpfr_t *v = malloc((n ? n : 1) * sizeof *v);
        mpfr_ptr *p = malloc((n ? n : 1) * sizeof *p);
        mpfr_t s, out;
        mpfr_init2(s, 2200);
        mpfr_init2(out, r->f->p);
        for (size_t i = 0; i < n; i++) {
            mpfr_init2(v[i], 53);
            mpfr_set_d(v[i], x[i], MPFR_RNDN);
            p[i] = v[i];
        }
        mpfr_sum(s, p, n, MPFR_RNDN);
        if (mpfr_zero_p(s))
            mpfr_set_zero(s, 1);
        uint32_t u = r->mode == NFI_ROUND_SR
                         ? nfi_sr_bits(r->seed, r->counter++) : 0;
        nfi_mpfr_round(out, s, 0, r->f, r->mode, u);
        double d = mpfr_get_d(out, MPFR_RNDN);
        for (size_t i = 0; i < n; i++)
            mpfr_clear(v[i]);
        mpfr_clears(s, out, (mpfr_ptr)0);
        free(v);
        free(p);
        return d;
    }
    }
}

/* A random value of f, with a spread of exponents so that orders matter;
 * now and then a cancelling partner or a tiny term. */
static double random_term(test_rng *g, nfi_arith *a, double scale)
{
    double m = rng_unit(g) * 2.0 - 1.0;
    double v = ldexp(m, (int)rng_range(g, -12, 6)) * scale;
    if (rng_below(g, 16) == 0)
        v = ldexp(m, (int)rng_range(g, -40, -20));
    return nfi_fast_round(&a->fast, v);
}

static void test_orders(void)
{
    static const char *const specs[] = {
        "binary32", "bfloat16", "binary16", "p=40,emin=-126,emax=127",
        "e4m3", "e5m2,subnormals=off", "p=12,emin=-20,emax=20,round=rz"};
    static const char *const orders[] = {"sequential", "pairwise",
                                         "blocked:1", "blocked:7",
                                         "blocked:32", "lanes:1", "lanes:2",
                                         "lanes:8", "lanes:16", "exact"};
    test_rng g;
    rng_init(&g, harness_seed(), 1);
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        nfi_format f = harness_format(specs[s]);
        for (int mode = 0; mode < NFI_ROUND_COUNT; mode++) {
            for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
                nfi_reduction r = order_of(orders[o]);
                for (int trial = 0; trial < 12; trial++) {
                    size_t n = trial < 4 ? (size_t)trial
                                         : (size_t)rng_range(&g, 1, 300);
                    uint64_t seed = rng_next(&g);
                    nfi_arith fast, ref;
                    nfi_arith_init(&fast, &f, (nfi_round)mode, seed, false,
                                   NULL);
                    nfi_arith_init(&ref, &f, (nfi_round)mode, seed, true,
                                   NULL);
                    double *x = malloc((n + 1) * sizeof *x);
                    double *y = malloc((n + 1) * sizeof *y);
                    for (size_t i = 0; i < n; i++) {
                        x[i] = random_term(&g, &fast, 1.0);
                        y[i] = random_term(&g, &fast, 1.0);
                    }
                    fast.fast.counter = ref.fast.counter = 0;
                    double a = nfi_reduce_sum(&fast, &r, n, x, 1);
                    double b = nfi_reduce_sum(&ref, &r, n, x, 1);
                    restated rs = {&f, (nfi_round)mode, seed, 0};
                    double c = restated_sum(&rs, &r, n, x);
                    check_true(same_double(a, b) && same_double(a, c) &&
                                   fast.fast.counter == ref.fast.counter &&
                                   fast.fast.counter == rs.counter,
                               "%s %s %s n=%zu: fast %a, twin %a, restated "
                               "%a; indices %llu %llu %llu", specs[s],
                               nfi_round_name((nfi_round)mode), orders[o], n,
                               a, b, c,
                               (unsigned long long)fast.fast.counter,
                               (unsigned long long)ref.fast.counter,
                               (unsigned long long)rs.counter);
                    /* Strided access reads the same terms. */
                    for (size_t i = 0; i < n; i++)
                        y[i] = x[i];
                    double *wide = malloc((2 * n + 1) * sizeof *wide);
                    for (size_t i = 0; i < n; i++) {
                        wide[2 * i] = x[i];
                        wide[2 * i + 1] = NAN;
                    }
                    fast.fast.counter = 0;
                    double d = nfi_reduce_sum(&fast, &r, n, wide, 2);
                    check_true(same_double(a, d), "%s %s %s n=%zu: stride "
                               "2 gave %a, stride 1 %a", specs[s],
                               nfi_round_name((nfi_round)mode), orders[o], n,
                               d, a);
                    /* Dot products: fast against twin. */
                    for (size_t i = 0; i < n; i++)
                        y[i] = random_term(&g, &fast, 1.0);
                    fast.fast.counter = ref.fast.counter = 0;
                    double p = nfi_reduce_dot(&fast, &r, n, x, 1, y, 1);
                    double q = nfi_reduce_dot(&ref, &r, n, x, 1, y, 1);
                    check_true(same_double(p, q) &&
                                   fast.fast.counter == ref.fast.counter,
                               "%s %s %s n=%zu: dot fast %a twin %a",
                               specs[s], nfi_round_name((nfi_round)mode),
                               orders[o], n, p, q);
                    free(wide);
                    free(x);
                    free(y);
                }
            }
        }
    }
}

/* The exact accumulator: subnormal products, cancellation, specials. */
static void test_exact_sum(void)
{
    nfi_exact_sum s;
    nfi_exact_sum_init(&s);
    nfi_exact_sum_add_product(&s, 0x1p-1074, 0x1p-1074);
    nfi_exact_sum_add_product(&s, 0x1p-1074, 0x1p-1074);
    mpfr_t x, want;
    mpfr_inits2(8, x, want, (mpfr_ptr)0);
    nfi_exact_sum_get(&s, x);
    mpfr_set_ui_2exp(want, 1, -2147, MPFR_RNDN);
    check_true(mpfr_equal_p(x, want), "2 * 2^-2148 summed exactly");
    nfi_exact_sum_add(&s, 1e300);
    nfi_exact_sum_add(&s, -1e300);
    nfi_exact_sum_add_product(&s, -0x1p-1074, 0x1p-1073);
    check_true(nfi_exact_sum_sign(&s) == 0, "exact cancellation to 0");
    check_double(0.0, nfi_exact_sum_get_d(&s), "exact zero as a double");
    nfi_exact_sum_add(&s, INFINITY);
    check_true(nfi_exact_sum_sign(&s) == 1, "+inf added");
    nfi_exact_sum_add(&s, -INFINITY);
    check_true(isnan(nfi_exact_sum_get_d(&s)), "inf - inf is NaN");
    mpfr_clears(x, want, (mpfr_ptr)0);
    nfi_exact_sum_clear(&s);
}

/* A binary64 number of any exponent: subnormals, the extremes, zeros of
 * both signs and numbers with few significant bits among them. */
static double any_double(test_rng *g)
{
    uint64_t b = rng_next(g);
    switch (rng_below(g, 8)) {
    case 0: /* subnormal or zero */
        b &= 0x800fffffffffffffULL;
        break;
    case 1: /* few significant bits */
        b &= 0xfffff00000000000ULL;
        break;
    case 2: /* near 1, where cancellation of sums is likely */
        b = (b & 0x800fffffffffffffULL) | (1023ULL << 52);
        break;
    default:
        break;
    }
    double x;
    memcpy(&x, &b, sizeof x);
    return isfinite(x) ? x : ldexp(1.0, 1023);
}

/* The long accumulator against MPFR at 4600 bits (where every sum of
 * these terms is exact): random sums and sums of products over the whole
 * binary64 range, exact cancellations, carries moved after every few
 * additions (limit) and after 2^30; the value, its sign and its
 * binary64 rounding. */
static void test_exact_sum_against_mpfr(void)
{
    test_rng g;
    rng_init(&g, harness_seed(), 7);
    mpfr_t want, got, term;
    mpfr_inits2(4600, want, term, (mpfr_ptr)0);
    mpfr_init2(got, 2);
    for (int rep = 0; rep < 3000; rep++) {
        nfi_exact_sum s;
        nfi_exact_sum_init(&s);
        static const uint32_t limits[] = {1, 2, 3, 7, 1U << 30};
        s.limit = limits[rep % 5];
        mpfr_set_zero(want, 1);
        size_t n = (size_t)rng_range(&g, 0, 60);
        double kept[60];
        for (size_t i = 0; i < n; i++) {
            double a = any_double(&g), b = any_double(&g);
            int kind = (int)rng_below(&g, 3);
            if (kind == 0) {
                nfi_exact_sum_add(&s, a);
                mpfr_set_d(term, a, MPFR_RNDN);
            } else {
                nfi_exact_sum_add_product(&s, a, b);
                mpfr_set_d(term, a, MPFR_RNDN);
                mpfr_mul_d(term, term, b, MPFR_RNDN); /* exact */
            }
            kept[i] = kind == 0 ? a : 0.0;
            mpfr_add(want, want, term, MPFR_RNDN); /* exact */
        }
        if (rep % 4 == 3) /* take back the plain terms: exact cancellation */
            for (size_t i = 0; i < n; i++)
                if (kept[i] != 0.0) {
                    nfi_exact_sum_add(&s, -kept[i]);
                    mpfr_sub_d(want, want, kept[i], MPFR_RNDN);
                }
        nfi_exact_sum_get(&s, got);
        check_true(mpfr_equal_p(got, want) ||
                   (mpfr_zero_p(got) && mpfr_zero_p(want)),
                   "exact sum %d of %zu terms (limit %u)", rep, n,
                   (unsigned)s.limit);
        check_true(nfi_exact_sum_sign(&s) == mpfr_sgn(want),
                   "sign of exact sum %d", rep);
        double d = mpfr_get_d(want, MPFR_RNDN);
        check_double(mpfr_zero_p(want) ? 0.0 : d, nfi_exact_sum_get_d(&s),
                     "exact sum %d as a double", rep);
        nfi_exact_sum_clear(&s);
    }
    mpfr_clears(want, got, term, (mpfr_ptr)0);
}

/* ---- nfi_mpfr_dot_d against nfi_mpfr_op_d ---------------------------- */

/* A term that makes trouble in f now and then: near the largest finite
 * value, near or below the smallest, a signed zero, an infinity, NaN, a
 * binary64 number off f's grid or outside its range; an ordinary value of
 * f otherwise. */
static double hostile_term(test_rng *g, const nfi_format *f)
{
    double m = rng_unit(g) * 2.0 - 1.0;
    double max = nfi_format_max_finite_d(f);
    double tiny = nfi_format_min_positive_d(f);
    nfi_fast rz;
    nfi_fast_init(&rz, f, NFI_ROUND_RZ, 0, NULL);
    switch (rng_below(g, 24)) {
    case 0: return nfi_fast_round(&rz, max * (0.5 + 0.5 * fabs(m)));
    case 1: return nfi_fast_round(&rz, -max * fabs(m));
    case 2: return nfi_fast_round(&rz, ldexp(m, (int)rng_range(g, 0, 4)) *
                                           tiny);
    case 3: return nfi_fast_round(&rz, sqrt(tiny) * m);
    case 4: return rng_below(g, 2) ? 0.0 : -0.0;
    case 5: return rng_below(g, 8) ? m : (rng_below(g, 2) ? INFINITY
                                                          : -INFINITY);
    case 6: return rng_below(g, 16) ? m : NAN;
    case 7: return m; /* 53 bits: off the grid of every p < 53 */
    case 8: return ldexp(m, -1060); /* below most formats' range */
    default:
        return nfi_fast_round(&rz, ldexp(m, (int)rng_range(g, -8, 8)));
    }
}

/* The sequential dot product written out with nfi_mpfr_op_d; in SR the
 * operations take the stochastic bits of indices 0, 1, 2, ... */
static double dot_by_ops(const nfi_format *f, nfi_round mode, size_t n,
                         const double *a, const double *b, size_t step)
{
    uint64_t index = 0;
    double acc = nfi_mpfr_op_d(NFI_OP_MUL, a[0], b[0], 0, f, mode,
                               nfi_sr_bits(7, index++));
    for (size_t i = 1; i < n; i++) {
        double p = nfi_mpfr_op_d(NFI_OP_MUL, a[i * step], b[i * step], 0, f,
                                 mode, nfi_sr_bits(7, index++));
        acc = nfi_mpfr_op_d(NFI_OP_ADD, acc, p, 0, f, mode,
                            nfi_sr_bits(7, index++));
    }
    return acc;
}

static void test_mpfr_dot(void)
{
    static const char *const specs[] = {
        "binary32", "bfloat16", "binary16", "p=40,emin=-126,emax=127",
        "e4m3", "e4m3,overflow=saturate", "e5m2,subnormals=off",
        "binary32,overflow=saturate", "binary64", "p=3,emin=-2,emax=3"};
    static const nfi_round modes[] = {NFI_ROUND_RNE, NFI_ROUND_RZ,
                                      NFI_ROUND_RU, NFI_ROUND_RD,
                                      NFI_ROUND_RNA, NFI_ROUND_SR};
    /* Caller ranges: MPFR's default, then narrow ones that cut through
     * the formats' ranges (the engine must not depend on them). */
    static const long ranges[][2] = {{0, 0}, {-20, 20}, {-200, 100},
                                     {-1, 1}};
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    test_rng g;
    rng_init(&g, harness_seed(), 6);
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        nfi_format f = harness_format(specs[s]);
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            for (int trial = 0; trial < 60; trial++) {
                size_t n = (size_t)rng_range(&g, 1, trial < 30 ? 4 : 40);
                double a[2 * 40], b[2 * 40];
                for (size_t i = 0; i < 2 * n; i++) {
                    a[i] = hostile_term(&g, &f);
                    b[i] = hostile_term(&g, &f);
                }
                double want = dot_by_ops(&f, modes[m], n, a, b, 2);
                for (size_t r = 0; r < sizeof ranges / sizeof ranges[0];
                     r++) {
                    if (r > 0) {
                        mpfr_set_emin(ranges[r][0]);
                        mpfr_set_emax(ranges[r][1]);
                    }
                    double got = NAN, by_ops;
                    int status = nfi_mpfr_dot_d(&f, modes[m], n, a, 2, b, 2,
                                                &got);
                    by_ops = dot_by_ops(&f, modes[m], n, a, b, 2);
                    if (modes[m] == NFI_ROUND_RNA ||
                        modes[m] == NFI_ROUND_SR) {
                        /* Declined: the caller goes by operations. */
                        status = status == -1 ? 0 : 1;
                        got = by_ops;
                    }
                    bool range_kept = mpfr_get_emin() ==
                                          (r ? ranges[r][0] : emin) &&
                                      mpfr_get_emax() ==
                                          (r ? ranges[r][1] : emax);
                    mpfr_set_emin(emin);
                    mpfr_set_emax(emax);
                    check_true(status == 0 && same_double(want, got) &&
                                   same_double(want, by_ops) && range_kept,
                               "%s %s n=%zu caller range %ld..%ld: "
                               "nfi_mpfr_dot_d %a (status %d), by "
                               "operations %a here and %a in the default "
                               "range; range kept %d; a[0] %a b[0] %a",
                               specs[s], nfi_round_name(modes[m]), n,
                               r ? ranges[r][0] : (long)emin,
                               r ? ranges[r][1] : (long)emax, got, status,
                               by_ops, want, range_kept, a[0], b[0]);
                }
            }
        }
    }
    /* Modes without a direct route are left to the caller. */
    nfi_format f = harness_format("binary32");
    double one = 1.0, d = 0.0;
    check_true(nfi_mpfr_dot_d(&f, NFI_ROUND_SR, 1, &one, 1, &one, 1, &d) ==
                       -1 &&
                   nfi_mpfr_dot_d(&f, NFI_ROUND_RNA, 1, &one, 1, &one, 1,
                                  &d) == -1 &&
                   nfi_mpfr_dot_d(&f, NFI_ROUND_RNE, 0, &one, 1, &one, 1,
                                  &d) == -1,
               "nfi_mpfr_dot_d declines SR, RNA and n = 0");
}

int main(void)
{
    harness_init("test_reduce", 1);
    test_parse();
    test_hand_worked();
    test_orders();
    test_exact_sum();
    test_exact_sum_against_mpfr();
    test_mpfr_dot();
    return harness_finish();
}
