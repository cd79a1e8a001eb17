/* nfi: fused row kernels for RNE with 26 <= p <= 52.  The rounding of
 * each lane and why it is exact are in lanes_wide.h. */
#include "matmul_wide.h"

#include <string.h>

#include "cpu.h"
#include "lanes_wide.h"

bool nfi_matmul_wide_applies(const nfi_fast *f)
{
    return nfi_lanes_wide_apply(f);
}

/* Columns j0..j0+7 of the row: two vectors of running sums stay in
 * registers through the k steps. */
NFI_FMA_CLONES
int nfi_matmul_wide_row(const nfi_fast *f, size_t n, size_t w, size_t k,
                        const double *ai, ptrdiff_t ak, const double *bt,
                        const double *bias, double *ci)
{
    const nfi_lanes_wide c = nfi_lanes_wide_of(f);
    nfi_v4u out = {0, 0, 0, 0};
    for (size_t j0 = 0; j0 < w; j0 += 8) {
        nfi_v4d x = nfi_splat4(ai[0]);
        nfi_v4d s0 = nfi_wide_mul(&c, x, nfi_load4(bt + j0), &out);
        nfi_v4d s1 = nfi_wide_mul(&c, x, nfi_load4(bt + j0 + 4), &out);
        for (size_t t = 1; t < k; t++) {
            const double *row = bt + t * w + j0;
            x = nfi_splat4(ai[(ptrdiff_t)t * ak]);
            nfi_v4d p0 = nfi_wide_mul(&c, x, nfi_load4(row), &out);
            nfi_v4d p1 = nfi_wide_mul(&c, x, nfi_load4(row + 4), &out);
            s0 = nfi_wide_add(&c, s0, p0, &out);
            s1 = nfi_wide_add(&c, s1, p1, &out);
        }
        if (bias != NULL) {
            s0 = nfi_wide_add(&c, s0, nfi_load4(bias + j0), &out);
            s1 = nfi_wide_add(&c, s1, nfi_load4(bias + j0 + 4), &out);
        }
        double s[8];
        nfi_store4(s, s0);
        nfi_store4(s + 4, s1);
        for (size_t j = 0; j < 8 && j0 + j < n; j++)
            ci[j0 + j] = s[j];
    }
    return nfi_lanes_any(out);
}

/* Four columns at a time through all rows; the last group of fewer
 * than four is padded with zeros, whose sums are exact zeros. */
NFI_FMA_CLONES
int nfi_column_sums_wide(const nfi_fast *f, size_t rows, size_t cols,
                         const double *x, double *sums)
{
    const nfi_lanes_wide c = nfi_lanes_wide_of(f);
    nfi_v4u out = {0, 0, 0, 0};
    for (size_t j0 = 0; j0 < cols; j0 += 4) {
        size_t m = cols - j0 < 4 ? cols - j0 : 4;
        double v[4] = {0.0, 0.0, 0.0, 0.0};
        memcpy(v, x + j0, m * sizeof *v);
        nfi_v4d s = nfi_load4(v);
        for (size_t i = 1; i < rows; i++) {
            if (m == 4) {
                s = nfi_wide_add(&c, s, nfi_load4(x + i * cols + j0), &out);
            } else {
                memcpy(v, x + i * cols + j0, m * sizeof *v);
                s = nfi_wide_add(&c, s, nfi_load4(v), &out);
            }
        }
        nfi_store4(v, s);
        memcpy(sums + j0, v, m * sizeof *v);
    }
    return nfi_lanes_any(out);
}
