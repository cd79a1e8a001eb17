/* Tests of sim/lanes.h: the roundings of four binary64 lanes against the
 * fast engine's scalar operations (themselves tested against MPFR).
 *
 * For a product a * b of two format values, nfi_lanes_round_sub of the
 * binary64 product must be nfi_fast_mul(a, b), and for a sum,
 * nfi_lanes_round_grid of the binary64 sum must be nfi_fast_add(a, b),
 * bit for bit, wherever nfi_lanes_flag_over leaves the lane unflagged;
 * a flagged lane must lie beyond the largest finite value (or be NaN),
 * and in formats that overflow to infinity, every infinite or NaN result
 * must be flagged.  Formats without
 * subnormals take nfi_lanes_round, whose unflagged lanes must agree too
 * (it flags non-zero results below 2^emin as well).
 *   - Every pair of values (zeros of both signs, subnormals, infinities
 *     and NaN included) of small formats, p = 2 to 8.
 *   - Every value of binary16 and bfloat16 against random values.
 *   - Random pairs for every p from 2 to 25, exponent ranges drawn at
 *     random, with subnormals on and off; operands spread over the whole
 *     range, ties made on purpose (a sum of a value and half a grid step
 *     of it, products of odd significands).
 * Products neither tiny nor too large must also round right by
 * nfi_lanes_round_split, and so must every unflagged sum in a format
 * with subnormals (the sums of the fused kernels: below 2^emin exact,
 * which the split must leave as they are) and every tie of the p-bit
 * grid and its binary64 neighbours (all of them for p <= 14).
 * Quotients and square roots (of |a|) of the binary64 operations, rounded
 * by nfi_lanes_round_sub, must match nfi_fast_div and nfi_fast_sqrt the
 * same way (sim/optim.c's Adam lanes).
 * The seed (NFI_TEST_SEED) drives the random parts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lanes.h"

static size_t failures_shown;

/* Checks four pairs through the lanes: op 0 multiplies, 1 adds, 2
 * divides, 3 takes the square root of |a| (divisions and roots: formats
 * with subnormals whose quotients of non-zero values stay inside
 * [2^-900, 2^900], as sim/optim.c's lanes require; they round the
 * binary64 result by nfi_lanes_round_sub as the engine's plain route
 * does). */
static void check4(nfi_fast *f, int op, const double *a, const double *b)
{
    bool sub = nfi_lanes_sub_applies(f);
    if (op >= 2 && !(sub && f->format.emax - f->format.emin + f->p <= 880))
        return;
    nfi_lanes_rne cr = nfi_lanes_rne_of(f);
    nfi_lanes_sub cs = nfi_lanes_sub_of(f);
    nfi_v4d x = nfi_load4(a), y = nfi_load4(b);
    nfi_v4d v = op == 0 ? x * y : op == 1 ? x + y : op == 2 ? x / y : x;
    if (op == 3)
        for (int l = 0; l < 4; l++)
            v[l] = sqrt(fabs(a[l]));
    nfi_v4u flag = {0, 0, 0, 0};
    nfi_v4d r;
    if (sub) {
        nfi_lanes_flag_over(&cs, v, &flag);
        r = op != 1 ? nfi_lanes_round_sub(&cs, v)
                    : nfi_lanes_round_grid(&cr, v);
    } else {
        r = nfi_lanes_round(&cr, v, &flag);
    }
    /* A product neither tiny nor beyond the largest finite value (as
     * scan_verdict proves for LANES_NO_TINY), and an unflagged sum with
     * subnormals, round by the split too. */
    nfi_v4d split = nfi_lanes_round_split(&cs, v);
    static const char *const names[] = {"mul", "add", "div", "sqrt"};
    for (int l = 0; l < 4; l++) {
        double want = op == 0   ? nfi_fast_mul(f, a[l], b[l])
                      : op == 1 ? nfi_fast_add(f, a[l], b[l])
                      : op == 2 ? nfi_fast_div(f, a[l], b[l])
                                : nfi_fast_sqrt(f, fabs(a[l]));
        /* Unflagged: the engine's result.  Flagged: beyond the largest
         * finite value (or NaN; a tie just above it may still round
         * down to it, which the flag does not tell apart), so a
         * needless recomputation at worst.  An infinite or NaN result
         * is always flagged. */
        double mag = fabs(v[l]);
        bool beyond = !(mag <= f->max_finite) ||
                      (!sub && mag != 0.0 && mag < ldexp(1.0, f->emin));
        bool ok = flag[l] != 0 ? beyond : same_double(want, r[l]);
        if (sub && f->format.overflow == NFI_OVERFLOW_INF &&
            !isfinite(want))
            ok = ok && flag[l] != 0;
        if (sub && op == 0 && (mag == 0.0 || (mag >= ldexp(1.0, f->emin) &&
                                              mag <= f->max_finite)))
            ok = ok && same_double(want, split[l]);
        if (sub && op == 1 && flag[l] == 0)
            ok = ok && same_double(want, split[l]);
        if (!check_true(ok, "p=%ld,emin=%ld,emax=%ld%s %s %a %a: engine "
                        "%a, lanes %a, flag %d", f->format.p,
                        f->format.emin, f->format.emax,
                        f->format.subnormals ? "" : ",subnormals=off",
                        names[op], a[l], b[l], want, r[l],
                        flag[l] != 0))
            failures_shown++;
    }
}

static bool setup(nfi_fast *f, const char *spec)
{
    nfi_format fmt;
    nfi_error err;
    if (nfi_format_parse(spec, &fmt, &err) != 0 ||
        nfi_fast_init(f, &fmt, NFI_ROUND_RNE, 0, &err) != 0)
        return check_true(false, "setup %s: %s", spec, err.message);
    return true;
}

/* Every pair of values of a small format, both operations. */
static void every_pair(const char *spec)
{
    nfi_fast f;
    if (!setup(&f, spec))
        return;
    check_true(nfi_lanes_sub_applies(&f) == f.format.subnormals,
               "%s: the subnormal lanes apply with subnormals only", spec);
    size_t n;
    double *v = format_values(&f.format, &n);
    double a[4], b[4];
    int fill = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            a[fill] = v[i];
            b[fill] = v[j];
            if (++fill == 4) {
                for (int op = 0; op < 4; op++)
                    check4(&f, op, a, b);
                fill = 0;
            }
        }
    }
    for (; fill > 0 && fill < 4; fill++) {
        a[fill] = 1.0;
        b[fill] = 1.0;
    }
    if (fill == 4)
        for (int op = 0; op < 4; op++)
            check4(&f, op, a, b);
    free(v);
}

/* Every value of a 16-bit format against `count` random values. */
static void every_value(const char *spec, test_rng *rng, size_t count)
{
    nfi_fast f;
    if (!setup(&f, spec))
        return;
    size_t n;
    double *v = format_values(&f.format, &n);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < count; c += 4) {
            double a[4], b[4];
            for (int l = 0; l < 4; l++) {
                a[l] = v[i];
                b[l] = v[rng_below(rng, n)];
            }
            for (int op = 0; op < 4; op++)
                check4(&f, op, a, b);
        }
    }
    free(v);
}

/* A random finite value of f: any binade from below the subnormals to
 * emax, random significand, sometimes a zero or an extreme. */
static double random_value(nfi_fast *f, test_rng *rng)
{
    int p = f->p, emin = f->emin, emax = (int)f->format.emax;
    uint64_t pick = rng_below(rng, 40);
    double sign = rng_below(rng, 2) ? -1.0 : 1.0;
    if (pick == 0)
        return sign * 0.0;
    if (pick == 1)
        return sign * f->max_finite;
    if (pick == 2)
        return sign * ldexp(1.0, emin);
    long e = rng_range(rng, emin - p - 2, emax);
    uint64_t m = rng_next(rng) >> (64 - p);
    double x = sign * ldexp((double)(m | (1ULL << (p - 1))), (int)e - p + 1);
    return nfi_fast_round(f, x);
}

static void random_pairs(const char *spec, test_rng *rng, size_t count)
{
    nfi_fast f;
    if (!setup(&f, spec))
        return;
    for (size_t c = 0; c < count; c += 4) {
        double a[4], b[4];
        for (int l = 0; l < 4; l++) {
            a[l] = random_value(&f, rng);
            b[l] = random_value(&f, rng);
            switch (rng_below(rng, 4)) {
            case 0: /* a tie of the sum, when it is a value */
                b[l] = nfi_fast_round(&f, a[l] * 0x1p-1 *
                                      ldexp(1.0, -f.p + 1));
                break;
            case 1: /* near a: cancellation */
                b[l] = -nfi_fast_round(&f, a[l] * (1.0 + ldexp(
                    (double)rng_below(rng, 4), -f.p + 1)));
                break;
            default:
                break;
            }
        }
        for (int op = 0; op < 4; op++)
            check4(&f, op, a, b);
    }
}

/* nfi_lanes_round_split against the engine's rounding on every tie of
 * the p-bit grid and the binary64 numbers on either side of it: all
 * p-bit significands m for p <= 14, `count` random ones beyond, both
 * signs, at exponents where C v falls into either binade above 2^s v. */
static void split_ties(int p, test_rng *rng, size_t count)
{
    char spec[80];
    snprintf(spec, sizeof spec, "p=%d,emin=-300,emax=300", p);
    nfi_fast f;
    if (!setup(&f, spec))
        return;
    nfi_lanes_sub cs = nfi_lanes_sub_of(&f);
    uint64_t first = 1ULL << (p - 1), span = first;
    size_t n = p <= 14 ? (size_t)span : count;
    for (size_t i = 0; i < n; i++) {
        uint64_t m = p <= 14 ? first + i : first + rng_below(rng, span);
        int e = (int)rng_range(rng, -250, 250);
        /* v = (m + 1/2) 2^(e - p + 1) and its binary64 neighbours */
        double tie = ldexp((double)(2 * m + 1), e - p);
        double v[4] = {tie, nextafter(tie, 0.0), nextafter(tie, INFINITY),
                       -tie};
        nfi_v4d r = nfi_lanes_round_split(&cs, nfi_load4(v));
        for (int l = 0; l < 4; l++) {
            double want = nfi_fast_round(&f, v[l]);
            if (!check_true(same_double(want, r[l]), "split p=%d %a: "
                            "engine %a, split %a", p, v[l], want, r[l]))
                failures_shown++;
        }
    }
    double zeros[4] = {0.0, -0.0, 0.0, -0.0};
    nfi_v4d z = nfi_lanes_round_split(&cs, nfi_load4(zeros));
    for (int l = 0; l < 4; l++)
        check_true(same_double(zeros[l], z[l]), "split p=%d keeps the "
                   "sign of a zero", p);
}

int main(void)
{
    harness_init("test_lanes", 0x6c616e65ULL);
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    static const char *const small[] = {
        "p=2,emin=-3,emax=4",
        "p=3,emin=-6,emax=5",
        "p=4,emin=-6,emax=8",
        "e4m3",
        "e5m2",
        "p=5,emin=-14,emax=15,overflow=saturate",
        "p=8,emin=-6,emax=7",
        "p=7,emin=-10,emax=10,subnormals=off",
        "p=6,emin=-4,emax=5,subnormals=off",
    };
    for (size_t i = 0; i < sizeof small / sizeof *small; i++)
        every_pair(small[i]);
    every_value("binary16", &rng, 64);
    every_value("bfloat16", &rng, 16);
    every_value("binary16,subnormals=off", &rng, 16);
    for (int p = 2; p <= 25; p++)
        split_ties(p, &rng, 20000);
    for (int p = 2; p <= 25; p++) {
        for (int variant = 0; variant < 4; variant++) {
            /* emin from -200 to -1, emax from 1 to 200 (products never
             * underflow binary64), or binary32's range */
            long emin = variant == 0 ? -126 : rng_range(&rng, -200, -1);
            long emax = variant == 0 ? 127 : rng_range(&rng, 1, 200);
            char spec[120];
            snprintf(spec, sizeof spec, "p=%d,emin=%ld,emax=%ld%s", p, emin,
                     emax, variant == 3 ? ",subnormals=off"
                           : variant == 2 ? ",overflow=saturate" : "");
            random_pairs(spec, &rng, 40000);
        }
    }
    return harness_finish();
}
