/* Tests of sim/matmul_fast: the row-at-a-time kernels against the
 * element-by-element definition.
 *
 * For each case, nfi_matmul and nfi_column_sums on fast handles (which
 * take the kernels where they apply) are compared bit for bit with
 *   1. the same calls on MPFR reference handles (the slow twin), and
 *   2. the definition written out here element by element on the fast
 *      engine: nfi_reduce_dot, then the bias added, then the cast.
 * Formats reach every kernel: binary32 and binary64 (hardware), bfloat16,
 * p = 20 with binary32's range, e5m2 (plain RNE arrays), p = 40 (arrays
 * with error-free transformations), p = 53 with a small range (scalar
 * operations inside the arrays); operands include zeros of both signs,
 * values near overflow and underflow, an infinity and a NaN; strided
 * (transposed) views, with and without a bias, outputs cast into another
 * format, and inner sizes 1 to 40.  Other modes and orders must give the
 * same results through the element loop (the kernels decline them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "matmul.h"

static uint64_t rng_state;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Operand regimes: MIXED as below; MODERATE: no huge value, so that the
 * fused kernel's overflow bound holds (its unflagged instance); TINY:
 * every operand near 2^emin, so that most products and many sums land
 * among the subnormals (or round to zeros of either sign); NO_TINY:
 * moderate values and zeros only, no product below 2^emin (the instance
 * that rounds products by bits); NEAR_MIN: +-1 and +-1.5 times
 * 2^ceil(emin / 2), so that products are at least 2^emin (no tiny
 * product) but sums cancel to non-zero values below 2^emin (subnormal,
 * or flagged when the format has no subnormals). */
enum { MIXED, MODERATE, TINY, NO_TINY, NEAR_MIN };
static int regime = MIXED;

/* A value of acc's format: mostly moderate, sometimes zero, huge, tiny
 * or (when `special`) infinite or NaN. */
static double random_value(nfi_arith *round, bool special)
{
    uint64_t r = next_random();
    double u = (double)(r >> 11) * 0x1p-53 - 0.5;
    if (regime == TINY)
        return nfi_arith_round(round, u * ldexp(1.0, round->fast.emin / 2 +
                                                     (int)(r % 5)));
    if (regime == MODERATE && r % 37 == 2)
        return nfi_arith_round(round, u * 1e3);
    if (regime == NEAR_MIN) {
        int half = -((-round->fast.emin) / 2); /* ceil(emin / 2) */
        double m = (r >> 8) % 2 ? 1.5 : 1.0;
        return ldexp(r % 2 ? -m : m, half);
    }
    if (regime == NO_TINY && (r % 37 == 2 || r % 37 == 3))
        return r % 2 ? 0.5 : -0.0;
    switch (r % 37) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return nfi_arith_round(round, u * round->fast.max_finite);
    case 3: return nfi_arith_round(round, u * ldexp(1.0,
                                                   round->fast.emin + 1));
    case 4: return special ? INFINITY : 1.0;
    case 5: return special ? NAN : -1.0;
    default: return nfi_arith_round(round, u * 6.0);
    }
}

static bool init_handle(nfi_arith *a, const char *spec, nfi_round mode,
                        bool reference)
{
    nfi_format f;
    nfi_error err;
    if (nfi_format_parse(spec, &f, &err) != 0 ||
        nfi_arith_init(a, &f, mode, 3, reference, &err) != 0)
        return check_true(false, "setup %s: %s", spec, err.message);
    return true;
}

/* The definition, element by element, on the handles given. */
static void by_element(nfi_arith *acc, nfi_arith *out,
                       const nfi_reduction *order, size_t m, size_t n,
                       size_t k, nfi_matrix_view a, nfi_matrix_view b,
                       const double *bias, double *c)
{
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double s = nfi_reduce_dot(acc, order, k,
                                      a.data + (ptrdiff_t)i * a.stride_row,
                                      a.stride_k,
                                      b.data + (ptrdiff_t)j * b.stride_row,
                                      b.stride_k);
            if (bias != NULL)
                s = nfi_arith_add(acc, s, bias[j]);
            c[i * n + j] = nfi_arith_cast(out, &acc->fast.format, s);
        }
    }
}

static void compare(const char *what, const char *label, const double *want,
                    const double *got, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!check_true(same_double(want[i], got[i]), "%s %s: element "
                        "%zu: expected %a, kernel %a", what, label, i,
                        want[i], got[i]))
            return;
    }
}

static void run_case_m(const char *acc_spec, const char *out_spec,
                       nfi_round mode, const char *order_text, size_t M,
                       size_t k, bool transposed, bool with_bias,
                       bool special)
{
    enum { MAX_M = 9, N = 11 };
    nfi_arith acc, out, acc_ref, out_ref, acc_el, out_el, rne;
    nfi_reduction order;
    nfi_error err;
    if (nfi_reduction_parse(order_text, &order, &err) != 0 ||
        !init_handle(&acc, acc_spec, mode, false) ||
        !init_handle(&out, out_spec, mode, false) ||
        !init_handle(&acc_ref, acc_spec, mode, true) ||
        !init_handle(&out_ref, out_spec, mode, true) ||
        !init_handle(&acc_el, acc_spec, mode, false) ||
        !init_handle(&out_el, out_spec, mode, false) ||
        !init_handle(&rne, acc_spec, NFI_ROUND_RNE, false))
        return;
    char label[200];
    snprintf(label, sizeof label, "acc %s out %s %s %s m=%zu k=%zu%s%s%s "
             "regime %d", acc_spec, out_spec, nfi_round_name(mode),
             order_text, M, k,
             transposed ? " transposed" : "", with_bias ? " bias" : "",
             special ? " special" : "", regime);

    double *a = malloc(M * k * sizeof *a), *b = malloc(N * k * sizeof *b);
    double bias[N], want[MAX_M * N], twin[MAX_M * N], got[MAX_M * N];
    for (size_t i = 0; i < M * k; i++)
        a[i] = random_value(&rne, special);
    for (size_t i = 0; i < N * k; i++)
        b[i] = random_value(&rne, special);
    for (size_t j = 0; j < N; j++)
        bias[j] = random_value(&rne, false);
    /* A[i, k] row-major (M, k), or stored transposed as (k, M). */
    nfi_matrix_view av = transposed
        ? (nfi_matrix_view){a, 1, M, NULL}
        : (nfi_matrix_view){a, (ptrdiff_t)k, 1, NULL};
    nfi_matrix_view bv = transposed
        ? (nfi_matrix_view){b, 1, N, NULL}
        : (nfi_matrix_view){b, (ptrdiff_t)k, 1, NULL};
    const double *bp = with_bias ? bias : NULL;
    const nfi_format *bf = with_bias ? &acc.fast.format : NULL;

    int s0 = nfi_matmul(&acc, &out, &order, M, N, k, av, bv, bp, bf, got);
    int s1 = nfi_matmul(&acc_ref, &out_ref, &order, M, N, k, av, bv, bp, bf,
                        twin);
    by_element(&acc_el, &out_el, &order, M, N, k, av, bv, bp, want);
    check_true(s0 == 0 && s1 == 0, "%s: status %d %d", label, s0, s1);
    compare("matmul vs definition", label, want, got, M * N);
    compare("matmul vs mpfr twin", label, twin, got, M * N);

    /* Column sums of a (k rows, M columns, row-major as stored when
     * transposed). */
    double sums[MAX_M], sums_ref[MAX_M], sums_el[MAX_M];
    nfi_column_sums(&acc, &out, &order, k, M, a, sums);
    nfi_column_sums(&acc_ref, &out_ref, &order, k, M, a, sums_ref);
    for (size_t j = 0; j < M; j++)
        sums_el[j] = nfi_arith_cast(&out_el, &acc_el.fast.format,
                                    nfi_reduce_sum(&acc_el, &order, k,
                                                   a + j, M));
    compare("column sums vs definition", label, sums_el, sums, M);
    compare("column sums vs mpfr twin", label, sums_ref, sums, M);
    free(a);
    free(b);
}

/* Column sums of a (rows x cols) matrix, cols up to 40 (the fused sums
 * take 16, 4 and 1 columns at a time), against the definition and the
 * MPFR twin. */
static void run_column_sums(const char *spec, size_t rows, size_t cols)
{
    nfi_arith acc, ref, el;
    nfi_reduction order;
    nfi_error err;
    if (nfi_reduction_parse("sequential", &order, &err) != 0 ||
        !init_handle(&acc, spec, NFI_ROUND_RNE, false) ||
        !init_handle(&ref, spec, NFI_ROUND_RNE, true) ||
        !init_handle(&el, spec, NFI_ROUND_RNE, false))
        return;
    char label[160];
    snprintf(label, sizeof label, "%s rows %zu cols %zu regime %d", spec,
             rows, cols, regime);
    double *x = malloc(rows * cols * sizeof *x);
    double got[40], twin[40], want[40];
    for (size_t i = 0; i < rows * cols; i++)
        x[i] = random_value(&acc, regime == MIXED);
    nfi_column_sums(&acc, &acc, &order, rows, cols, x, got);
    nfi_column_sums(&ref, &ref, &order, rows, cols, x, twin);
    for (size_t j = 0; j < cols; j++)
        want[j] = nfi_reduce_sum(&el, &order, rows, x + j, (ptrdiff_t)cols);
    compare("column sums vs definition", label, want, got, cols);
    compare("column sums vs mpfr twin", label, twin, got, cols);
    free(x);
}

static void run_case(const char *acc_spec, const char *out_spec,
                     nfi_round mode, const char *order_text, size_t k,
                     bool transposed, bool with_bias, bool special)
{
    run_case_m(acc_spec, out_spec, mode, order_text, 7, k, transposed,
               with_bias, special);
}

/* Skipping zero terms (sim/matmul_fast.c, compact_row): operands with
 * many zeros of both signs, drawn from small values so that sums cancel
 * to zeros often; kinds of rows and columns:
 *   0  random, half the terms zeros of either sign;
 *   1  all zeros (rows) of both signs;
 *   2  only -0 (a row of -0 times positive b gives -0 terms only);
 *   3  zeros but for one value and its negation, so that the sum cancels
 *      to +0 with zeros before, between and after;
 *   4  a single non-zero term, the rest +0 (its sum of a non-zero b-side
 *      -0 product and skipped +0 products has a sign the skip changes:
 *      +0 + -0 = +0, while -0 alone is -0);
 *   5  random with an infinity or a NaN among b's values where a is zero
 *      (0 * inf = NaN: skipping must not apply).
 * The product is taken both ways round (zeros in a, and zeros in b with
 * no bias, where the kernels compute the transposed product), against
 * the definition and the MPFR twin, bit for bit (NaN-aware).  Formats
 * p = 2..52 with binary32's range (p = 24 is binary32 itself), binary32,
 * binary64 (the native kernels, which do not skip) and a format without
 * subnormals. */
static double small_value(nfi_arith *round, int kind, size_t t,
                          size_t k)
{
    uint64_t r = next_random();
    static const double pick[] = {1.0, -1.0, 0.5, 1.5, -2.0, 3.0, -0.75};
    double v = ldexp(pick[r % 7], (int)((r >> 8) % 5) - 2);
    bool zero = (r >> 16) % 2 == 0;
    double z = (r >> 20) % 2 ? -0.0 : 0.0;
    switch (kind) {
    case 1: return z;
    case 2: return -0.0;
    case 3: return t == k / 3 ? 1.0 : t == (2 * k) / 3 + 1 ? -1.0 : z;
    case 4: return t == k / 2 ? 1.0 : 0.0;
    default: return zero ? z : nfi_arith_round(round, v);
    }
}

static void run_skip_case(const char *spec, size_t M, size_t N, size_t k,
                          bool zeros_in_b, bool with_bias, bool special,
                          int scale, bool small_row)
{
    enum { MAX_M = 9, MAX_N = 40 };
    nfi_arith acc, ref, el;
    nfi_reduction order;
    nfi_error err;
    if (nfi_reduction_parse("sequential", &order, &err) != 0 ||
        !init_handle(&acc, spec, NFI_ROUND_RNE, false) ||
        !init_handle(&ref, spec, NFI_ROUND_RNE, true) ||
        !init_handle(&el, spec, NFI_ROUND_RNE, false))
        return;
    char label[200];
    snprintf(label, sizeof label, "skip %s m=%zu n=%zu k=%zu%s%s%s%s "
             "scale 2^%d", spec, M, N, k, zeros_in_b ? " zeros in b" : "",
             with_bias ? " bias" : "", special ? " special" : "",
             small_row ? " small row" : "", scale);
    double *a = malloc(M * k * sizeof *a), *b = malloc(N * k * sizeof *b);
    double bias[MAX_N], want[MAX_M * MAX_N], twin[MAX_M * MAX_N];
    double got[MAX_M * MAX_N];
    /* z: the operand with the zeros (kinds 0-4 by row), o: the other
     * (small values, some -0, and with `special` an infinity and a NaN
     * at a column where z is mostly zero). */
    double *z = zeros_in_b ? b : a, *o = zeros_in_b ? a : b;
    size_t zr = zeros_in_b ? N : M, orows = zeros_in_b ? M : N;
    for (size_t i = 0; i < zr; i++)
        for (size_t t = 0; t < k; t++)
            z[i * k + t] = ldexp(small_value(&acc, (int)(i % 5), t, k),
                                 scale / 2);
    for (size_t i = 0; i < orows; i++)
        for (size_t t = 0; t < k; t++) {
            double v = ldexp(small_value(&acc, 0, t, k), scale - scale / 2);
            if (scale != 0) /* all p bits, so that the grid below 2^emin
                               shows in the sums */
                v = nfi_arith_round(&acc, v * (1.0 + 0x1p-53 *
                                               (double)(next_random() >>
                                                        11)));
            o[i * k + t] = v == 0.0 ? -0.0 : fabs(v) * (i % 3 ? 1 : -1);
        }
    /* Row 0 of a scaled far down: its products fall below 2^emin, so
     * that the product as a whole needs the range watch or the
     * subnormal lanes and the other rows do not. */
    for (size_t t = 0; small_row && t < k; t++)
        a[t] = nfi_arith_round(&acc, ldexp(a[t], -140));
    if (special) {
        o[(orows - 1) * k + k / 2] = INFINITY;
        o[k - 1] = NAN;
    }
    for (size_t j = 0; j < N; j++)
        bias[j] = j % 3 ? 0.0 : nfi_arith_round(&acc, ldexp(small_value(
                                    &acc, 0, j, N), scale));
    nfi_matrix_view av = {a, (ptrdiff_t)k, 1, NULL};
    nfi_matrix_view bv = {b, (ptrdiff_t)k, 1, NULL};
    const double *bp = with_bias ? bias : NULL;
    const nfi_format *bf = with_bias ? &acc.fast.format : NULL;
    int s0 = nfi_matmul(&acc, &acc, &order, M, N, k, av, bv, bp, bf, got);
    int s1 = nfi_matmul(&ref, &ref, &order, M, N, k, av, bv, bp, bf, twin);
    by_element(&el, &el, &order, M, N, k, av, bv, bp, want);
    check_true(s0 == 0 && s1 == 0, "%s: status %d %d", label, s0, s1);
    compare("skip vs definition", label, want, got, M * N);
    compare("skip vs mpfr twin", label, twin, got, M * N);
    free(a);
    free(b);
}

static void run_skip_cases(void)
{
    static const size_t ks[] = {1, 2, 5, 16, 33, 70};
    char spec[80];
    for (int p = 1; p <= 54; p++) {
        if (p == 1)
            snprintf(spec, sizeof spec, "binary32");
        else if (p == 53)
            snprintf(spec, sizeof spec, "binary64");
        else if (p == 54)
            snprintf(spec, sizeof spec, "p=12,emin=-20,emax=20,"
                     "subnormals=off");
        else
            snprintf(spec, sizeof spec, "p=%d,emin=-126,emax=127", p);
        for (size_t s = 0; s < sizeof ks / sizeof *ks; s++)
            for (int variant = 0; variant < 24; variant++)
                run_skip_case(spec, 1 + (size_t)(variant + (int)s) % 9,
                              s % 2 ? 23 : 11, ks[s], variant & 1,
                              (variant & 2) && !(variant & 1),
                              variant & 4, 0, false);
        /* Variants 0-7: products near and below 2^-126 (binary32's
         * range), results in the subnormal range, so that the kernels'
         * range watch moves to the subnormal lanes part-way through a
         * product.  Variants 8-15: one row of a small, the others not:
         * the rows' own range proofs (rows of a taken apart when the
         * whole product fails). */
        if (p >= 2 && p <= 52)
            for (size_t s = 0; s < sizeof ks / sizeof *ks; s++)
                for (int variant = 0; variant < 16; variant++)
                    run_skip_case(spec, 9, s % 2 ? 23 : 11, ks[s],
                                  variant & 1,
                                  (variant & 2) && !(variant & 1),
                                  variant & 4,
                                  variant >= 8 ? 0
                                  : variant < 4 ? -128 : -124,
                                  variant >= 8);
    }
}

int main(void)
{
    harness_init("test_matmul_fast", 0x6d61746dULL);
    rng_state = harness_seed() | 1;
    run_skip_cases();
    static const char *const pairs[][2] = {
        {"binary32", "binary32"},
        {"binary64", "binary64"},
        {"bfloat16", "bfloat16"},
        {"p=20,emin=-126,emax=127", "p=20,emin=-126,emax=127"},
        {"e5m2", "e5m2"},
        {"p=40,emin=-126,emax=127", "p=40,emin=-126,emax=127"},
        {"p=53,emin=-20,emax=20", "p=53,emin=-20,emax=20"},
        {"binary32", "bfloat16"},
        {"binary64", "binary32"},
        {"bfloat16", "p=6,emin=-4,emax=5,subnormals=off"},
    };
    static const size_t sizes[] = {1, 2, 3, 8, 17, 40};
    for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (int variant = 0; variant < 8; variant++)
                run_case(pairs[p][0], pairs[p][1], NFI_ROUND_RNE,
                         "sequential", sizes[s], variant & 1, variant & 2,
                         variant & 4);
    /* Declined cases go through the element loop and must still agree. */
    static const nfi_round others[] = {NFI_ROUND_RZ, NFI_ROUND_RNA,
                                       NFI_ROUND_SR};
    for (size_t p = 0; p < 4; p++)
        for (size_t r = 0; r < 3; r++)
            run_case(pairs[p][0], pairs[p][1], others[r], "sequential", 17,
                     true, true, false);
    for (size_t p = 0; p < 4; p++)
        run_case(pairs[p][0], pairs[p][1], NFI_ROUND_RNE, "lanes:8", 40,
                 false, true, false);
    /* The fused RNE p <= 25 kernels: p from 2 to 25, subnormals on (the
     * lanes round them) and off (flagged), overflow to infinity and
     * saturating; 1 to 9 rows (the kernels take up to four at a time);
     * operands in the three regimes: MIXED overflows and meets
     * infinities and NaN (flagged rows recomputed), MODERATE keeps the
     * overflow bound (no flags at all), TINY gives subnormal results. */
    static const char *const plain[] = {
        "p=2,emin=-3,emax=4", "p=3,emin=-6,emax=5", "e4m3",
        "p=5,emin=-14,emax=15,overflow=saturate",
        "p=8,emin=-126,emax=127", "binary16",
        "p=12,emin=-126,emax=127", "p=16,emin=-126,emax=127",
        "p=20,emin=-126,emax=127", "p=20,emin=-126,emax=127,subnormals=off",
        "p=23,emin=-60,emax=60", "p=25,emin=-126,emax=127",
        "p=25,emin=-200,emax=900", "p=6,emin=-4,emax=5,subnormals=off",
        "p=12,emin=-20,emax=20,subnormals=off",
    };
    static const size_t rows[] = {1, 2, 3, 4, 5, 9};
    for (regime = MIXED; regime <= NEAR_MIN; regime++)
        for (size_t p = 0; p < sizeof plain / sizeof *plain; p++)
            for (size_t r = 0; r < sizeof rows / sizeof *rows; r++)
                for (int variant = 0; variant < 8; variant++)
                    run_case_m(plain[p], plain[p], NFI_ROUND_RNE,
                               "sequential", rows[r],
                               sizes[(r + (size_t)variant) % 6],
                               variant & 1, variant & 2,
                               regime == MIXED && (variant & 4));
    static const size_t widths[] = {3, 16, 21, 37, 40};
    for (regime = MIXED; regime <= NEAR_MIN; regime++)
        for (size_t p = 0; p < sizeof plain / sizeof *plain; p++)
            for (size_t c = 0; c < sizeof widths / sizeof *widths; c++)
                for (size_t r = 1; r <= 33; r += 8)
                    run_column_sums(plain[p], r, widths[c]);
    return harness_finish();
}
