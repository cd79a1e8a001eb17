/* nfi: matrix products.  See matmul.h. */
#include "matmul.h"

#include <stdbool.h>

/* Rounds an accumulator value into the output role's format, unless the
 * formats agree (then the value is already a value of it). */
static inline double cast(nfi_arith *acc, nfi_arith *out, double x)
{
    if (out == acc ||
        nfi_format_equal(&out->fast.format, &acc->fast.format))
        return x;
    return nfi_arith_round(out, x);
}

void nfi_matmul(nfi_arith *acc, nfi_arith *out, const nfi_reduction *order,
                size_t m, size_t n, size_t k, nfi_matrix_view a,
                nfi_matrix_view b, const double *bias, double *c)
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
            c[i * n + j] = cast(acc, out, s);
        }
    }
}

void nfi_column_sums(nfi_arith *acc, nfi_arith *out,
                     const nfi_reduction *order, size_t rows, size_t cols,
                     const double *x, double *sums)
{
    for (size_t j = 0; j < cols; j++)
        sums[j] = cast(acc, out, nfi_reduce_sum(acc, order, rows, x + j,
                                                (ptrdiff_t)cols));
}
