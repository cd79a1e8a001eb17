/* Exhaustive comparison of the fast engine with the MPFR engine on one
 * 16-bit format per run (binary16 or bfloat16, named on the command
 * line), in every mode including SR:
 *   - every value of the format as the argument of sqrt, exp and log;
 *   - every value converted (cvt) into other formats: e5m2, e4m3 (also
 *     saturating), e5m2 without subnormals, p=5,emin=-10,emax=10, and the
 *     other 16-bit format (binary16 <-> bfloat16);
 *   - a million binary64 values per mode converted into the format:
 *     random bit patterns (every binade, most of them far outside the
 *     format), random values in and around the format's range, the
 *     midpoints of the format's grid and their neighbours up to 2
 *     binary64 units away, the overflow threshold and the half-way point
 *     below the smallest positive value; each batch also goes through
 *     nfi_fast_round_array from the same stochastic index.
 *
 * Why: these are the conversions and elementary functions a
 * low-precision training run performs most; exp and log go through the
 * fast engine's enclosure-and-fallback path, whose failure would only
 * show near a rounding boundary, and every value of the format is tried. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fast.h"
#include "engine_mpfr.h"
#include "harness.h"

#define BINARY64_SAMPLES_PER_MODE 1000000

static void check_functions(const nfi_format *f, const double *v, size_t n)
{
    static const nfi_op ops[] = {NFI_OP_SQRT, NFI_OP_EXP, NFI_OP_LOG};
    for (int m = 0; m < NFI_ROUND_COUNT; m++) {
        nfi_fast ctx;
        nfi_fast_init(&ctx, f, (nfi_round)m, harness_seed() + (uint64_t)m,
                      NULL);
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            for (size_t i = 0; i < n; i++)
                check_fast_vs_mpfr(&ctx, ops[k], v[i], 0.0, 0.0);
        }
    }
}

static void check_conversions_out(const char *source, const double *v,
                                  size_t n)
{
    static const char *const targets[] = {
        "e5m2", "e4m3", "e4m3,overflow=saturate", "e5m2,subnormals=off",
        "p=5,emin=-10,emax=10", "binary16", "bfloat16"};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        if (strcmp(targets[t], source) == 0)
            continue;
        nfi_format g = harness_format(targets[t]);
        for (int m = 0; m < NFI_ROUND_COUNT; m++) {
            nfi_fast ctx;
            nfi_fast_init(&ctx, &g, (nfi_round)m, harness_seed() + 7 * t +
                          (uint64_t)m, NULL);
            for (size_t i = 0; i < n; i++)
                check_fast_vs_mpfr(&ctx, NFI_OP_CVT, v[i], 0.0, 0.0);
        }
    }
}

/* A binary64 value of one of the kinds listed at the top. */
static double binary64_sample(test_rng *rng, const nfi_format *f,
                              const double *v, size_t n)
{
    double max = nfi_format_max_finite_d(f);
    double tiny = nfi_format_min_positive_d(f);
    double x;
    switch (rng_below(rng, 8)) {
    case 0: {
        uint64_t bits = rng_next(rng);
        memcpy(&x, &bits, sizeof x);
        return x;
    }
    case 1:
    case 2: {
        int e = (int)rng_range(rng, f->emin - f->p - 3, f->emax + 2);
        x = ldexp(1.0 + rng_unit(rng), e);
        break;
    }
    case 3:
    case 4:
    case 5: {
        /* A midpoint of two neighbours of the format, give or take up to
         * two binary64 units. */
        size_t i = 1 + rng_below(rng, n - 3);
        double a = v[i], b = v[i + 1];
        if (!isfinite(a) || !isfinite(b))
            return a;
        x = a / 2 + b / 2; /* exact: far from binary64's limits */
        for (int k = (int)rng_range(rng, -2, 2); k != 0; k += k > 0 ? -1 : 1)
            x = nextafter(x, k > 0 ? INFINITY : -INFINITY);
        return x;
    }
    case 6: {
        /* The overflow threshold max + half a step, and the half-way
         * point below the smallest positive value. */
        double step = format_ulp(f, max);
        x = rng_below(rng, 2) ? max + step / 2 : tiny / 2;
        for (int k = (int)rng_range(rng, -2, 2); k != 0; k += k > 0 ? -1 : 1)
            x = nextafter(x, k > 0 ? INFINITY : -INFINITY);
        break;
    }
    default: {
        static const double specials[] = {0.0, INFINITY, NAN, 0x1p-1074,
                                          0x1.fffffffffffffp+1023,
                                          0x1p-1022};
        x = specials[rng_below(rng, 6)];
        break;
    }
    }
    return rng_below(rng, 2) ? -x : x;
}

static void check_conversions_in(const nfi_format *f, const double *v,
                                 size_t n, test_rng *rng)
{
    enum { BATCH = 4096 };
    static double x[BATCH], want[BATCH], out[BATCH];
    for (int m = 0; m < NFI_ROUND_COUNT; m++) {
        nfi_fast ctx;
        nfi_fast_init(&ctx, f, (nfi_round)m, harness_seed() + 100 +
                      (uint64_t)m, NULL);
        for (long done = 0; done < BINARY64_SAMPLES_PER_MODE;
             done += BATCH) {
            uint64_t start = ctx.counter;
            for (int i = 0; i < BATCH; i++) {
                x[i] = binary64_sample(rng, f, v, n);
                want[i] = check_fast_vs_mpfr(&ctx, NFI_OP_CVT, x[i], 0.0,
                                             0.0);
            }
            nfi_fast arr = ctx;
            arr.counter = start;
            nfi_fast_round_array(&arr, BATCH, out, x);
            int wrong = 0;
            for (int i = 0; i < BATCH; i++) {
                if (!same_double(want[i], out[i]) && wrong++ == 0)
                    printf("nfi_fast_round_array, mode %s: %a gave %a, "
                           "expected %a\n", nfi_round_name((nfi_round)m),
                           x[i], out[i], want[i]);
            }
            check_true(wrong == 0, "nfi_fast_round_array in mode %s: %d of "
                       "%d elements differ", nfi_round_name((nfi_round)m),
                       wrong, BATCH);
        }
    }
}

int main(int argc, char **argv)
{
    harness_init("test_exhaustive16", 1);
    const char *source = argc > 1 ? argv[1] : "binary16";
    if (!check_true(strcmp(source, "binary16") == 0 ||
                    strcmp(source, "bfloat16") == 0, "unknown format '%s': "
                    "binary16 or bfloat16", source))
        return harness_finish();
    nfi_format f = harness_format(source);
    size_t n;
    double *v = format_values(&f, &n);
    check_functions(&f, v, n);
    check_conversions_out(source, v, n);
    test_rng rng;
    rng_init(&rng, harness_seed(), strcmp(source, "binary16") == 0 ? 1 : 2);
    check_conversions_in(&f, v, n, &rng);
    free(v);
    return harness_finish();
}
