/* nfi: fused row kernels of matrix products and column sums for RNE
 * formats with 26 <= p <= 52 on the fast engine (sim/lanes_wide.h).
 *
 * They perform the operations of nfi_matmul's element loop (each product
 * rounded, then the sequential sum, then the bias) on four elements at a
 * time, each operation rounded exactly as nfi_fast_mul and nfi_fast_add
 * round it, as long as every result is a normal format value or a zero,
 * or, in a format with subnormals, a subnormal.  When a result is not
 * (an overflow, an infinity or a NaN, a subnormal or an underflow
 * without subnormals; in a padding column too), they say so and the
 * caller recomputes the row with the general operations; the outputs
 * are then unspecified.
 * The slow twin is that element loop (tests/kernels/test_matmul_wide). */
#ifndef NFI_MATMUL_WIDE_H
#define NFI_MATMUL_WIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine_fast.h"

/* Whether the kernels below apply to the context f: RNE, 26 <= p <= 52,
 * not IEEE binary64 itself, the product of two format values exact in
 * binary64 as a sum of two doubles (products_never_tiny) and emax <=
 * 1021. */
bool nfi_matmul_wide_applies(const nfi_fast *f);

/* How the kernels below watch the range of the values they round:
 *   NFI_WIDE_UNCHECKED  not at all: only when nfi_matmul_wide_watch_rows
 *                       said so for the operands (the kernels return 0);
 *   NFI_WIDE_CHECKED    flag a value above max_finite, infinite or NaN,
 *                       or non-zero below 2^emin; for a format with
 *                       subnormals a flagged block is computed again
 *                       with the subnormal lanes, and *how becomes
 *                       NFI_WIDE_SUBNORMAL for the calls after it (a
 *                       product whose values reach below 2^emin once
 *                       mostly does again);
 *   NFI_WIDE_SUBNORMAL  round results below 2^emin onto the subnormal
 *                       grid in the lanes from the start, and flag only
 *                       values above max_finite, infinite or NaN
 *                       (formats with subnormals only). */
enum { NFI_WIDE_UNCHECKED, NFI_WIDE_CHECKED, NFI_WIDE_SUBNORMAL };
/* Added to NFI_WIDE_CHECKED or NFI_WIDE_SUBNORMAL when every product of
 * the operands is proven a normal value or a zero (only the sums can
 * leave the range): the products are then rounded without a watch. */
#define NFI_WIDE_PLAIN_PRODUCTS 8
/* Added to NFI_WIDE_CHECKED or NFI_WIDE_SUBNORMAL, in a format with
 * subnormals, when no sum can exceed max_finite (only the products can
 * leave the normal range, and below 2^emin a sum of format values is
 * exact): the sums are then rounded without a watch.  Never together
 * with NFI_WIDE_PLAIN_PRODUCTS (both make NFI_WIDE_UNCHECKED). */
#define NFI_WIDE_PLAIN_SUMS 16
#define NFI_WIDE_PLAINS (NFI_WIDE_PLAIN_PRODUCTS | NFI_WIDE_PLAIN_SUMS)

/* The range of a set of values: the least non-zero and the largest
 * magnitude (INFINITY and 0 when none is non-zero), and whether all are
 * finite. */
typedef struct nfi_wide_span {
    double least, most;
    bool finite;
} nfi_wide_span;

/* The ranges of a product's shared operands: bt (k x w, as for
 * nfi_matmul_wide_rows) and the bias (empty when none), and k. */
typedef struct nfi_wide_operands {
    nfi_wide_span b, bias;
    size_t k;
} nfi_wide_operands;

/* Fills *o for bt and bias (NULL for none). */
void nfi_matmul_wide_shared(nfi_wide_operands *o, size_t k, size_t w,
                            const double *bt, const double *bias);

/* The watch that `rows` rows of a at a[r] (k = o->k terms at stride ak)
 * need against the shared operands *o: NFI_WIDE_UNCHECKED when no
 * product can be anything but a normal format value or a zero, and no
 * sum anything but that or, with subnormals, an exact sum below 2^emin,
 * which needs no rounding (all operands finite and their magnitudes far
 * enough from the ends of the range; the bound is in matmul_wide.c),
 * else NFI_WIDE_CHECKED, with NFI_WIDE_PLAIN_PRODUCTS when no product
 * can leave the normal range, or NFI_WIDE_PLAIN_SUMS when no sum can
 * exceed it (with subnormals).  Taken per pair of rows of a product
 * rather than for all its rows: a few tiny values of some rows would
 * sink the proof for the others. */
int nfi_matmul_wide_watch_rows(const nfi_fast *f,
                               const nfi_wide_operands *o, size_t rows,
                               const double *const *a, ptrdiff_t ak);

/* Rows i < rows (1 or 2) of a product in f's format (f as above), into
 * c[i * n + j], j < n:
 *   (...((a_i[0] bt[j] + a_i[ak] bt[w + j]) + ...)
 *     + a_i[(k-1) ak] bt[(k-1) w + j]) + bias[j],
 * a_i = a + i * a_row, every product and sum rounded, the bias term only
 * when bias is not NULL.  bt is (k, w) row-major with w >= n a multiple
 * of 8 and its columns n..w-1 zero; bias, when given, has w entries (zero
 * beyond n); k >= 1.  *how as above.  Returns a bit mask: bit i set when
 * a value of row i (padding columns included) was flagged; that row of c
 * is then unspecified (recompute it), the others are the result. */
int nfi_matmul_wide_rows(const nfi_fast *f, size_t rows, size_t n,
                         size_t w, size_t k, const double *a,
                         ptrdiff_t a_row, ptrdiff_t ak, const double *bt,
                         const double *bias, double *c, int *how);

/* nfi_matmul_wide_rows for rows given by their terms: row r < rows (1 or
 * 2) is the sequential sum over t < count (count >= 1) of the rounded
 * products av[r][ix[r][t]] * bt[ix[r][t] * w + j] (then the bias),
 * written to c[r * n + j]; *how and the result as for
 * nfi_matmul_wide_rows (NFI_WIDE_UNCHECKED only when
 * nfi_matmul_wide_watch_rows gives it for the rows and bt, the terms
 * being some of theirs and zero terms). */
int nfi_matmul_wide_terms(const nfi_fast *f, size_t rows, size_t n,
                          size_t w, size_t count, const double *const *av,
                          const uint32_t *const *ix, const double *bt,
                          const double *bias, double *c, int *how);

/* Column sums in f's format (f as above): sums[j] = (...(x[j] +
 * x[cols + j]) + ...) + x[(rows-1) cols + j], each sum rounded, for a
 * row-major (rows, cols) x with rows >= 1.  Returns 0, or non-zero when a
 * rounded value was flagged as in nfi_matmul_wide_rows (sums
 * unspecified: recompute). */
int nfi_column_sums_wide(const nfi_fast *f, size_t rows, size_t cols,
                         const double *x, double *sums);

/* The sequential sum of `count` >= 1 rows of x into out[j], j < n: row
 * t at x + r_t * stride, r_t = idx[t] (t when idx is NULL), each
 * addition rounded, for format values (f as above).  Returns 0, or
 * non-zero when a rounded value was flagged as in nfi_matmul_wide_rows
 * (out unspecified: recompute). */
int nfi_rows_sum_wide(const nfi_fast *f, size_t count, const double *x,
                      size_t stride, const size_t *idx, size_t n,
                      double *out);

/* out[j] = (x0[j] + x1[j]) + bias[j], j < n, each sum rounded, for
 * finite format values (f as above).  Returns 1, or 0 when a value was
 * flagged as in nfi_matmul_wide_rows or a first sum is zero (out
 * unspecified). */
int nfi_pair_bias_wide(const nfi_fast *f, size_t n, const double *x0,
                       const double *x1, const double *bias, double *out);

#endif
