/* Distances in ulps (sim/trace/ulps.h): the ordinal formula against
 * counting the values of the format one by one (binary16, bfloat16, a
 * 3-bit format with and without subnormals), against the bit patterns
 * for binary64, and the rules for zeros, NaN and infinities.
 *
 * Why: nfi diff reports where two runs part in these units; a wrong
 * distance would point at the wrong step. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "trace/ulps.h"

/* Random finite values of f (an index into its sorted values). */
static void against_count(const char *spec, int pairs)
{
    nfi_format f = harness_format(spec);
    size_t n;
    double *v = format_values(&f, &n);
    test_rng r;
    rng_init(&r, harness_seed(), (uint64_t)f.p);
    for (int k = 0; k < pairs; k++) {
        size_t i = (size_t)rng_below(&r, n), j = (size_t)rng_below(&r, n);
        /* nearby pairs mostly, so that counting stays quick */
        if (k % 4 != 0) {
            long step = rng_range(&r, -300, 300);
            long jj = (long)i + step;
            j = jj < 0 ? 0 : jj >= (long)n ? n - 1 : (size_t)jj;
        } else if (fabs(v[i]) > 1e3 || fabs(v[j]) > 1e3) {
            continue;
        }
        double a = v[i], b = v[j];
        if (!isfinite(a) || !isfinite(b))
            continue;
        double fast = nfi_ulp_distance(a, b, &f);
        double slow = nfi_ulp_distance_count(a, b, &f);
        check_true(fast == slow, "%s: d(%a, %a) = %.17g, counted %.17g",
                   spec, a, b, fast, slow);
    }
    free(v);
}

static void binary64(void)
{
    nfi_format f = harness_format("binary64");
    test_rng r;
    rng_init(&r, harness_seed(), 64);
    for (int k = 0; k < 100000; k++) {
        uint64_t x = rng_next(&r) >> 1, y = x + rng_below(&r, 1u << 20);
        if (y >= 0x7ff0000000000000ULL)
            continue;
        double a, b;
        memcpy(&a, &x, 8);
        memcpy(&b, &y, 8);
        check_true(nfi_ulp_distance(a, b, &f) == (double)(y - x),
                   "binary64: d(%a, %a) is the bit distance %llu", a, b,
                   (unsigned long long)(y - x));
        check_true(nfi_ulp_distance(-a, -b, &f) == (double)(y - x),
                   "binary64: symmetric in sign");
        check_true(nfi_ulp_distance(-a, b, &f) == (double)(x + y),
                   "binary64: across zero");
    }
}

static void specials(void)
{
    nfi_format f = harness_format("bfloat16");
    check_true(nfi_ulp_distance(NAN, -NAN, &f) == 0, "NaN, NaN: 0");
    check_true(isinf(nfi_ulp_distance(NAN, 1, &f)), "NaN, 1: inf");
    check_true(isinf(nfi_ulp_distance(INFINITY, 1e38, &f)), "inf, x: inf");
    check_true(isinf(nfi_ulp_distance(INFINITY, -INFINITY, &f)),
               "inf, -inf: inf");
    check_true(nfi_ulp_distance(INFINITY, INFINITY, &f) == 0, "inf, inf");
    check_true(nfi_ulp_distance(0.0, -0.0, &f) == 0, "+0, -0");
    check_true(nfi_ulp_distance(1, 1 + 0x1p-8, &f) == 0.5,
               "half an ulp of bfloat16 at 1: %.17g",
               nfi_ulp_distance(1, 1 + 0x1p-8, &f));
    check_true(nfi_ulp_distance(1, 1 + 0x1p-7, &f) == 1, "one ulp at 1");
    check_true(nfi_ulp_distance(1 - 0x1p-8, 1, &f) == 1, "one ulp below 1");
    check_true(nfi_rel_error(NAN, NAN) == 0 && nfi_rel_error(2, 1) == 0.5 &&
               isinf(nfi_rel_error(NAN, 0)) && nfi_rel_error(0, 0) == 0,
               "relative error");
    nfi_format b32 = harness_format("binary32");
    check_true(nfi_format_coarser(&f, &b32) == &f &&
               nfi_format_coarser(&b32, &f) == &f, "coarser: bfloat16");
}

int main(void)
{
    harness_init("test_ulps", 1);
    against_count("binary16", 20000);
    against_count("bfloat16", 20000);
    against_count("p=3,emin=-3,emax=3", 20000);
    against_count("p=3,emin=-3,emax=3,subnormals=off", 20000);
    binary64();
    specials();
    return harness_finish();
}
