/* Exhaustive comparison of the fast engine with the MPFR engine on 8-bit
 * formats: one split of sign + X exponent bits + Y fraction bits (X + Y =
 * 7) per run, named on the command line (e2m5, e3m4, e4m3 (OCP: no
 * infinities, largest finite 448), p=4,emin=-6,emax=7 (the IEEE-like
 * 4/3 split), e5m2, e6m1), each with subnormals on and off and overflow
 * to infinity and saturating.  For every mode (rne rna rz ru rd sr):
 *   - every pair of values (both zeros, infinities where present, NaN)
 *     for add sub mul div min max, also through the array forms of add
 *     and mul;
 *   - every value for sqrt exp log cvt neg abs;
 *   - cvt of every value of a finer, wider format (3 more bits, 4 more
 *     binades below and 2 above), which holds every midpoint, the
 *     overflow threshold and the half-way point below the smallest
 *     positive value, also through nfi_fast_round_array;
 *   - 2e5 random triples for fma;
 *   - in SR, cvt exactly at the threshold of the index it takes, and one
 *     binary64 unit below, above every finite value.
 * For SR the fast context's counter gives the index, and the MPFR engine
 * gets u = nfi_sr_bits(seed, index) for the same operation.
 *
 * Why: an 8-bit format is small enough to try everything, and every
 * special path of the fast engine (ties, the subnormal grid, overflow,
 * the reserved top of e4m3) is reached by some pair. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fast.h"
#include "engine_mpfr.h"
#include "harness.h"

#define FMA_SAMPLES 200000

static const nfi_op pair_ops[] = {NFI_OP_ADD, NFI_OP_SUB, NFI_OP_MUL,
                                  NFI_OP_DIV, NFI_OP_MIN, NFI_OP_MAX};
static const nfi_op single_ops[] = {NFI_OP_SQRT, NFI_OP_EXP, NFI_OP_LOG,
                                    NFI_OP_CVT, NFI_OP_NEG, NFI_OP_ABS};

/* The finer, wider format whose values are the cvt operands. */
static nfi_format finer_format(const nfi_format *f)
{
    nfi_format g = *f;
    g.p = f->p + 3;
    g.emin = f->emin - 4;
    g.emax = f->emax + 2;
    g.subnormals = true;
    g.has_inf = true;
    g.reserved_top = 0;
    return g;
}

/* Every pair for op, row by row; for add and mul each row also goes
 * through the array form, from the same stochastic index. */
static void check_pairs(nfi_fast *ctx, nfi_op op, const double *v, size_t n)
{
    double *a_row = malloc(n * sizeof *a_row);
    double *want = malloc(n * sizeof *want);
    double *out = malloc(n * sizeof *out);
    bool array_form = op == NFI_OP_ADD || op == NFI_OP_MUL;
    for (size_t i = 0; i < n; i++) {
        uint64_t row_start = ctx->counter;
        for (size_t j = 0; j < n; j++) {
            a_row[j] = v[i];
            want[j] = check_fast_vs_mpfr(ctx, op, v[i], v[j], 0.0);
        }
        if (!array_form)
            continue;
        nfi_fast arr = *ctx;
        arr.counter = row_start;
        if (op == NFI_OP_ADD)
            nfi_fast_add_array(&arr, n, out, a_row, v);
        else
            nfi_fast_mul_array(&arr, n, out, a_row, v);
        size_t wrong = 0, first = n;
        for (size_t j = 0; j < n; j++) {
            if (!same_double(want[j], out[j])) {
                wrong++;
                if (first == n)
                    first = j;
            }
        }
        if (first < n)
            printf("array %s: %a and %a gave %a, expected %a\n",
                   nfi_op_name(op), v[i], v[first], out[first],
                   want[first]);
        check_true(wrong == 0 && arr.counter == ctx->counter,
                   "array form of %s in mode %s: %zu elements differ in the "
                   "row of %a, counter %llu vs %llu", nfi_op_name(op),
                   nfi_round_name(ctx->mode), wrong, v[i],
                   (unsigned long long)arr.counter,
                   (unsigned long long)ctx->counter);
    }
    free(a_row);
    free(want);
    free(out);
}

/* cvt of every value of the finer format, scalar and array. */
static void check_conversions(nfi_fast *ctx, const double *w, size_t n)
{
    double *want = malloc(n * sizeof *want);
    double *out = malloc(n * sizeof *out);
    uint64_t start = ctx->counter;
    for (size_t j = 0; j < n; j++)
        want[j] = check_fast_vs_mpfr(ctx, NFI_OP_CVT, w[j], 0.0, 0.0);
    nfi_fast arr = *ctx;
    arr.counter = start;
    nfi_fast_round_array(&arr, n, out, w);
    size_t wrong = 0;
    for (size_t j = 0; j < n; j++) {
        if (!same_double(want[j], out[j])) {
            if (wrong++ == 0)
                printf("nfi_fast_round_array: %a gave %a, expected %a\n",
                       w[j], out[j], want[j]);
        }
    }
    check_true(wrong == 0 && arr.counter == ctx->counter,
               "nfi_fast_round_array in mode %s: %zu elements differ",
               nfi_round_name(ctx->mode), wrong);
    free(want);
    free(out);
}

/* SR exactly at the threshold of the index the conversion takes, and one
 * binary64 unit below it, above every finite value lo of the format:
 * x = lo + q (2^32 - u) / 2^32 goes away from zero, the value below does
 * not (x is exact: p + 32 bits). */
static void check_sr_thresholds(nfi_fast *ctx, const double *v, size_t n)
{
    double max = nfi_format_max_finite_d(&ctx->format);
    for (size_t i = 0; i < n; i++) {
        double lo = v[i];
        if (!isfinite(lo))
            continue;
        double q = format_ulp(&ctx->format, lo);
        double sign = signbit(lo) ? -1.0 : 1.0;
        bool overflows = fabs(lo) + q > max;
        for (int below = 0; below < 2; below++) {
            uint32_t u = nfi_sr_bits(ctx->seed, ctx->counter);
            double x = lo + sign * q * ldexp((double)(0x100000000ULL - u),
                                              -32);
            if (below)
                x = nextafter(x, lo);
            double got = check_fast_vs_mpfr(ctx, NFI_OP_CVT, x, 0, 0);
            if (overflows)
                continue; /* the overflow value is checked elsewhere */
            double want = below || same_double(x, lo) ? lo : lo + sign * q;
            double operands[3] = {x, 0, 0};
            check_op(below ? "SR one unit below its threshold"
                           : "SR at its threshold", &ctx->format,
                     NFI_ROUND_SR, NFI_OP_CVT, operands, want, got);
        }
    }
}

static void check_format(const char *spec, test_rng *rng)
{
    nfi_format f = harness_format(spec);
    size_t n, n_fine;
    double *v = format_values(&f, &n);
    nfi_format g = finer_format(&f);
    double *w = format_values(&g, &n_fine);
    for (int m = 0; m < NFI_ROUND_COUNT; m++) {
        nfi_fast ctx;
        uint64_t seed = harness_seed() + (uint64_t)m;
        if (!check_true(nfi_fast_init(&ctx, &f, (nfi_round)m, seed, NULL) ==
                        0, "fast engine refuses %s", spec))
            continue;
        for (size_t k = 0; k < sizeof pair_ops / sizeof pair_ops[0]; k++)
            check_pairs(&ctx, pair_ops[k], v, n);
        for (size_t k = 0; k < sizeof single_ops / sizeof single_ops[0];
             k++) {
            for (size_t i = 0; i < n; i++)
                check_fast_vs_mpfr(&ctx, single_ops[k], v[i], 0.0, 0.0);
        }
        check_conversions(&ctx, w, n_fine);
        if (m == NFI_ROUND_SR)
            check_sr_thresholds(&ctx, v, n);
        for (long i = 0; i < FMA_SAMPLES; i++) {
            double a = v[rng_below(rng, n)], b = v[rng_below(rng, n)];
            double c = v[rng_below(rng, n)];
            check_fast_vs_mpfr(&ctx, NFI_OP_FMA, a, b, c);
        }
    }
    free(v);
    free(w);
}

int main(int argc, char **argv)
{
    static const char *const splits[] = {"e2m5", "e3m4", "e4m3",
                                         "p=4,emin=-6,emax=7", "e5m2",
                                         "e6m1"};
    static const char *const options[] = {"", ",subnormals=off",
                                          ",overflow=saturate",
                                          ",subnormals=off,overflow=saturate"};
    harness_init("test_exhaustive8", 1);
    size_t first = 0, last = sizeof splits / sizeof splits[0];
    if (argc > 1) {
        /* One split, by name, so that a build runs them in parallel. */
        for (first = 0; first < last; first++) {
            if (strcmp(argv[1], splits[first]) == 0)
                break;
        }
        if (!check_true(first < last, "unknown split '%s'", argv[1]))
            return harness_finish();
        last = first + 1;
    }
    for (size_t s = first; s < last; s++) {
        for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
            char spec[96];
            snprintf(spec, sizeof spec, "%s%s", splits[s], options[o]);
            test_rng rng;
            rng_init(&rng, harness_seed(), s * 16 + o);
            check_format(spec, &rng);
        }
    }
    return harness_finish();
}
