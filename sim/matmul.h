/* nfi: matrix products for linear layers, in a declared reduction order.
 *
 * C[m][n] = cast(sum_k A[m, k] * B[n, k]  (+ bias[n]))
 * where A, B and the bias are first cast into the accumulator's format
 * when their formats differ from it (a cast between roles is a rounding;
 * A's casts take stochastic indices first, in row-major order, then
 * B's, then the bias's), each product rounds into the accumulator's
 * format, the sum runs
 * in the reduction order (sim/reduce.h), the bias, when given, is added
 * in the accumulator's format after the sum, and `cast` rounds the
 * accumulator into the output role's format (no rounding when the two
 * formats agree, since the value is then already in the format).  Strides
 * address A and B, so that one function serves the forward pass (X W^T),
 * the weight gradient (dY^T X) and the input gradient (dY W):
 *   A[m, k] = a[m * a_m + k * a_k],  B[n, k] = b[n * b_n + k * b_k].
 * Elements are computed in row-major order of C; stochastic indices are
 * taken element by element (accumulator first, then the cast). */
#ifndef NFI_MATMUL_H
#define NFI_MATMUL_H

#include <stddef.h>

#include "arith.h"
#include "reduce.h"

typedef struct nfi_matrix_view {
    const double *data;
    ptrdiff_t stride_row; /* step between rows (m or n) */
    ptrdiff_t stride_k;   /* step along the summed index k */
    const nfi_format *format; /* the values' format; NULL: already values
                                 of the accumulator's format */
} nfi_matrix_view;

/* bias (n values of bias_format, or NULL).  Returns 0, or -1 when memory
 * for the casts runs out (c is then unchanged). */
int nfi_matmul(nfi_arith *acc, nfi_arith *out, const nfi_reduction *order,
               size_t m, size_t n, size_t k, nfi_matrix_view a,
               nfi_matrix_view b, const double *bias,
               const nfi_format *bias_format, double *c);

/* out[j] = cast(sum_i x[i * cols + j]) for j < cols: column sums of a
 * row-major matrix (the bias gradient), in the reduction order; x must
 * hold values of the accumulator's format. */
void nfi_column_sums(nfi_arith *acc, nfi_arith *out,
                     const nfi_reduction *order, size_t rows, size_t cols,
                     const double *x, double *sums);

#endif
