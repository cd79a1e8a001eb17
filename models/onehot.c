/* nfi: the one-hot layer as a gather.  See onehot.h for why the results
 * are those of the full product. */
#include "onehot.h"

#include <math.h>
#include <stdlib.h>

/* Stochastic rounding takes an index per product and per addition of the
 * full product, so only the deterministic modes gather; and x = 1 must be
 * a value of the accumulator's format for the products to be exact. */
static bool gather_applies(const nfi_arith *acc)
{
    const nfi_format *f = &acc->fast.format;
    return acc->fast.mode != NFI_ROUND_SR && f->emin <= 0 && f->emax >= 0;
}

/* The sum, in sequence, of the non-zero values among v[idx[t] * stride]
 * for t < count: 0 when there is none.  Under the conditions of onehot.h
 * it equals the full sum unless it is zero. */
static double sum_nonzero(nfi_arith *acc, const double *v, ptrdiff_t stride,
                          const size_t *idx, size_t count)
{
    double sum = 0.0;
    bool any = false;
    for (size_t t = 0; t < count; t++) {
        double term = v[(ptrdiff_t)idx[t] * stride];
        if (term == 0.0)
            continue;
        sum = any ? nfi_arith_add(acc, sum, term) : term;
        any = true;
    }
    return sum;
}

/* The values of w (count values of `from`) as values of acc's format:
 * w itself, or a cast copy in *copy (NULL: out of memory). */
static const double *accumulator_values(nfi_arith *acc,
                                        const nfi_format *from,
                                        const double *w, size_t count,
                                        double **copy, bool *ok)
{
    *copy = NULL;
    *ok = true;
    if (w == NULL || from == NULL ||
        nfi_format_equal(from, &acc->fast.format))
        return w;
    *copy = malloc((count ? count : 1) * sizeof **copy);
    if (*copy == NULL) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        (*copy)[i] = nfi_arith_round(acc, w[i]);
    return *copy;
}

static bool all_finite(const double *v, ptrdiff_t stride, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(v[(ptrdiff_t)i * stride]))
            return false;
    }
    return true;
}

/* The column indices of the ones of row x[0..width); returns their count,
 * or SIZE_MAX when the row holds a value other than 0 and 1. */
static size_t ones_of_row(const double *x, size_t width, size_t *idx)
{
    size_t count = 0;
    for (size_t k = 0; k < width; k++) {
        if (x[k] == 1.0)
            idx[count++] = k;
        else if (x[k] != 0.0)
            return SIZE_MAX;
    }
    return count;
}

int nfi_onehot_forward(nfi_arith *acc, nfi_arith *out,
                       const nfi_reduction *order, size_t n, size_t m,
                       size_t width, const double *x, const double *w,
                       const double *bias, const nfi_format *w_format,
                       double *z)
{
    nfi_matrix_view xv = {x, (ptrdiff_t)width, 1, NULL};
    nfi_matrix_view wv = {w, (ptrdiff_t)width, 1, w_format};
    if (!gather_applies(acc))
        return nfi_matmul(acc, out, order, n, m, width, xv, wv, bias,
                          w_format, z);

    double *w_copy = NULL, *bias_copy = NULL;
    bool ok_w, ok_b;
    const double *wa = accumulator_values(acc, w_format, w, m * width,
                                          &w_copy, &ok_w);
    const double *ba = accumulator_values(acc, w_format, bias, m,
                                          &bias_copy, &ok_b);
    size_t *ones = malloc((width ? width : 1) * sizeof *ones);
    bool *finite = malloc((m ? m : 1) * sizeof *finite);
    int status = ok_w && ok_b && ones != NULL && finite != NULL ? 0 : -1;
    for (size_t o = 0; o < m && status == 0; o++)
        finite[o] = all_finite(wa + o * width, 1, width);

    for (size_t s = 0; s < n && status == 0; s++) {
        size_t count = ones_of_row(x + s * width, width, ones);
        bool gather = count <= 2 ||
                      (count != SIZE_MAX &&
                       order->kind == NFI_REDUCTION_SEQUENTIAL);
        for (size_t o = 0; o < m && status == 0; o++) {
            double sum = gather && finite[o]
                         ? sum_nonzero(acc, wa + o * width, 1, ones, count)
                         : 0.0;
            double *dst = z + s * m + o;
            if (sum == 0.0) {
                /* No gather, or a zero whose sign needs the full sum. */
                nfi_matrix_view xs = {x + s * width, (ptrdiff_t)width, 1,
                                      NULL};
                nfi_matrix_view wo = {w + o * width, (ptrdiff_t)width, 1,
                                      w_format};
                status = nfi_matmul(acc, out, order, 1, 1, width, xs, wo,
                                    bias ? bias + o : NULL, w_format, dst);
                continue;
            }
            if (ba != NULL)
                sum = nfi_arith_add(acc, sum, ba[o]);
            *dst = nfi_arith_cast(out, &acc->fast.format, sum);
        }
    }
    free(w_copy);
    free(bias_copy);
    free(ones);
    free(finite);
    return status;
}

int nfi_onehot_weight_grad(nfi_arith *acc, nfi_arith *out,
                           const nfi_reduction *order, size_t n, size_t m,
                           size_t width, const double *d, const double *x,
                           double *dw)
{
    nfi_matrix_view dt = {d, 1, (ptrdiff_t)m, NULL};
    nfi_matrix_view xt = {x, 1, (ptrdiff_t)width, NULL};
    if (!gather_applies(acc) || order->kind != NFI_REDUCTION_SEQUENTIAL)
        return nfi_matmul(acc, out, order, m, width, n, dt, xt, NULL, NULL,
                          dw);

    /* For each column k, the samples s with x[s][k] = 1 in increasing
     * order: samples[start[k] .. start[k] + count[k]).  A column holding
     * a value other than 0 and 1 is flagged in `plain` and takes the
     * full product. */
    size_t *count = calloc(width + 1, sizeof *count);
    size_t *start = calloc(width + 1, sizeof *start);
    bool *plain = calloc(width ? width : 1, sizeof *plain);
    size_t cells = n * width > 0 ? n * width : 1;
    size_t *samples = malloc(cells * sizeof *samples);
    int status = count && start && plain && samples ? 0 : -1;
    for (size_t s = 0; s < n && status == 0; s++) {
        for (size_t k = 0; k < width; k++) {
            double v = x[s * width + k];
            if (v == 1.0)
                count[k]++;
            else if (v != 0.0)
                plain[k] = true;
        }
    }
    for (size_t k = 0; k < width && status == 0; k++)
        start[k + 1] = start[k] + count[k];
    for (size_t k = 0; k < width && status == 0; k++)
        count[k] = 0;
    for (size_t s = 0; s < n && status == 0; s++) {
        for (size_t k = 0; k < width; k++) {
            if (x[s * width + k] == 1.0)
                samples[start[k] + count[k]++] = s;
        }
    }

    for (size_t o = 0; o < m && status == 0; o++) {
        bool finite = all_finite(d + o, (ptrdiff_t)m, n);
        for (size_t k = 0; k < width && status == 0; k++) {
            double sum = finite && !plain[k]
                         ? sum_nonzero(acc, d + o, (ptrdiff_t)m,
                                       samples + start[k], count[k])
                         : 0.0;
            double *dst = dw + o * width + k;
            if (sum == 0.0) {
                nfi_matrix_view dcol = {d + o, 1, (ptrdiff_t)m, NULL};
                nfi_matrix_view xcol = {x + k, 1, (ptrdiff_t)width, NULL};
                status = nfi_matmul(acc, out, order, 1, 1, n, dcol, xcol,
                                    NULL, NULL, dst);
                continue;
            }
            *dst = nfi_arith_cast(out, &acc->fast.format, sum);
        }
    }
    free(count);
    free(start);
    free(plain);
    free(samples);
    return status;
}
