/* Tests of sim/softmax_wide: the softmax cross-entropy steps on four lanes
 * for RNE with 26 <= p <= 52.
 *   1. nfi_ce_wide_sub and nfi_ce_wide_grad against their scalar loops
 *      (nfi_arith_sub, nfi_arith_mul on the fast engine, themselves
 *      tested against MPFR), bit for bit, over random format values
 *      across and beyond the exponent range, cancellations, signed
 *      zeros, subnormals, infinities and NaNs; the cases where the
 *      binary64 sum lies on a midpoint of the p-bit grid with a non-zero
 *      error are counted and must occur for every format.
 *      nfi_ce_wide_exp against nfi_fast_exp element by element over
 *      arguments across the format's range, near the ends where exp
 *      leaves the normal range, zeros, NaN, infinities and |x| >= 690.
 *   2. nfi_ce_sample_eval (every scheme; the logsoftmax one takes all the
 *      lanes) on the fast engine against MPFR reference handles, on
 *      random logits of several spreads, ties with the maximum, huge and
 *      tiny logits, NaN and infinite logits.
 * Every failure prints its inputs and the seed (NFI_TEST_SEED). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bits.h"
#include "harness.h"
#include "softmax_ce.h"
#include "softmax_wide.h"

static test_rng rng;

static const char *const specs[] = {
    "p=26,emin=-126,emax=127", "p=28,emin=-126,emax=127",
    "p=32,emin=-126,emax=127", "p=41,emin=-126,emax=127",
    "p=51,emin=-126,emax=127", "p=52,emin=-126,emax=127",
    "p=30,emin=-14,emax=15", "p=28,emin=-14,emax=15,subnormals=off",
    "p=45,emin=-300,emax=300", "p=33,emin=-6,emax=7,overflow=saturate",
    "p=26,emin=-486,emax=1021",
};
#define SPEC_COUNT (sizeof specs / sizeof *specs)

static double random_value(nfi_fast *f, int elo, int ehi)
{
    uint64_t sig = (1ULL << (f->p - 1)) |
                   (rng_next(&rng) & ((1ULL << (f->p - 1)) - 1));
    int e = (int)rng_range(&rng, elo, ehi);
    double x = ldexp((double)sig, e - f->p + 1);
    if (rng_next(&rng) & 1)
        x = -x;
    return nfi_fast_round(f, x);
}

static double operand(nfi_fast *f, double near)
{
    int emax = f->format.emax;
    switch (rng_below(&rng, 30)) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return INFINITY;
    case 3: return -INFINITY;
    case 4: return NAN;
    case 5: return f->max_finite;
    case 6: return random_value(f, f->emin - f->p, f->emin + 1);
    case 7: return random_value(f, emax - 2, emax);
    case 8: return random_value(f, f->emin, emax);
    case 9: return near;
    case 10: return -near;
    default: return random_value(f, -12, 6);
    }
}

/* Counts a sum whose binary64 value s lies on a midpoint of the p-bit
 * grid: in m[0] when exact (a tie), in m[1] when not. */
static void count_midpoint(const nfi_fast *f, double a, double b, long *m)
{
    double s = a + b, bb = s - a, e = (a - (s - bb)) + (b - bb);
    uint64_t bits = nfi_bits_of(s);
    if (isfinite(s) && s != 0 &&
        (bits & f->low_mask) == f->half_minus_one + 1)
        m[e != 0]++;
}

static void test_steps(void)
{
    enum { K = 23 };
    for (size_t si = 0; si < SPEC_COUNT; si++) {
        nfi_format fmt = harness_format(specs[si]);
        nfi_arith a;
        nfi_arith_init(&a, &fmt, NFI_ROUND_RNE, 0, false, NULL);
        if (!check_true(nfi_ce_wide_applies(&a), "%s: lanes decline",
                        specs[si]))
            continue;
        long midpoints[2] = {0, 0};
        int p = a.fast.p;
        int failures = 0;
        for (int n = 0; n < 20000 && failures < 5; n++) {
            double x[K], out[K], want[K];
            double c = operand(&a.fast, 1.0);
            if (n % 4 == 0 && isfinite(c))
                c = random_value(&a.fast, -3, 3);
            /* n % 4 == 3: x - c = M + t, M = 2^E (1 + (2 i + 1) 2^-p) a
             * midpoint, 0 < |t| = 2^(E - 2p + 1) < u53(M)/2 (p >= 28):
             * x = M - 2^(E - p) and c = -(2^(E - p) + t), p bits each. */
            int ex = (int)rng_range(&rng, -3, 3);
            double t = ldexp(rng_below(&rng, 2) ? 1.0 : -1.0,
                             ex - 2 * p + 1);
            if (n % 4 == 3)
                c = nfi_fast_round(&a.fast, -(ldexp(1.0, ex - p) + t));
            for (size_t j = 0; j < K; j++) {
                x[j] = n % 4 == 0 ? random_value(&a.fast, -4, 4)
                                  : operand(&a.fast, c);
                if (n % 4 == 3) {
                    double i = (double)rng_below(&rng, 1ULL << (p - 1));
                    x[j] = ldexp(1.0 + ldexp(2 * i, -p), ex);
                }
                want[j] = nfi_arith_sub(&a, x[j], c);
                count_midpoint(&a.fast, x[j], -c, midpoints);
            }
            nfi_ce_wide_sub(&a, K, out, x, c);
            for (size_t j = 0; j < K; j++) {
                if (!check_true(same_double(out[j], want[j]), "%s sub %a - "
                                "%a: lanes %a, twin %a", specs[si], x[j],
                                c, out[j], want[j]))
                    failures++;
            }

            /* The gradient step: probabilities in [0, 1], g_y < 0. */
            double pl[K], pt[K], probl[K], probt[K];
            double gy = -fabs(operand(&a.fast, 1.0 / 256));
            if (n % 2 == 0)
                gy = -fabs(random_value(&a.fast, -10, -1));
            size_t y = (size_t)rng_below(&rng, K);
            for (size_t j = 0; j < K; j++) {
                pl[j] = pt[j] = n % 2 == 0
                                    ? fabs(random_value(&a.fast, -30, -1))
                                    : fabs(operand(&a.fast, 0.5));
                probl[j] = probt[j] = 7.0;
            }
            for (size_t j = 0; j < K; j++) {
                double u = nfi_arith_mul(&a, pt[j], gy);
                probt[j] = pt[j];
                count_midpoint(&a.fast, j == y ? gy : 0.0, -u, midpoints);
                pt[j] = nfi_arith_sub(&a, j == y ? gy : 0.0, u);
            }
            nfi_ce_wide_grad(&a, K, y, pl, probl, gy);
            for (size_t j = 0; j < K; j++) {
                if (!check_true(same_double(pl[j], pt[j]) &&
                                same_double(probl[j], probt[j]),
                                "%s grad class %zu of %d (y %zu, g_y %a, "
                                "p %a): lanes %a, twin %a", specs[si], j, K,
                                y, gy, probt[j], pl[j], pt[j]))
                    failures++;
            }
        }
        check_true(midpoints[0] > 0, "%s: no exact tie met", specs[si]);
        if (p >= 28 && fmt.emin <= -126)
            check_true(midpoints[1] > 0, "%s: no inexact sum on a midpoint "
                       "met", specs[si]);
    }
}

static void test_exp(void)
{
    enum { K = 23 };
    for (size_t si = 0; si < SPEC_COUNT; si++) {
        nfi_format fmt = harness_format(specs[si]);
        nfi_arith a;
        nfi_arith_init(&a, &fmt, NFI_ROUND_RNE, 0, false, NULL);
        double lo_end = (a.fast.emin - a.fast.p) * 0.6931471805599453;
        double hi_end = (fmt.emax + 1) * 0.6931471805599453;
        int failures = 0;
        for (int n = 0; n < 4000 && failures < 5; n++) {
            double x[K], out[K];
            for (size_t j = 0; j < K; j++) {
                double v = random_value(&a.fast, -6, 6);
                switch (rng_below(&rng, 16)) {
                case 0: v = lo_end + (rng_unit(&rng) - 0.5) * 8; break;
                case 1: v = hi_end + (rng_unit(&rng) - 0.5) * 8; break;
                case 2: v = operand(&a.fast, 700.0); break;
                case 3: v = rng_below(&rng, 2) ? 0.0 : -0.0; break;
                default: break;
                }
                x[j] = nfi_fast_round(&a.fast, v);
            }
            nfi_ce_wide_exp(&a, K, out, x);
            for (size_t j = 0; j < K; j++) {
                double want = nfi_fast_exp(&a.fast, x[j]);
                if (!check_true(same_double(out[j], want), "%s exp(%a): "
                                "lanes %a, twin %a", specs[si], x[j],
                                out[j], want))
                    failures++;
            }
        }
    }
}

static void test_samples(void)
{
    static const size_t ks[] = {2, 5, 23, 97};
    nfi_reduction r = {NFI_REDUCTION_SEQUENTIAL, 0};
    for (size_t si = 0; si < SPEC_COUNT; si++) {
        nfi_format fmt = harness_format(specs[si]);
        nfi_arith fast, ref;
        nfi_arith_init(&fast, &fmt, NFI_ROUND_RNE, 0, false, NULL);
        nfi_arith_init(&ref, &fmt, NFI_ROUND_RNE, 0, true, NULL);
        int failures = 0;
        for (int n = 0; n < 300 && failures < 3; n++) {
            size_t k = ks[n % 4];
            double z[97], gf[97], gr[97];
            size_t y = (size_t)rng_below(&rng, k);
            int spread = (int)rng_range(&rng, -20, 8);
            for (size_t j = 0; j < k; j++) {
                z[j] = random_value(&fast.fast, spread - 10, spread);
                if (n % 5 == 1)
                    z[j] = operand(&fast.fast, z[0]);
            }
            if (n % 3 == 0)
                z[y] = nfi_fast_round(&fast.fast, fabs(z[y]) + 30);
            if (n % 7 == 2)
                z[k - 1] = z[0]; /* a tie with the maximum, maybe */
            size_t batch = (size_t)rng_range(&rng, 1, 600);
            for (int scheme = 0; scheme < 3; scheme++) {
                nfi_ce_sample a, b;
                nfi_ce_sample_eval(&fast, (nfi_ce_scheme)scheme, &r, k, z,
                                   y, batch, gf, &a, NULL);
                nfi_ce_sample_eval(&ref, (nfi_ce_scheme)scheme, &r, k, z,
                                   y, batch, gr, &b, NULL);
                bool same = same_double(a.loss, b.loss) &&
                            a.absorbed == b.absorbed &&
                            a.underflow == b.underflow &&
                            same_double(a.residual_mass, b.residual_mass) &&
                            same_double(a.margin, b.margin);
                size_t bad = k;
                for (size_t j = 0; j < k; j++) {
                    if (bad == k && !same_double(gf[j], gr[j]))
                        bad = j;
                }
                if (!check_true(same && bad == k, "%s %s K=%zu y=%zu N=%zu "
                                "z[0] %a z[y] %a: loss %a / %a, grad[%zu] "
                                "%a / %a", specs[si],
                                nfi_ce_scheme_name((nfi_ce_scheme)scheme), k,
                                y, batch, z[0], z[y], a.loss, b.loss, bad,
                                bad < k ? gf[bad] : 0.0,
                                bad < k ? gr[bad] : 0.0))
                    failures++;
            }
        }
    }
}

int main(void)
{
    harness_init("test_softmax_wide", 1);
    rng_init(&rng, harness_seed(), 1);
    test_steps();
    test_exp();
    test_samples();
    return harness_finish();
}
