/* nfi: matrix products and column sums computed many outputs at a time,
 * for round-to-nearest-even in the sequential order on the fast engine.
 *
 * nfi_matmul and nfi_column_sums (sim/matmul.h) compute each output
 * element by itself: its products rounded in element order, then the
 * sequential sum ((x0 + x1) + x2) + ...  The kernels here perform the
 * very same operations on the same operands, in the same order for each
 * element, but interleave the elements: a row of outputs is carried as
 * a vector of running sums, and step k adds the k-th rounded product to
 * all of them.  The interleaving cannot change a result because nothing
 * couples two elements in round-to-nearest-even: no stochastic index is
 * taken, and each operation is a pure function of its operands.  Each
 * operation is one of:
 *   - IEEE binary32 or binary64 hardware arithmetic, when the format and
 *     mode are those (nfi_fast.native_width; the build turns contraction
 *     off, so a * b + c is two roundings, and leaves subnormals on);
 *   - for RNE with p <= 25, binary64 arithmetic rounded to p bits, the
 *     fast engine's own route for those formats, in a fused loop
 *     (sim/lanes.h): for formats with subnormals the lanes round
 *     subnormal results too and flag only overflow, infinities and NaN
 *     (nothing at all when an a-priori bound on the operands rules them
 *     out), otherwise they flag any result outside the normal range; a
 *     flagged row is recomputed with
 *   - nfi_fast_mul_array and nfi_fast_add_array, which are bit-identical
 *     to the scalar operations (tests/test_random checks the arrays).
 * The fused and wide kernels skip the zero terms of a row of a (and a
 * product whose zeros are in b is computed transposed, with the same
 * products in the same order), recomputing in full every row with a
 * zero or NaN result, where skipping may change the sign of a zero
 * (matmul_fast.c has the proof).
 * The slow twin is the element-by-element loop of nfi_matmul itself
 * (tests/kernels/test_matmul_fast compares the two bit for bit).
 *
 * These functions are called by matmul.c; they decline (return 0) when
 * the case is not theirs: another order or mode, the reference engine,
 * an empty sum, or an output role in another mode. */
#ifndef NFI_MATMUL_FAST_H
#define NFI_MATMUL_FAST_H

#include <stddef.h>

#include "arith.h"
#include "reduce.h"

/* c[i][j] = cast(sum_k a[i, k] b[j, k] (+ bias[j])) as in nfi_matmul,
 * with a, b and the bias already values of acc's format, addressed as
 *   a[i, k] = a[i * a_row + k * a_k],  b[j, k] = b[j * b_row + k * b_k].
 * Returns 1 when it computed c, 0 when it declines (c untouched), -1
 * when memory runs out (c untouched). */
int nfi_matmul_fast(nfi_arith *acc, nfi_arith *out,
                    const nfi_reduction *order, size_t m, size_t n,
                    size_t k, const double *a, ptrdiff_t a_row,
                    ptrdiff_t a_k, const double *b, ptrdiff_t b_row,
                    ptrdiff_t b_k, const double *bias, double *c);

/* sums[j] = cast(sum_i x[i * cols + j]) as nfi_column_sums; returns 1,
 * 0 (declined) or -1 (out of memory) as nfi_matmul_fast. */
int nfi_column_sums_fast(nfi_arith *acc, nfi_arith *out,
                         const nfi_reduction *order, size_t rows,
                         size_t cols, const double *x, double *sums);

/* out[j] = x[r0][j] + x[r1][j] + ... for j < n: the sequential sum of
 * `count` >= 1 rows of x, row t at x + r_t * stride with r_t = idx[t]
 * (r_t = t when idx is NULL), each addition rounded by acc as
 * nfi_fast_add does, for values of acc's format.  The fused lanes of
 * nfi_column_sums_fast (sim/lanes.h for p <= 25, sim/lanes_wide.h for
 * 26 <= p <= 52); returns 1 when it computed out, 0 when it declines
 * (out untouched): the reference engine, another mode, or a format
 * neither serves (nfi_lanes_sub_applies, nfi_matmul_wide_applies). */
int nfi_rows_sum_fast(nfi_arith *acc, size_t count, const double *x,
                      size_t stride, const size_t *idx, size_t n,
                      double *out);

/* out[j] = (x0[j] + x1[j]) + bias[j] for j < n, each addition rounded
 * by acc as nfi_fast_add does (the one-hot layer: two hot rows of
 * weights, then the bias), for finite values of acc's format, in the
 * fused lanes of sim/lanes.h or sim/lanes_wide.h.  Returns 1 when out
 * holds the result, 0 when it declines (the reference engine, another
 * mode, a format the lanes do not serve) or when a sum overflowed (or,
 * for 26 <= p, left the normal range) or a first sum x0[j] + x1[j] is
 * zero (whose sign the caller decides from the full product): out is
 * then unspecified. */
int nfi_pair_bias_fast(nfi_arith *acc, size_t n, const double *x0,
                       const double *x1, const double *bias, double *out);

#endif
