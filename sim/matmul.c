/* nfi: matrix products.  See matmul.h. */
#include "matmul.h"
#include "matmul_fast.h"

#include <stdbool.h>
#include <stdlib.h>

/* Rounds an accumulator value into the output role's format, unless the
 * formats agree (then the value is already a value of it). */
static inline double cast(nfi_arith *acc, nfi_arith *out, double x)
{
    if (out == acc ||
        nfi_format_equal(&out->fast.format, &acc->fast.format))
        return x;
    return nfi_arith_round(out, x);
}

/* The view's values as values of acc's format: the view itself when they
 * already are, else a cast copy (rows x k, row-major) in *copy. */
static int into_accumulator(nfi_arith *acc, nfi_matrix_view *v, size_t rows,
                            size_t k, double **copy)
{
    *copy = NULL;
    if (v->format == NULL || nfi_format_equal(v->format, &acc->fast.format))
        return 0;
    size_t count = rows * k > 0 ? rows * k : 1;
    double *t = malloc(count * sizeof *t);
    if (t == NULL)
        return -1;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < k; j++)
            t[i * k + j] = nfi_arith_round(
                acc, v->data[(ptrdiff_t)i * v->stride_row +
                             (ptrdiff_t)j * v->stride_k]);
    *copy = t;
    *v = (nfi_matrix_view){t, (ptrdiff_t)k, 1, NULL};
    return 0;
}

int nfi_matmul(nfi_arith *acc, nfi_arith *out, const nfi_reduction *order,
               size_t m, size_t n, size_t k, nfi_matrix_view a,
               nfi_matrix_view b, const double *bias,
               const nfi_format *bias_format, double *c)
{
    double *ca = NULL, *cb = NULL, *cbias = NULL;
    int status = into_accumulator(acc, &a, m, k, &ca);
    if (status == 0)
        status = into_accumulator(acc, &b, n, k, &cb);
    if (status == 0 && bias != NULL && bias_format != NULL &&
        !nfi_format_equal(bias_format, &acc->fast.format)) {
        cbias = malloc((n ? n : 1) * sizeof *cbias);
        if (cbias == NULL) {
            status = -1;
        } else {
            for (size_t j = 0; j < n; j++)
                cbias[j] = nfi_arith_round(acc, bias[j]);
            bias = cbias;
        }
    }
    int fast = 0;
    if (status == 0) {
        fast = nfi_matmul_fast(acc, out, order, m, n, k, a.data,
                               a.stride_row, a.stride_k, b.data,
                               b.stride_row, b.stride_k, bias, c);
        if (fast < 0)
            status = -1;
    }
    if (status == 0 && fast == 0) {
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++) {
                double s = nfi_reduce_dot(
                    acc, order, k, a.data + (ptrdiff_t)i * a.stride_row,
                    a.stride_k, b.data + (ptrdiff_t)j * b.stride_row,
                    b.stride_k);
                if (bias != NULL)
                    s = nfi_arith_add(acc, s, bias[j]);
                c[i * n + j] = cast(acc, out, s);
            }
        }
    }
    free(ca);
    free(cb);
    free(cbias);
    return status;
}

void nfi_column_sums(nfi_arith *acc, nfi_arith *out,
                     const nfi_reduction *order, size_t rows, size_t cols,
                     const double *x, double *sums)
{
    if (nfi_column_sums_fast(acc, out, order, rows, cols, x, sums) == 1)
        return;
    for (size_t j = 0; j < cols; j++)
        sums[j] = cast(acc, out, nfi_reduce_sum(acc, order, rows, x + j,
                                                (ptrdiff_t)cols));
}
