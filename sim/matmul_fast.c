/* nfi: row-at-a-time matrix products for RNE.  See matmul_fast.h for why
 * the results are those of the element-by-element loop. */
#include "matmul_fast.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "lanes.h"
#include "matmul_wide.h"

/* Which arithmetic performs the operations. */
typedef enum { KERNEL_NONE, KERNEL_BINARY32, KERNEL_BINARY64,
               KERNEL_PLAIN, KERNEL_ARRAYS,
               KERNEL_WIDE } kernel_kind;

static kernel_kind choose(const nfi_arith *acc, const nfi_arith *out,
                          const nfi_reduction *order, size_t terms)
{
    if (acc->reference || out->reference || terms == 0 ||
        order->kind != NFI_REDUCTION_SEQUENTIAL ||
        acc->fast.mode != NFI_ROUND_RNE)
        return KERNEL_NONE;
    if (!nfi_format_equal(&out->fast.format, &acc->fast.format) &&
        out->fast.mode != NFI_ROUND_RNE)
        return KERNEL_NONE; /* the cast would take stochastic indices */
    if (acc->fast.native_width == 32)
        return KERNEL_BINARY32;
    if (acc->fast.native_width == 64)
        return KERNEL_BINARY64;
    /* The fused kernel's padding columns make zero products, which it
     * only accepts when no non-zero product can underflow. */
    if (acc->fast.plain_rne && acc->fast.products_never_tiny)
        return KERNEL_PLAIN;
    if (nfi_matmul_wide_applies(&acc->fast))
        return KERNEL_WIDE; /* 26 <= p <= 52: sim/matmul_wide.h */
    return KERNEL_ARRAYS;
}

/* Rounds a row of accumulator values into the output role, in place. */
static void cast_row(nfi_arith *acc, nfi_arith *out, size_t n, double *row)
{
    if (out != acc && !nfi_format_equal(&out->fast.format,
                                        &acc->fast.format))
        nfi_fast_round_array(&out->fast, n, row, row);
}

/* The kernels: row i of c from row i of a (m x k, contiguous) and bt = b
 * transposed (k x w, contiguous, w >= n a multiple of the block, the
 * columns beyond n zero); sums[j] runs through a[i][0] bt[0][j],
 * + a[i][1] bt[1][j], ..., + bias[j] (bias padded to w too).  Columns
 * are taken a block at a time so that the block's running sums stay in
 * registers through the k steps. */
#define BLOCK32 16
#define BLOCK64 8

/* Eight binary32 lanes, as sim/lanes.h has four binary64 ones. */
typedef float v8f __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v8f load8f(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

NFI_FMA_CLONES
static void rows_binary32(size_t m, size_t n, size_t w, size_t k,
                          const double *restrict a, ptrdiff_t a_row,
                          ptrdiff_t ak, const float *restrict bt,
                          const float *restrict bias, double *restrict c)
{
    for (size_t i = 0; i < m; i++) {
        const double *ai = a + (ptrdiff_t)i * a_row;
        for (size_t j0 = 0; j0 < w; j0 += BLOCK32) {
            float y = (float)ai[0]; /* exact: a binary32 value */
            v8f x = {y, y, y, y, y, y, y, y};
            v8f s0 = x * load8f(bt + j0), s1 = x * load8f(bt + j0 + 8);
            for (size_t t = 1; t < k; t++) {
                const float *row = bt + t * w + j0;
                y = (float)ai[(ptrdiff_t)t * ak];
                x = (v8f){y, y, y, y, y, y, y, y};
                s0 = s0 + x * load8f(row);
                s1 = s1 + x * load8f(row + 8);
            }
            if (bias != NULL) {
                s0 = s0 + load8f(bias + j0);
                s1 = s1 + load8f(bias + j0 + 8);
            }
            float s[BLOCK32];
            memcpy(s, &s0, sizeof s0);
            memcpy(s + 8, &s1, sizeof s1);
            for (size_t j = 0; j < BLOCK32 && j0 + j < n; j++)
                c[i * n + j0 + j] = s[j];
        }
    }
}

NFI_FMA_CLONES
static void rows_binary64(size_t m, size_t n, size_t w, size_t k,
                          const double *restrict a, ptrdiff_t a_row,
                          ptrdiff_t ak, const double *restrict bt,
                          const double *restrict bias, double *restrict c)
{
    for (size_t i = 0; i < m; i++) {
        const double *ai = a + (ptrdiff_t)i * a_row;
        for (size_t j0 = 0; j0 < w; j0 += BLOCK64) {
            nfi_v4d x = nfi_splat4(ai[0]);
            nfi_v4d s0 = x * nfi_load4(bt + j0);
            nfi_v4d s1 = x * nfi_load4(bt + j0 + 4);
            for (size_t t = 1; t < k; t++) {
                const double *row = bt + t * w + j0;
                x = nfi_splat4(ai[(ptrdiff_t)t * ak]);
                s0 = s0 + x * nfi_load4(row);
                s1 = s1 + x * nfi_load4(row + 4);
            }
            if (bias != NULL) {
                s0 = s0 + nfi_load4(bias + j0);
                s1 = s1 + nfi_load4(bias + j0 + 4);
            }
            double s[BLOCK64];
            nfi_store4(s, s0);
            nfi_store4(s + 4, s1);
            for (size_t j = 0; j < BLOCK64 && j0 + j < n; j++)
                c[i * n + j0 + j] = s[j];
        }
    }
}

/* RNE with p <= 25, fused (sim/lanes.h): a flagged row is recomputed
 * with the general array operations by the caller. */
NFI_FMA_CLONES
static int row_plain(const nfi_lanes_rne *pc, size_t n, size_t w, size_t k,
                     const double *restrict ai, ptrdiff_t ak,
                     const double *restrict bt,
                     const double *restrict bias, double *restrict ci)
{
    const nfi_lanes_rne c = *pc;
    nfi_v4u out = {0, 0, 0, 0};
    for (size_t j0 = 0; j0 < w; j0 += 8) {
        nfi_v4d x = nfi_splat4(ai[0]);
        nfi_v4d s0 = nfi_lanes_round(&c, x * nfi_load4(bt + j0), &out);
        nfi_v4d s1 = nfi_lanes_round(&c, x * nfi_load4(bt + j0 + 4), &out);
        for (size_t t = 1; t < k; t++) {
            const double *row = bt + t * w + j0;
            x = nfi_splat4(ai[(ptrdiff_t)t * ak]);
            nfi_v4d p0 = nfi_lanes_round(&c, x * nfi_load4(row), &out);
            nfi_v4d p1 = nfi_lanes_round(&c, x * nfi_load4(row + 4), &out);
            s0 = nfi_lanes_round(&c, s0 + p0, &out);
            s1 = nfi_lanes_round(&c, s1 + p1, &out);
        }
        if (bias != NULL) {
            s0 = nfi_lanes_round(&c, s0 + nfi_load4(bias + j0), &out);
            s1 = nfi_lanes_round(&c, s1 + nfi_load4(bias + j0 + 4), &out);
        }
        double s[8];
        nfi_store4(s, s0);
        nfi_store4(s + 4, s1);
        for (size_t j = 0; j < 8 && j0 + j < n; j++)
            ci[j0 + j] = s[j];
    }
    return nfi_lanes_any(out);
}

/* The fast engine's array operations; spread holds n copies of the
 * current a[i][t], prod the rounded products. */
static void rows_arrays(nfi_fast *f, size_t m, size_t n, size_t w,
                        size_t k, const double *a, ptrdiff_t a_row,
                        ptrdiff_t ak, const double *bt, const double *bias,
                        double *sums, double *prod, double *spread,
                        double *c)
{
    for (size_t i = 0; i < m; i++) {
        const double *ai = a + (ptrdiff_t)i * a_row;
        for (size_t j = 0; j < n; j++)
            spread[j] = ai[0];
        nfi_fast_mul_array(f, n, sums, spread, bt);
        for (size_t t = 1; t < k; t++) {
            for (size_t j = 0; j < n; j++)
                spread[j] = ai[(ptrdiff_t)t * ak];
            nfi_fast_mul_array(f, n, prod, spread, bt + t * w);
            nfi_fast_add_array(f, n, sums, sums, prod);
        }
        if (bias != NULL)
            nfi_fast_add_array(f, n, sums, sums, bias);
        for (size_t j = 0; j < n; j++)
            c[i * n + j] = sums[j];
    }
}

int nfi_matmul_fast(nfi_arith *acc, nfi_arith *out,
                    const nfi_reduction *order, size_t m, size_t n,
                    size_t k, const double *a, ptrdiff_t a_row,
                    ptrdiff_t a_k, const double *b, ptrdiff_t b_row,
                    ptrdiff_t b_k, const double *bias, double *c)
{
    kernel_kind kind = choose(acc, out, order, k);
    if (kind == KERNEL_NONE || m * n == 1)
        return 0; /* one element: the element loop is as fast */
    if (m == 0 || n == 0)
        return 1;
    /* b packed transposed as k x w, w the columns rounded up to the
     * block, the padding zero; in floats for binary32 (exact: the values
     * are binary32 numbers).  a is read in place. */
    size_t lanes = kind == KERNEL_BINARY32 ? BLOCK32 : BLOCK64;
    size_t w = (n + lanes - 1) / lanes * lanes;
    size_t width = kind == KERNEL_BINARY32 ? sizeof(float) : sizeof(double);
    size_t count = k * w + w + 3 * n;
    unsigned char *block = malloc(count * width);
    if (block == NULL)
        return -1;
    if (kind == KERNEL_BINARY32) {
        float *pb = (float *)block, *pbias = pb + k * w;
        for (size_t t = 0; t < k; t++) {
            float *row = pb + t * w;
            const double *src = b + (ptrdiff_t)t * b_k;
            for (size_t j = 0; j < n; j++)
                row[j] = (float)src[(ptrdiff_t)j * b_row];
            for (size_t j = n; j < w; j++)
                row[j] = 0.0f;
        }
        for (size_t j = 0; j < w; j++)
            pbias[j] = bias != NULL && j < n ? (float)bias[j] : 0.0f;
        rows_binary32(m, n, w, k, a, a_row, a_k, pb, bias ? pbias : NULL,
                      c);
    } else {
        double *pb = (double *)block, *pbias = pb + k * w;
        double *sums = pbias + w, *prod = sums + n, *spread = prod + n;
        for (size_t t = 0; t < k; t++) {
            double *row = pb + t * w;
            const double *src = b + (ptrdiff_t)t * b_k;
            for (size_t j = 0; j < n; j++)
                row[j] = src[(ptrdiff_t)j * b_row];
            for (size_t j = n; j < w; j++)
                row[j] = 0.0;
        }
        for (size_t j = 0; j < w; j++)
            pbias[j] = bias != NULL && j < n ? bias[j] : 0.0;
        const double *pbs = bias ? pbias : NULL;
        if (kind == KERNEL_BINARY64) {
            rows_binary64(m, n, w, k, a, a_row, a_k, pb, pbs, c);
        } else if (kind == KERNEL_PLAIN) {
            const nfi_fast *f = &acc->fast;
            nfi_lanes_rne pc = nfi_lanes_rne_of(f);
            for (size_t i = 0; i < m; i++) {
                const double *ai = a + (ptrdiff_t)i * a_row;
                if (row_plain(&pc, n, w, k, ai, a_k, pb, pbs, c + i * n))
                    rows_arrays(&acc->fast, 1, n, w, k, ai, 0, a_k, pb, pbs,
                                sums, prod, spread, c + i * n);
            }
        } else if (kind == KERNEL_WIDE) {
            bool checked = !nfi_matmul_wide_safe(&acc->fast, m, k, a, a_row,
                                                 a_k, w, pb, pbs);
            for (size_t i = 0; i < m; i += 2) {
                size_t r = m - i < 2 ? m - i : 2;
                const double *ai = a + (ptrdiff_t)i * a_row;
                int redo = nfi_matmul_wide_rows(&acc->fast, r, n, w, k, ai,
                                                a_row, a_k, pb, pbs,
                                                c + i * n, checked);
                for (size_t l = 0; l < r; l++)
                    if (redo >> l & 1)
                        rows_arrays(&acc->fast, 1, n, w, k,
                                    ai + (ptrdiff_t)l * a_row, 0, a_k, pb,
                                    pbs, sums, prod, spread,
                                    c + (i + l) * n);
            }
        } else {
            rows_arrays(&acc->fast, m, n, w, k, a, a_row, a_k, pb, pbs,
                        sums, prod, spread, c);
        }
    }
    free(block);
    for (size_t i = 0; i < m; i++)
        cast_row(acc, out, n, c + i * n);
    return 1;
}

NFI_FMA_CLONES
static void column_sums_binary32(size_t rows, size_t cols, const double *x,
                                 float *restrict sums)
{
    for (size_t j = 0; j < cols; j++)
        sums[j] = (float)x[j];
    for (size_t i = 1; i < rows; i++) {
        const double *row = x + i * cols;
        for (size_t j = 0; j < cols; j++)
            sums[j] = sums[j] + (float)row[j];
    }
}

NFI_FMA_CLONES
static void column_sums_binary64(size_t rows, size_t cols, const double *x,
                                 double *restrict sums)
{
    for (size_t j = 0; j < cols; j++)
        sums[j] = x[j];
    for (size_t i = 1; i < rows; i++) {
        const double *row = x + i * cols;
        for (size_t j = 0; j < cols; j++)
            sums[j] = sums[j] + row[j];
    }
}

int nfi_column_sums_fast(nfi_arith *acc, nfi_arith *out,
                         const nfi_reduction *order, size_t rows,
                         size_t cols, const double *x, double *sums)
{
    kernel_kind kind = choose(acc, out, order, rows);
    if (kind == KERNEL_NONE)
        return 0;
    if (kind == KERNEL_BINARY32) {
        float *s = malloc((cols ? cols : 1) * sizeof *s);
        if (s == NULL)
            return -1;
        column_sums_binary32(rows, cols, x, s);
        for (size_t j = 0; j < cols; j++)
            sums[j] = s[j];
        free(s);
    } else if (kind == KERNEL_BINARY64) {
        column_sums_binary64(rows, cols, x, sums);
    } else if (kind != KERNEL_WIDE ||
               nfi_column_sums_wide(&acc->fast, rows, cols, x, sums)) {
        for (size_t j = 0; j < cols; j++)
            sums[j] = x[j];
        for (size_t i = 1; i < rows; i++)
            nfi_fast_add_array(&acc->fast, cols, sums, sums, x + i * cols);
    }
    cast_row(acc, out, cols, sums);
    return 1;
}
