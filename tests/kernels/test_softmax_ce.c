/* Tests of sim/softmax_ce: the three cross-entropy schemes.
 *
 * 1. Fast kernel against its reference twin (the same kernel on the MPFR
 *    engine): random logits, K = 2, 10, 23, 97, every scheme, several
 *    orders, formats and every mode; losses, gradients, diagnostics and
 *    stochastic counters bit for bit.
 * 2. The absorption facts of the design, worked by hand for binary32
 *    with one competitor (z = [M, 0], label 0, N = 1):
 *    - logsoftmax, M = 17: e^-17 = 4.1e-8 < 2^-24 = 6.0e-8, so s = 1 +
 *      e^-17 rounds to 1, log s = 0, out_y = 0, exp(out_y) = 1 and
 *      grad_y = -1 - 1 * -1 = 0 exactly: absorbed; the competitor's
 *      gradient -(exp(-17) * -1) = e^-17 rounded is not 0 (the window).
 *    - M = 15: e^-15 = 3.06e-7 > 2^-23, s > 1, grad_y != 0.
 *    - M = 120: exp(-120) = 7.7e-53 underflows to 0 in binary32 (below
 *      half of 2^-149 = 1.4e-45): absorbed and underflow.
 *    - lse with large logits: z = [1024, 1014]: l = log(1 + e^-10) =
 *      4.54e-5 is below half an ulp of 1024 (2^-13 / 2 = 6.1e-5), so lse
 *      rounds back to 1024 and grad_y = (exp(0) - 1) / 1 = 0, while
 *      logsoftmax at the same margin 10 is not absorbed.
 * 3. In binary64, unabsorbed gradients sum to about 0 and the gradient of
 *    the label is p_y - 1 within 1e-12 (an exactness sanity check of the
 *    formulas, independent of rounding details).
 * 4. Bad arguments give an error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "softmax_ce.h"

static nfi_reduction order_of(const char *text)
{
    nfi_reduction r;
    nfi_reduction_parse(text, &r, NULL);
    return r;
}

static void test_twins(void)
{
    static const char *const specs[] = {"binary32", "bfloat16", "binary16",
                                        "p=40,emin=-126,emax=127", "e4m3",
                                        "binary64", "p=20,emin=-126,emax=127",
                                        "p=25,emin=-30,emax=30"};
    static const char *const orders[] = {"sequential", "pairwise",
                                         "lanes:8", "exact"};
    static const size_t ks[] = {2, 10, 23, 97};
    test_rng g;
    rng_init(&g, harness_seed(), 2);
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        nfi_format f = harness_format(specs[s]);
        for (int mode = 0; mode < NFI_ROUND_COUNT; mode++) {
            for (int scheme = 0; scheme < 3; scheme++) {
                for (size_t o = 0; o < 4; o++) {
                    for (size_t ki = 0; ki < 4; ki++) {
                        size_t k = ks[ki];
                        nfi_reduction r = order_of(orders[o]);
                        uint64_t seed = rng_next(&g);
                        nfi_arith fast, ref;
                        nfi_arith_init(&fast, &f, (nfi_round)mode, seed,
                                       false, NULL);
                        nfi_arith_init(&ref, &f, (nfi_round)mode, seed,
                                       true, NULL);
                        double z[97], gf[97], gr[97];
                        size_t y = (size_t)rng_below(&g, k);
                        double spread = ldexp(1.0, (int)rng_range(&g, -2, 6));
                        for (size_t j = 0; j < k; j++)
                            z[j] = nfi_fast_round(&fast.fast,
                                                  (rng_unit(&g) - 0.5) *
                                                      spread);
                        /* a confident sample now and then */
                        if (rng_below(&g, 2))
                            z[y] = nfi_fast_round(&fast.fast,
                                                  z[y] + rng_range(&g, 5, 40));
                        size_t n = (size_t)rng_range(&g, 1, 300);
                        nfi_ce_sample a, b;
                        fast.fast.counter = ref.fast.counter = 0;
                        nfi_ce_sample_eval(&fast, (nfi_ce_scheme)scheme, &r,
                                           k, z, y, n, gf, &a, NULL);
                        nfi_ce_sample_eval(&ref, (nfi_ce_scheme)scheme, &r,
                                           k, z, y, n, gr, &b, NULL);
                        bool same = same_double(a.loss, b.loss) &&
                                    a.absorbed == b.absorbed &&
                                    a.underflow == b.underflow &&
                                    same_double(a.residual_mass,
                                                b.residual_mass) &&
                                    same_double(a.margin, b.margin) &&
                                    fast.fast.counter == ref.fast.counter;
                        for (size_t j = 0; j < k; j++)
                            same = same && same_double(gf[j], gr[j]);
                        check_true(same, "%s %s %s %s K=%zu y=%zu N=%zu: "
                                   "fast and twin differ (loss %a / %a, "
                                   "grad_y %a / %a)", specs[s],
                                   nfi_round_name((nfi_round)mode),
                                   nfi_ce_scheme_name((nfi_ce_scheme)scheme),
                                   orders[o], k, y, n, a.loss, b.loss,
                                   gf[y], gr[y]);
                    }
                }
            }
        }
    }
}

static nfi_ce_sample eval(const char *spec, nfi_ce_scheme scheme,
                          double zy, double zother, double *grad)
{
    nfi_format f = harness_format(spec);
    nfi_arith a;
    nfi_arith_init(&a, &f, NFI_ROUND_RNE, 0, false, NULL);
    nfi_reduction r = order_of("sequential");
    double z[2] = {zy, zother};
    nfi_ce_sample s;
    nfi_ce_sample_eval(&a, scheme, &r, 2, z, 0, 1, grad, &s, NULL);
    return s;
}

static void test_absorption(void)
{
    double g[2];
    nfi_ce_sample s = eval("binary32", NFI_CE_LOGSOFTMAX, 17.0, 0.0, g);
    check_true(s.absorbed && !s.underflow && g[0] == 0.0 && g[1] > 0.0,
               "binary32 logsoftmax margin 17: absorbed with a non-zero "
               "competitor gradient (got grad %a %a)", g[0], g[1]);
    check_double(17.0, s.margin, "margin of [17, 0]");
    check_true(s.residual_mass > 4.1e-8 && s.residual_mass < 4.2e-8,
               "residual mass at margin 17 is e^-17 (got %g)",
               s.residual_mass);
    s = eval("binary32", NFI_CE_LOGSOFTMAX, 15.0, 0.0, g);
    check_true(!s.absorbed && g[0] != 0.0, "binary32 logsoftmax margin 15 "
               "is not absorbed (grad_y %a)", g[0]);
    s = eval("binary32", NFI_CE_LOGSOFTMAX, 120.0, 0.0, g);
    check_true(s.absorbed && s.underflow && g[1] == 0.0,
               "binary32 margin 120: absorbed and underflowed");
    s = eval("binary32", NFI_CE_LSE, 1024.0, 1014.0, g);
    check_true(s.absorbed && g[0] == 0.0, "binary32 lse at 1024 with margin "
               "10: lse rounds back to the max, absorbed (grad_y %a)", g[0]);
    s = eval("binary32", NFI_CE_LOGSOFTMAX, 1024.0, 1014.0, g);
    check_true(!s.absorbed, "binary32 logsoftmax at 1024 with margin 10 is "
               "not absorbed (grad_y %a)", g[0]);
    /* Softmax scheme, margin 17: s rounds to 1, p_y = 1, grad_y = 0. */
    s = eval("binary32", NFI_CE_SOFTMAX, 17.0, 0.0, g);
    check_true(s.absorbed && g[1] > 0.0, "binary32 softmax margin 17");
    /* binary64 at margin 17 is far from absorption (threshold ~36.7). */
    s = eval("binary64", NFI_CE_LOGSOFTMAX, 17.0, 0.0, g);
    check_true(!s.absorbed, "binary64 margin 17 is not absorbed");
}

static void test_formulas(void)
{
    nfi_format f = harness_format("binary64");
    nfi_reduction r = order_of("sequential");
    test_rng g;
    rng_init(&g, harness_seed(), 3);
    for (int trial = 0; trial < 200; trial++) {
        size_t k = (size_t)rng_range(&g, 2, 40), y = rng_below(&g, k);
        double z[40], grad[40];
        for (size_t j = 0; j < k; j++)
            z[j] = (rng_unit(&g) - 0.5) * 6.0;
        double mx = z[0];
        for (size_t j = 1; j < k; j++)
            mx = fmax(mx, z[j]);
        double sum = 0.0;
        for (size_t j = 0; j < k; j++)
            sum += exp(z[j] - mx);
        double py = exp(z[y] - mx) / sum;
        for (int scheme = 0; scheme < 3; scheme++) {
            nfi_arith a;
            nfi_arith_init(&a, &f, NFI_ROUND_RNE, 0, false, NULL);
            nfi_ce_sample s;
            nfi_ce_sample_eval(&a, (nfi_ce_scheme)scheme, &r, k, z, y, 1,
                               grad, &s, NULL);
            double total = 0.0;
            for (size_t j = 0; j < k; j++)
                total += grad[j];
            check_true(fabs(total) < 1e-12 && fabs(grad[y] - (py - 1.0)) <
                           1e-12 && fabs(s.loss + log(py)) < 1e-12,
                       "binary64 %s K=%zu: gradient sum %g, grad_y %.17g vs "
                       "%.17g, loss %.17g vs %.17g",
                       nfi_ce_scheme_name((nfi_ce_scheme)scheme), k, total,
                       grad[y], py - 1.0, s.loss, -log(py));
        }
    }
}

static void test_errors(void)
{
    nfi_format f = harness_format("binary32");
    nfi_arith a;
    nfi_arith_init(&a, &f, NFI_ROUND_RNE, 0, false, NULL);
    nfi_reduction r = order_of("sequential");
    double z[2] = {1, 2}, grad[2];
    nfi_ce_sample s;
    nfi_error err = {{0}};
    check_true(nfi_ce_sample_eval(&a, NFI_CE_LSE, &r, 2, z, 2, 1, grad, &s,
                                  &err) == -1 &&
                   strstr(err.message, "label 2") != NULL,
               "label 2 of K=2 refused: '%s'", err.message);
    check_true(nfi_ce_sample_eval(&a, NFI_CE_LSE, &r, 2, z, 0, 0, grad, &s,
                                  &err) == -1, "N = 0 refused");
    nfi_ce_scheme sc;
    check_true(nfi_ce_scheme_parse("stablemax", &sc, &err) == -1 &&
                   strstr(err.message, "stablemax") != NULL,
               "unknown scheme named in '%s'", err.message);
}

int main(void)
{
    harness_init("test_softmax_ce", 1);
    test_twins();
    test_absorption();
    test_formulas();
    test_errors();
    return harness_finish();
}
