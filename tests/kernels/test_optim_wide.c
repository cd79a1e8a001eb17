/* Tests of the Adam lanes for RNE with 26 <= p <= 52 (sim/optim_wide and
 * the division and square root of sim/lanes_wide.h).
 *
 *   1. nfi_wide_div and nfi_wide_sqrt lane by lane against the fast
 *      engine's scalar nfi_fast_div and nfi_fast_sqrt (the slow twins,
 *      themselves tested against MPFR): random format values over the
 *      whole exponent range and beyond it, signed zeros, subnormals,
 *      infinities, NaNs, negative square-root operands, and the hard
 *      cases: binary64 results on a midpoint of the p-bit grid with the
 *      exact result on either side (quotients found by search where
 *      they are frequent, p >= 44; square roots of 2^2p + 2^(p+1) k,
 *      just below the midpoint 2^p + k, for every p >= 27).  A lane
 *      must be flagged when the twin's result is infinite, NaN or a
 *      non-zero value below 2^emin, must not be flagged when the result
 *      lies strictly inside the normal range, and must equal the twin
 *      when not flagged.  The midpoint cases met are counted and must
 *      occur.  In formats with subnormals half the blocks let the lanes
 *      round onto the subnormal grid (nfi_wide_flags_new(true)): then
 *      only results above max_finite, infinities and NaNs must be
 *      flagged, and every other lane must equal the twin.
 *   2. nfi_optim_step (which takes nfi_adam_wide, and the element path
 *      for what it leaves) against the same step on MPFR reference
 *      handles, bit for bit on p, m and v, over random and adversarial
 *      element states: tiny and huge moments and gradients, zero and
 *      signed-zero gradients, NaN and infinite inputs, negative v, steps
 *      t from 1 to 10^7 (bias corrections from beta to 1), eps that
 *      rounds (to a subnormal or to zero in narrow formats), Adam with
 *      L2 weight decay and AdamW; nfi_adam_wide is also called directly
 *      and every element it reports updated is compared, and it must
 *      update most elements of ordinary states.
 * Every failure prints its inputs and the seed (NFI_TEST_SEED). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpfr.h>

#include "bits.h"
#include "harness.h"
#include "lanes_wide.h"
#include "optim.h"
#include "optim_wide.h"

static test_rng rng;

static const char *const specs[] = {
    "p=26,emin=-126,emax=127", "p=27,emin=-126,emax=127",
    "p=28,emin=-126,emax=127", "p=29,emin=-126,emax=127",
    "p=32,emin=-126,emax=127", "p=37,emin=-126,emax=127",
    "p=44,emin=-126,emax=127", "p=48,emin=-126,emax=127",
    "p=51,emin=-126,emax=127", "p=52,emin=-126,emax=127",
    "p=30,emin=-14,emax=15", "p=28,emin=-14,emax=15,subnormals=off",
    "p=45,emin=-300,emax=300", "p=33,emin=-6,emax=7,overflow=saturate",
    "p=48,emin=-40,emax=41,subnormals=off", "p=26,emin=-486,emax=1021",
    "p=52,emin=-460,emax=1000",
};
#define SPEC_COUNT (sizeof specs / sizeof *specs)

/* A random value of f's format with exponent in [elo, ehi] (clamped to
 * what the format holds by rounding), random sign. */
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

/* An operand for part 1: mostly ordinary, some special. */
static double operand(nfi_fast *f)
{
    int emax = f->format.emax;
    switch (rng_below(&rng, 24)) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return INFINITY;
    case 3: return -INFINITY;
    case 4: return NAN;
    case 5: return f->max_finite;
    case 6: return random_value(f, f->emin - f->p, f->emin);
    case 7: return random_value(f, emax - 3, emax);
    case 8: return random_value(f, f->emin, emax);
    default: return random_value(f, -20, 20);
    }
}

/* Whether x lies on a midpoint of f's p-bit grid (normal range). */
static bool on_midpoint(const nfi_fast *f, double x)
{
    uint64_t b = nfi_bits_of(x);
    return isfinite(x) && x != 0 &&
           (b & f->low_mask) == f->half_minus_one + 1;
}

/* Checks one lane: flag rules and value. */
static bool check_lane(nfi_fast *f, const char *spec, const char *op,
                       double a, double b, double want, double got,
                       bool flagged, bool subnormal)
{
    double mag = fabs(want);
    bool must = isnan(want) || isinf(want) ||
                (!subnormal && want != 0 && mag < ldexp(1.0, f->emin));
    bool must_not = (subnormal || mag > ldexp(1.0, f->emin)) &&
                    mag < f->max_finite;
    if (must && !flagged)
        return check_true(false, "%s %s(%a, %a) = %a: not flagged", spec,
                          op, a, b, want);
    if (must_not && flagged)
        return check_true(false, "%s %s(%a, %a) = %a: flagged", spec, op,
                          a, b, want);
    if (!flagged)
        return check_true(same_double(want, got), "%s %s(%a, %a): lanes "
                          "%a, twin %a", spec, op, a, b, got, want);
    return true;
}

/* Per-lane flags of a block, as nfi_wide_flagged reads them. */
static bool lane_flagged(const nfi_lanes_wide *c, const nfi_wide_flags *g,
                         int l)
{
    double least;
    uint64_t m = c->min - 1;
    memcpy(&least, &m, sizeof least);
    return g->out[l] != 0 || g->lo[l] < least;
}

static void test_ops(void)
{
    for (size_t si = 0; si < SPEC_COUNT; si++) {
        nfi_format fmt = harness_format(specs[si]);
        nfi_fast f;
        nfi_error err;
        if (!check_true(nfi_fast_init(&f, &fmt, NFI_ROUND_RNE, 0, &err) ==
                        0, "setup %s", specs[si]))
            continue;
        nfi_arith h = {f, false};
        if (!check_true(nfi_adam_wide_applies(&h, &h, &fmt),
                        "%s: lanes decline", specs[si]))
            continue;
        nfi_lanes_wide c = nfi_lanes_wide_of(&f);
        long ties[2][2] = {{0, 0}, {0, 0}}; /* [div, sqrt][above, below] */
        int failures = 0;

        for (int n = 0; n < 40000 && failures < 5; n++) {
            /* Odd n: the lanes round onto the subnormal grid (formats
             * with subnormals). */
            bool sub = fmt.subnormals && n % 2 == 1;
            const char *spec = specs[si];
            nfi_v4d a, b, r;
            for (int l = 0; l < 4; l++) {
                a[l] = operand(&f);
                b[l] = operand(&f);
            }
            if (n % 4 < 2 && f.p >= 44) {
                /* Search for a quotient q on a midpoint: about one in
                 * 2^(52 - p) ordinary quotients. */
                for (int l = 0; l < 4; l++) {
                    for (int tries = 0; tries < 1000; tries++) {
                        a[l] = random_value(&f, -20, 20);
                        b[l] = random_value(&f, -20, 20);
                        if (on_midpoint(&f, a[l] / b[l]))
                            break;
                    }
                }
            }
            nfi_wide_flags g = nfi_wide_flags_new(sub);
            r = nfi_wide_div(&c, a, b, &g);
            for (int l = 0; l < 4; l++) {
                double want = nfi_fast_div(&f, a[l], b[l]);
                bool fl = lane_flagged(&c, &g, l);
                if (!check_lane(&f, spec, sub ? "div (subnormals)" : "div",
                                a[l], b[l], want, r[l], fl, sub))
                    failures++;
                double q = a[l] / b[l];
                double rem = fma(-q, b[l], a[l]);
                if (!fl && on_midpoint(&f, q) && rem != 0)
                    ties[0][(rem > 0) == (b[l] > 0) ? 0 : 1]++;
            }

            for (int l = 0; l < 4; l++) {
                a[l] = operand(&f);
                if (n % 4 < 2 && f.p >= 27) {
                    /* sqrt(2^2p + 2^(p+1) k) is just below the midpoint
                     * 2^p + k (k odd, k^2 < 2^(2p - 53)), scaled by an
                     * even power of two. */
                    long kmax = (long)ldexp(1.0, (2 * f.p - 53) / 2);
                    long k = 2 * rng_range(&rng, 0, (kmax - 1) / 2) + 1;
                    double v = ldexp(1.0, 2 * f.p) +
                               ldexp((double)k, f.p + 1);
                    int sh = 2 * (int)rng_range(&rng, -f.p - 20, -f.p + 20);
                    a[l] = ldexp(v, sh);
                }
            }
            g = nfi_wide_flags_new(sub);
            r = nfi_wide_sqrt(&c, a, &g);
            for (int l = 0; l < 4; l++) {
                double want = nfi_fast_sqrt(&f, a[l]);
                bool fl = lane_flagged(&c, &g, l);
                if (!check_lane(&f, spec, sub ? "sqrt (subnormals)" : "sqrt",
                                a[l], 0.0, want, r[l], fl, sub))
                    failures++;
                double s = sqrt(a[l]);
                double rem = fma(-s, s, a[l]);
                if (!fl && on_midpoint(&f, s) && rem != 0)
                    ties[1][rem > 0 ? 0 : 1]++;
            }
        }
        if (f.p >= 44)
            check_true(ties[0][0] > 0 && ties[0][1] > 0, "%s: quotient "
                       "midpoints met %ld above, %ld below", specs[si],
                       ties[0][0], ties[0][1]);
        if (f.p >= 27)
            check_true(ties[1][1] > 0, "%s: square-root midpoints met %ld "
                       "below", specs[si], ties[1][1]);
        if (f.p >= 50)
            check_true(ties[1][0] > 0, "%s: square-root midpoints met %ld "
                       "above", specs[si], ties[1][0]);
    }
}

/* Adam's constants as sim/optim.c computes them (optim.h). */
static double constant(const nfi_format *f, double x)
{
    return nfi_mpfr_op_d(NFI_OP_CVT, x, 0.0, 0.0, f, NFI_ROUND_RNE, 0);
}

static double bias_correction(double beta, long t)
{
    mpfr_t x;
    mpfr_init2(x, 53);
    mpfr_set_d(x, beta, MPFR_RNDN);
    mpfr_pow_si(x, x, t, MPFR_RNDN);
    double power = mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(x);
    return 1.0 - power;
}

static nfi_adam_wide_consts consts_of(const nfi_optim_config *c,
                                      const nfi_format *f, long t)
{
    nfi_adam_wide_consts k;
    k.b1 = constant(f, c->beta1);
    k.b2 = constant(f, c->beta2);
    k.c1 = constant(f, 1.0 - c->beta1);
    k.c2 = constant(f, 1.0 - c->beta2);
    k.step = constant(f, c->lr / bias_correction(c->beta1, t));
    k.root = constant(f, sqrt(bias_correction(c->beta2, t)));
    k.eps = constant(f, c->eps);
    k.lambda = constant(f, c->weight_decay);
    k.l2 = c->kind == NFI_OPTIM_ADAM && c->weight_decay != 0;
    k.decoupled = c->kind == NFI_OPTIM_ADAMW && c->weight_decay != 0;
    k.decay = constant(f, 1.0 - c->lr * c->weight_decay);
    return k;
}

/* One element's state: kind 0 ordinary, else adversarial. */
static void element_state(nfi_fast *f, double *p, double *g, double *m,
                          double *v, bool adversarial)
{
    int emax = f->format.emax;
    *p = random_value(f, -8, 1);
    *g = random_value(f, -16, -2);
    *m = random_value(f, -18, -4);
    *v = fabs(random_value(f, -40, -10));
    if (!adversarial)
        return;
    double *which[4] = {p, g, m, v};
    for (int j = 0; j < 4; j++) {
        double *x = which[j];
        switch (rng_below(&rng, 20)) {
        case 0: *x = 0.0; break;
        case 1: *x = -0.0; break;
        case 2: *x = random_value(f, f->emin - f->p, f->emin + 2); break;
        case 3: *x = random_value(f, emax - 2, emax); break;
        case 4: *x = random_value(f, emax / 2 - 2, emax / 2 + 1); break;
        case 5: *x = random_value(f, f->emin / 2 - 1, f->emin / 2 + 2);
            break;
        case 6: *x = rng_below(&rng, 4) == 0 ? NAN : *x; break;
        case 7: *x = rng_below(&rng, 4) == 0 ? -INFINITY : *x; break;
        case 8: *x = random_value(f, f->emin, emax); break;
        default: break;
        }
    }
    if (rng_below(&rng, 30) == 0)
        *v = -fabs(*v);
}

static void test_adam(void)
{
    enum { LEN = 261 }; /* 65 blocks of four (the lanes take two at a
                           time, the last alone) and one */
    static const nfi_optim_config configs[] = {
        {NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0, 0},
        {NFI_OPTIM_ADAM, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0},
        {NFI_OPTIM_ADAMW, 1e-2, 0.9, 0.999, 1e-8, 0.01, 0},
        {NFI_OPTIM_ADAMW, 0.5, 0.5, 0.75, 0, 0.1, 0},
        {NFI_OPTIM_ADAM, 3.0, 0.0, 0.0, 0.3, 0, 0},
        {NFI_OPTIM_ADAM, 1e-2, 0.99, 0.99999, 1e-30, 0, 0},
        {NFI_OPTIM_ADAMW, 1e-2, 0.9, 0.999, 1e-8, 1e-40, 0},
    };
    static const long steps[] = {1, 2, 3, 17, 1000, 123457, 10000000};
    enum { CONFIGS = sizeof configs / sizeof *configs };
    enum { STEPS = sizeof steps / sizeof *steps };

    for (size_t si = 0; si < SPEC_COUNT; si++) {
        nfi_format fmt = harness_format(specs[si]);
        nfi_arith o, pa, orf, prf;
        nfi_arith_init(&o, &fmt, NFI_ROUND_RNE, 0, false, NULL);
        nfi_arith_init(&pa, &fmt, NFI_ROUND_RNE, 0, false, NULL);
        nfi_arith_init(&orf, &fmt, NFI_ROUND_RNE, 0, true, NULL);
        nfi_arith_init(&prf, &fmt, NFI_ROUND_RNE, 0, true, NULL);
        long lanes_done = 0, ordinary = 0;
        int failures = 0;
        for (size_t ci = 0; ci < CONFIGS; ci++) {
            for (size_t ti = 0; ti < STEPS && failures < 3; ti++) {
                bool adversarial = (ti + ci) % 2 == 1;
                nfi_optim_state sa, sb, sc;
                nfi_optim_state_init(&sa, LEN, NULL);
                nfi_optim_state_init(&sb, LEN, NULL);
                nfi_optim_state_init(&sc, LEN, NULL);
                double pa_[LEN], pb[LEN], pc[LEN], g[LEN];
                double p0[LEN], m0[LEN], v0[LEN];
                for (size_t i = 0; i < LEN; i++) {
                    element_state(&o.fast, &p0[i], &g[i], &m0[i], &v0[i],
                                  adversarial);
                    pa_[i] = pb[i] = pc[i] = p0[i];
                    sa.m[i] = sb.m[i] = sc.m[i] = m0[i];
                    sa.v[i] = sb.v[i] = sc.v[i] = v0[i];
                }
                sa.step = sb.step = steps[ti] - 1;
                nfi_optim_step(&configs[ci], &o, &pa, &fmt, &sa, pa_, g);
                nfi_optim_step(&configs[ci], &orf, &prf, &fmt, &sb, pb, g);

                /* The lanes alone, element by element reported. */
                nfi_adam_wide_consts k = consts_of(&configs[ci], &fmt,
                                                   steps[ti]);
                bool *done = calloc(LEN, sizeof *done);
                for (size_t i = 0; i < LEN; i++) {
                    size_t stop = nfi_adam_wide(&o, &k, &sc, pc, g, i);
                    for (size_t j = i; j < stop; j++)
                        done[j] = true;
                    i = stop;
                }
                for (size_t i = 0; i < LEN && failures < 3; i++) {
                    if (!check_true(same_double(pa_[i], pb[i]) &&
                                    same_double(sa.m[i], sb.m[i]) &&
                                    same_double(sa.v[i], sb.v[i]),
                                    "%s %s wd %g lr %g t %ld element %zu "
                                    "(p %a g %a m %a v %a): p %a/%a m %a/%a"
                                    " v %a/%a", specs[si],
                                    nfi_optim_kind_name(configs[ci].kind),
                                    configs[ci].weight_decay,
                                    configs[ci].lr, steps[ti], i, p0[i],
                                    g[i], m0[i], v0[i], pa_[i], pb[i],
                                    sa.m[i], sb.m[i], sa.v[i], sb.v[i]))
                        failures++;
                    if (!done[i])
                        continue;
                    lanes_done++;
                    if (!check_true(same_double(pc[i], pb[i]) &&
                                    same_double(sc.m[i], sb.m[i]) &&
                                    same_double(sc.v[i], sb.v[i]),
                                    "%s %s t %ld element %zu by the lanes "
                                    "(p %a g %a m %a v %a): p %a/%a m %a/%a"
                                    " v %a/%a", specs[si],
                                    nfi_optim_kind_name(configs[ci].kind),
                                    steps[ti], i, p0[i], g[i], m0[i], v0[i],
                                    pc[i], pb[i], sc.m[i], sb.m[i], sc.v[i],
                                    sb.v[i]))
                        failures++;
                }
                if (!adversarial)
                    ordinary += LEN;
                free(done);
                nfi_optim_state_free(&sa);
                nfi_optim_state_free(&sb);
                nfi_optim_state_free(&sc);
            }
        }
        /* Ordinary states stay in range for the wide formats (emin
         * -126 or below): the lanes must take most elements there. */
        if (fmt.emin <= -126)
            check_true(lanes_done * 2 > ordinary, "%s: lanes took %ld "
                       "elements of %ld ordinary ones", specs[si],
                       lanes_done, ordinary);
    }
}

int main(void)
{
    harness_init("test_optim_wide", 1);
    rng_init(&rng, harness_seed(), 1);
    test_ops();
    test_adam();
    return harness_finish();
}
