/* nfi: fused row kernels for RNE with 26 <= p <= 51.  The rounding of
 * each lane and why it is exact are in lanes_wide.h. */
#include "matmul_wide.h"

#include <string.h>

#include "cpu.h"
#include "lanes_wide.h"

bool nfi_matmul_wide_applies(const nfi_fast *f)
{
    return nfi_lanes_wide_apply(f);
}

/* Columns j0..j0+7 of up to two rows: four vectors of running sums stay
 * in registers through the k steps, independent chains for the
 * pipeline. */
NFI_FMA_CLONES
int nfi_matmul_wide_rows(const nfi_fast *f, size_t rows, size_t n,
                         size_t w, size_t k, const double *a,
                         ptrdiff_t a_row, ptrdiff_t ak, const double *bt,
                         const double *bias, double *c)
{
    const nfi_lanes_wide cw = nfi_lanes_wide_of(f);
    const double *a2 = rows > 1 ? a + a_row : a;
    nfi_wide_flags g1 = nfi_wide_flags_new(), g2 = nfi_wide_flags_new();
    for (size_t j0 = 0; j0 < w; j0 += 8) {
        nfi_v4d b0 = nfi_load4(bt + j0), b1 = nfi_load4(bt + j0 + 4);
        nfi_v4d x = nfi_splat4(a[0]), y = nfi_splat4(a2[0]);
        nfi_v4d s0 = nfi_wide_mul(&cw, x, b0, &g1);
        nfi_v4d s1 = nfi_wide_mul(&cw, x, b1, &g1);
        nfi_v4d u0 = nfi_wide_mul(&cw, y, b0, &g2);
        nfi_v4d u1 = nfi_wide_mul(&cw, y, b1, &g2);
        for (size_t t = 1; t < k; t++) {
            const double *row = bt + t * w + j0;
            b0 = nfi_load4(row);
            b1 = nfi_load4(row + 4);
            x = nfi_splat4(a[(ptrdiff_t)t * ak]);
            y = nfi_splat4(a2[(ptrdiff_t)t * ak]);
            s0 = nfi_wide_add(&cw, s0, nfi_wide_mul(&cw, x, b0, &g1), &g1);
            s1 = nfi_wide_add(&cw, s1, nfi_wide_mul(&cw, x, b1, &g1), &g1);
            u0 = nfi_wide_add(&cw, u0, nfi_wide_mul(&cw, y, b0, &g2), &g2);
            u1 = nfi_wide_add(&cw, u1, nfi_wide_mul(&cw, y, b1, &g2), &g2);
        }
        if (bias != NULL) {
            b0 = nfi_load4(bias + j0);
            b1 = nfi_load4(bias + j0 + 4);
            s0 = nfi_wide_add(&cw, s0, b0, &g1);
            s1 = nfi_wide_add(&cw, s1, b1, &g1);
            u0 = nfi_wide_add(&cw, u0, b0, &g2);
            u1 = nfi_wide_add(&cw, u1, b1, &g2);
        }
        double s[16];
        nfi_store4(s, s0);
        nfi_store4(s + 4, s1);
        nfi_store4(s + 8, u0);
        nfi_store4(s + 12, u1);
        for (size_t j = 0; j < 8 && j0 + j < n; j++) {
            c[j0 + j] = s[j];
            if (rows > 1)
                c[n + j0 + j] = s[8 + j];
        }
    }
    return nfi_wide_flagged(&cw, &g1) | (rows > 1 ? nfi_wide_flagged(&cw, &g2)
                                                      << 1 : 0);
}

/* Four columns at a time through all rows; the last group of fewer
 * than four is padded with zeros, whose sums are exact zeros. */
NFI_FMA_CLONES
int nfi_column_sums_wide(const nfi_fast *f, size_t rows, size_t cols,
                         const double *x, double *sums)
{
    const nfi_lanes_wide c = nfi_lanes_wide_of(f);
    nfi_wide_flags g = nfi_wide_flags_new();
    for (size_t j0 = 0; j0 < cols; j0 += 4) {
        size_t m = cols - j0 < 4 ? cols - j0 : 4;
        double v[4] = {0.0, 0.0, 0.0, 0.0};
        memcpy(v, x + j0, m * sizeof *v);
        nfi_v4d s = nfi_load4(v);
        for (size_t i = 1; i < rows; i++) {
            if (m == 4) {
                s = nfi_wide_add(&c, s, nfi_load4(x + i * cols + j0), &g);
            } else {
                memcpy(v, x + i * cols + j0, m * sizeof *v);
                s = nfi_wide_add(&c, s, nfi_load4(v), &g);
            }
        }
        nfi_store4(v, s);
        memcpy(sums + j0, v, m * sizeof *v);
    }
    return nfi_wide_flagged(&c, &g);
}
