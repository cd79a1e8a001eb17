/* nfi: the one-hot layer as a gather.  See onehot.h for why the results
 * are those of the full product. */
#include "onehot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "matmul_fast.h"

/* Stochastic rounding takes an index per product and per addition of the
 * full product, so only the deterministic modes gather; and x = 1 must be
 * a value of the accumulator's format for the products to be exact. */
static bool gather_applies(const nfi_arith *acc)
{
    const nfi_format *f = &acc->fast.format;
    return acc->fast.mode != NFI_ROUND_SR && f->emin <= 0 && f->emax >= 0;
}

/* out[o] = x[o] + y[o] for o < n, each rounded by acc: the fast
 * engine's array addition (deterministic modes only, as here), or the
 * scalar operations on the reference twin. */
static void add_rows(nfi_arith *acc, size_t n, double *out, const double *x,
                     const double *y)
{
    if (!acc->reference) {
        nfi_fast_add_array(&acc->fast, n, out, x, y);
        return;
    }
    for (size_t o = 0; o < n; o++)
        out[o] = nfi_arith_add(acc, x[o], y[o]);
}

/* x[o] rounded into out's format in place, for o < n (a cast between
 * roles; deterministic modes only, as here). */
static void round_row(nfi_arith *out, size_t n, double *x)
{
    if (!out->reference) {
        nfi_fast_round_array(&out->fast, n, x, x);
        return;
    }
    for (size_t o = 0; o < n; o++)
        x[o] = nfi_arith_round(out, x[o]);
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

/* Whether no sums[o] (o < m) is a zero: each unit then takes its
 * gathered sum when every row of weights is finite.  (Bit patterns, so
 * that the loop vectorises.) */
static bool none_zero(size_t m, const double *restrict sums)
{
    uint64_t zero = 0;
    for (size_t o = 0; o < m; o++) {
        uint64_t b;
        memcpy(&b, &sums[o], sizeof b);
        zero |= (uint64_t)((b << 1) == 0);
    }
    return zero == 0;
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

    /* wt: the weights in the accumulator's format, transposed (width, m),
     * so that the terms of one input row are contiguous rows of wt. */
    double *w_copy = NULL, *bias_copy = NULL;
    bool ok_w, ok_b;
    const double *wa = accumulator_values(acc, w_format, w, m * width,
                                          &w_copy, &ok_w);
    const double *ba = accumulator_values(acc, w_format, bias, m,
                                          &bias_copy, &ok_b);
    size_t cells = m * width > 0 ? m * width : 1;
    double *wt = malloc(cells * sizeof *wt);
    double *sums = malloc(2 * (m ? m : 1) * sizeof *sums);
    double *result = sums + (m ? m : 1);
    size_t *ones = malloc((width ? width : 1) * sizeof *ones);
    bool *finite = malloc((m ? m : 1) * sizeof *finite);
    int status = ok_w && ok_b && wt && sums && ones && finite ? 0 : -1;
    for (size_t o = 0; o < m && status == 0; o++) {
        finite[o] = all_finite(wa + o * width, 1, width);
        for (size_t k = 0; k < width; k++)
            wt[k * m + o] = wa[o * width + k];
    }
    bool same = nfi_format_equal(&out->fast.format, &acc->fast.format);
    bool every_finite = true;
    for (size_t o = 0; o < m && status == 0; o++)
        every_finite = every_finite && finite[o];

    /* Two hot inputs (one-hot(a) ++ one-hot(b)), a bias, finite weights
     * and no cast: the two additions fused, unless a first sum is zero
     * or a sum overflows (then the steps below). */
    bool pair = ba != NULL && same && every_finite;
    for (size_t s = 0; s < n && status == 0; s++) {
        size_t count = ones_of_row(x + s * width, width, ones);
        if (pair && count == 2 &&
            nfi_pair_bias_fast(acc, m, wt + ones[0] * m, wt + ones[1] * m,
                               ba, z + s * m))
            continue;
        bool gather = count != 0 &&
                      (count <= 2 ||
                       (count != SIZE_MAX &&
                        order->kind == NFI_REDUCTION_SEQUENTIAL));
        /* The hot terms summed in sequence, zeros included: adding a
         * zero to a non-zero sum is exact, so only zero sums can differ
         * from the sum of the non-zero terms (onehot.h, 2), and those
         * take the full product below. */
        if (gather && !nfi_rows_sum_fast(acc, count, wt, m, ones, m,
                                         sums)) {
            for (size_t o = 0; o < m; o++)
                sums[o] = wt[ones[0] * m + o];
            for (size_t t = 1; t < count; t++)
                add_rows(acc, m, sums, sums, wt + ones[t] * m);
        }
        if (gather) {
            /* then the bias and the cast, as nfi_matmul does */
            if (ba != NULL)
                add_rows(acc, m, result, sums, ba);
            else
                memcpy(result, sums, m * sizeof *result);
            if (!same)
                round_row(out, m, result);
        }
        if (gather && every_finite && none_zero(m, sums)) {
            memcpy(z + s * m, result, m * sizeof *result);
            continue;
        }
        for (size_t o = 0; o < m && status == 0; o++) {
            double *dst = z + s * m + o;
            if (!gather || !finite[o] || sums[o] == 0.0) {
                /* No gather, or a zero whose sign needs the full sum. */
                nfi_matrix_view xs = {x + s * width, (ptrdiff_t)width, 1,
                                      NULL};
                nfi_matrix_view wo = {w + o * width, (ptrdiff_t)width, 1,
                                      w_format};
                status = nfi_matmul(acc, out, order, 1, 1, width, xs, wo,
                                    bias ? bias + o : NULL, w_format, dst);
                continue;
            }
            *dst = result[o];
        }
    }
    free(w_copy);
    free(bias_copy);
    free(wt);
    free(sums);
    free(ones);
    free(finite);
    return status;
}

/* The bit pattern of x. */
static inline uint64_t bits_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* The column facts of the rows of D (n rows of m), in 64-bit words:
 * every_bits[o] &= the bits of each row[o] (its sign bit stays set while
 * every entry is negative), some_bits[o] |= them (its sign bit: some
 * entry negative), special[o] |= all ones when an entry is an infinity
 * or a NaN.  Four columns at a time in vector lanes (the rest one by
 * one): the same operations on each word. */
typedef uint64_t facts_v4u __attribute__((vector_size(32)));
NFI_FMA_CLONES
static void column_facts(size_t n, size_t m, const double *restrict d,
                         uint64_t *restrict every_bits,
                         uint64_t *restrict some_bits,
                         uint64_t *restrict special)
{
    const uint64_t exponent = 0x7ff0000000000000ULL;
    size_t o = 0;
    for (; o + 4 <= m; o += 4) {
        facts_v4u every, some, spec;
        memcpy(&every, every_bits + o, sizeof every);
        memcpy(&some, some_bits + o, sizeof some);
        memcpy(&spec, special + o, sizeof spec);
        for (size_t s = 0; s < n; s++) {
            facts_v4u b;
            memcpy(&b, d + s * m + o, sizeof b);
            every &= b;
            some |= b;
            spec |= (facts_v4u)((b & exponent) == exponent);
        }
        memcpy(every_bits + o, &every, sizeof every);
        memcpy(some_bits + o, &some, sizeof some);
        memcpy(special + o, &spec, sizeof spec);
    }
    for (; o < m; o++) {
        for (size_t s = 0; s < n; s++) {
            uint64_t b = bits_of(d[s * m + o]);
            every_bits[o] &= b;
            some_bits[o] |= b;
            special[o] |= -(uint64_t)((b & exponent) == exponent);
        }
    }
}

/* Whether any hot sample's d[s][o] is non-zero (any magnitude bit). */
static bool hot_nonzero(size_t count, const size_t *hot, size_t m,
                        const double *d, size_t o)
{
    uint64_t any = 0;
    for (size_t t = 0; t < count; t++)
        any |= bits_of(d[hot[t] * m + o]) & 0x7fffffffffffffffULL;
    return any != 0;
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
    size_t cells = n * width > 0 ? n * width : 1, rows = m ? m : 1;
    size_t *count = calloc(width + 1, sizeof *count);
    size_t *start = calloc(width + 1, sizeof *start);
    bool *plain = calloc(width ? width : 1, sizeof *plain);
    size_t *samples = malloc(cells * sizeof *samples);
    bool *finite = malloc(rows * sizeof *finite);
    double *sums = malloc(2 * rows * sizeof *sums), *result = sums + rows;
    int status = count && start && plain && samples && finite && sums
                 ? 0 : -1;
    for (size_t s = 0; s < n && status == 0; s++) {
        for (size_t k = 0; k < width; k++) {
            double v = x[s * width + k];
            if (v == 1.0)
                count[k]++;
            else if (v != 0.0)
                plain[k] = true;
        }
    }
    for (size_t k = 0; k < width && status == 0; k++) {
        start[k + 1] = start[k] + count[k];
        count[k] = 0;
    }
    for (size_t s = 0; s < n && status == 0; s++) {
        for (size_t k = 0; k < width; k++) {
            if (x[s * width + k] == 1.0)
                samples[start[k] + count[k]++] = s;
        }
    }
    bool same = nfi_format_equal(&out->fast.format, &acc->fast.format);
    /* When every term of an element's full sum is zero (its hot d[s][o]
     * are all zero, or it has none: the other products are zero anyway),
     * each product is a zero with the sign of its d (x >= 0), and a sum
     * of zeros is -0 exactly when every term is -0 (when any is, in RD:
     * IEEE 754 6.3); the cast keeps it.  zero_sum[o] is that zero for
     * column o, from the signs of the whole column; it needs no full
     * product (and this case is common: a unit off for the samples of
     * one input value). */
    double *zero_sum = malloc(rows * sizeof *zero_sum);
    uint64_t *facts = malloc(3 * rows * sizeof *facts);
    uint64_t *every_bits = facts, *some_bits = every_bits + rows;
    uint64_t *special = some_bits + rows;
    if (!zero_sum || !facts)
        status = -1;
    /* Column facts from the rows of D, row by row (contiguous). */
    for (size_t o = 0; o < m && status == 0; o++) {
        every_bits[o] = ~(uint64_t)0;
        some_bits[o] = 0;
        special[o] = 0;
    }
    if (status == 0)
        column_facts(n, m, d, every_bits, some_bits, special);
    for (size_t o = 0; o < m && status == 0; o++) {
        const uint64_t sign = 0x8000000000000000ULL;
        finite[o] = special[o] == 0;
        bool negative = acc->fast.mode == NFI_ROUND_RD
                            ? (some_bits[o] & sign) != 0
                            : (every_bits[o] & sign) != 0;
        zero_sum[o] = n > 0 && negative ? -0.0 : 0.0;
    }

    for (size_t k = 0; k < width && status == 0; k++) {
        const size_t *hot = samples + start[k];
        bool gather = !plain[k] && count[k] > 0;
        /* The rows d[s] of the hot samples summed in sequence, zeros
         * included (onehot.h, 2; zero sums take the full product). */
        if (gather) {
            if (!nfi_rows_sum_fast(acc, count[k], d, m, hot, m, sums)) {
                memcpy(sums, d + hot[0] * m, m * sizeof *sums);
                for (size_t t = 1; t < count[k]; t++)
                    add_rows(acc, m, sums, sums, d + hot[t] * m);
            }
            memcpy(result, sums, m * sizeof *result);
            if (!same)
                round_row(out, m, result);
        }
        for (size_t o = 0; o < m && status == 0; o++) {
            double *dst = dw + o * width + k;
            if (gather && finite[o] && sums[o] != 0.0) {
                *dst = result[o];
                continue;
            }
            if (!plain[k] && finite[o] &&
                !hot_nonzero(count[k], hot, m, d, o)) {
                *dst = zero_sum[o];
                continue;
            }
            nfi_matrix_view dcol = {d + o, 1, (ptrdiff_t)m, NULL};
            nfi_matrix_view xcol = {x + k, 1, (ptrdiff_t)width, NULL};
            status = nfi_matmul(acc, out, order, 1, 1, n, dcol, xcol, NULL,
                                NULL, dst);
        }
    }
    free(count);
    free(start);
    free(plain);
    free(samples);
    free(finite);
    free(sums);
    free(zero_sum);
    free(facts);
    return status;
}
