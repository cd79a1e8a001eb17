/* Tests of verify/predicate: the independent evaluation of the
 * cross-entropy schemes against the trainer's kernel.
 *
 * The oracle is sim/softmax_ce's nfi_ce_sample_eval run on the MPFR
 * engine (the reference twin) and on the fast engine: a different
 * implementation of the same operations.  Over random logits, for
 * several formats, every scheme, the orders sequential, pairwise,
 * lanes:8, blocked:4 and exact, the four deterministic modes and K = 2,
 * 5, 23, the decisions (absorbed, underflow) and every computed gradient
 * must agree bit for bit (the sign of zero included).  The logits are
 * drawn so that about half the samples sit inside the absorption window:
 * the label's logit exceeds the others by a margin drawn up to 3 p ln 2.
 * Bad arguments give errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "predicate.h"
#include "softmax_ce.h"

static nfi_reduction order_of(const char *text)
{
    nfi_reduction r;
    if (nfi_reduction_parse(text, &r, NULL) != 0)
        abort();
    return r;
}

/* A random value of f: mostly moderate magnitudes, within half of the
 * largest finite value. */
static double draw_logit(test_rng *g, const nfi_format *f, double span)
{
    double max = nfi_format_max_finite_d(f) / 2;
    double x = (2 * rng_unit(g) - 1) * span;
    if (x > max)
        x = max;
    if (x < -max)
        x = -max;
    return truncate_to_format(f, x);
}

static long agreements;

static void compare_one(const nfi_format *f, nfi_round mode,
                        nfi_ce_scheme scheme, const char *order_text,
                        size_t k, const double *z, size_t y, size_t n)
{
    nfi_reduction order = order_of(order_text);
    nfi_pred_spec spec = {.format = *f, .mode = mode, .scheme = scheme,
                          .order = order, .batch = n};
    double mine[32], theirs[32], fast[32];
    nfi_pred_outcome o;
    nfi_error err;
    if (!check_true(nfi_pred_eval_d(&spec, k, z, y, mine, &o, &err) == 0,
                    "predicate failed: %s", err.message))
        return;
    for (int reference = 1; reference >= 0; reference--) {
        nfi_arith a;
        nfi_arith_init(&a, f, mode, 1, reference != 0, NULL);
        nfi_ce_sample s;
        double *g = reference ? theirs : fast;
        nfi_ce_sample_eval(&a, scheme, &order, k, z, y, n, g, &s, NULL);
        bool ok = s.absorbed == o.absorbed && s.underflow == o.underflow;
        for (size_t j = 0; j < k; j++)
            ok = ok && same_double(g[j], mine[j]);
        if (!check_true(ok, "%s engine, scheme %s, order %s, mode %s, "
                        "K=%zu, y=%zu, N=%zu: absorbed %d/%d underflow "
                        "%d/%d", reference ? "mpfr" : "fast",
                        nfi_ce_scheme_name(scheme), order_text,
                        nfi_round_name(mode), k, y, n, s.absorbed,
                        o.absorbed, s.underflow, o.underflow)) {
            for (size_t j = 0; j < k; j++)
                fprintf(stderr, "  z[%zu] = %a  grad %a (kernel) %a "
                        "(predicate)\n", j, z[j], g[j], mine[j]);
        } else {
            agreements++;
        }
    }
}

static void test_random(void)
{
    static const char *const specs[] = {
        "binary32", "bfloat16", "binary16", "e4m3", "e5m2",
        "p=11,emin=-6,emax=7", "p=11,emin=-6,emax=7,subnormals=off",
        "binary32,subnormals=off", "binary64"};
    static const char *const orders[] = {"sequential", "pairwise",
                                         "lanes:8", "blocked:4", "exact"};
    static const nfi_round modes[] = {NFI_ROUND_RNE, NFI_ROUND_RZ,
                                      NFI_ROUND_RU, NFI_ROUND_RD};
    static const size_t ks[] = {2, 5, 23};
    static const size_t ns[] = {1, 3, 64};
    test_rng g;
    rng_init(&g, harness_seed(), 1);
    long absorbed = 0, underflow = 0, total = 0;
    for (size_t si = 0; si < sizeof specs / sizeof specs[0]; si++) {
        nfi_format f = harness_format(specs[si]);
        /* Margins up to 3 p ln 2 cross the absorption boundary; up to
         * 1.2 (p - emin) ln 2 (within half the range) the underflow. */
        double absorb_window = 3.0 * (double)f.p * log(2.0);
        double under_window = 1.2 * (double)(f.p - f.emin) * log(2.0);
        if (under_window > nfi_format_max_finite_d(&f) / 4)
            under_window = nfi_format_max_finite_d(&f) / 4;
        for (int scheme = 0; scheme < 3; scheme++)
            for (size_t oi = 0; oi < 5; oi++)
                for (size_t mi = 0; mi < 4; mi++)
                    for (int rep = 0; rep < 24; rep++) {
                        size_t k = ks[rng_below(&g, 3)];
                        size_t n = ns[rng_below(&g, 3)];
                        size_t y = (size_t)rng_below(&g, k);
                        double z[32];
                        double centre = rng_below(&g, 4) == 0 ?
                            draw_logit(&g, &f, 2000.0) : 0.0;
                        double top = -HUGE_VAL;
                        for (size_t j = 0; j < k; j++) {
                            z[j] = truncate_to_format(&f, centre +
                                draw_logit(&g, &f, 4.0));
                            if (j != y && z[j] > top)
                                top = z[j];
                        }
                        double window = rng_below(&g, 3) == 0 ?
                            under_window : absorb_window;
                        z[y] = truncate_to_format(&f, top +
                                                  window * rng_unit(&g));
                        nfi_pred_spec spec = {
                            .format = f, .mode = modes[mi],
                            .scheme = (nfi_ce_scheme)scheme,
                            .order = order_of(orders[oi]), .batch = n};
                        nfi_pred_outcome o;
                        if (nfi_pred_eval_d(&spec, k, z, y, NULL, &o,
                                            NULL) == 0) {
                            absorbed += o.absorbed;
                            underflow += o.underflow;
                        }
                        total++;
                        compare_one(&f, modes[mi], (nfi_ce_scheme)scheme,
                                    orders[oi], k, z, y, n);
                    }
    }
    /* The draw must exercise both sides of the boundary. */
    check_true(absorbed > total / 10 && absorbed < total - total / 10 &&
               underflow > total / 20,
               "absorbed in %ld, underflow in %ld of %ld samples", absorbed,
               underflow, total);
    printf("test_predicate: %ld samples, %ld absorbed, %ld underflowed\n",
           total, absorbed, underflow);
}

/* binary128: no kernel to compare with, but the known facts hold. */
static void test_wide(void)
{
    nfi_pred_spec spec = {.format = harness_format("binary128"),
                          .mode = NFI_ROUND_RNE,
                          .scheme = NFI_CE_LOGSOFTMAX,
                          .order = order_of("sequential"), .batch = 1};
    /* e^-79 = 4.9e-35 < 2^-113 = 9.6e-35 < e^-78 = 1.3e-34 */
    double z1[2] = {79.0, 0.0}, z2[2] = {78.0, 0.0};
    nfi_pred_outcome o1, o2;
    check_true(nfi_pred_eval_d(&spec, 2, z1, 0, NULL, &o1, NULL) == 0 &&
               o1.absorbed && !o1.wrong_zero,
               "binary128 margin 79 is absorbed, wrong class non-zero");
    check_true(nfi_pred_eval_d(&spec, 2, z2, 0, NULL, &o2, NULL) == 0 &&
               !o2.absorbed, "binary128 margin 78 is not absorbed");
}

static void test_errors(void)
{
    nfi_pred_spec spec = {.format = harness_format("binary16"),
                          .mode = NFI_ROUND_RNE, .scheme = NFI_CE_LSE,
                          .order = order_of("sequential"), .batch = 1};
    double z[2] = {1.0, 0.1}; /* 0.1 is not a binary16 value */
    nfi_pred_outcome o;
    nfi_error err;
    check_true(nfi_pred_eval_d(&spec, 2, z, 0, NULL, &o, &err) != 0,
               "a logit off the format's grid is refused");
    z[1] = 0.5;
    check_true(nfi_pred_eval_d(&spec, 2, z, 2, NULL, &o, &err) != 0,
               "a label out of range is refused");
    check_true(nfi_pred_eval_d(&spec, 0, z, 0, NULL, &o, &err) != 0,
               "K = 0 is refused");
    spec.mode = NFI_ROUND_SR;
    check_true(nfi_pred_eval_d(&spec, 2, z, 0, NULL, &o, &err) != 0,
               "stochastic rounding is refused");
    spec.mode = NFI_ROUND_RNE;
    spec.batch = 0;
    check_true(nfi_pred_eval_d(&spec, 2, z, 0, NULL, &o, &err) != 0,
               "N = 0 is refused");
}

int main(void)
{
    harness_init("test_predicate", 0x70726564ULL);
    test_random();
    test_wide();
    test_errors();
    printf("test_predicate: %ld kernel evaluations agreed bit for bit\n",
           agreements);
    return harness_finish();
}
