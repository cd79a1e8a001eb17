/* nfi: exp and log with proven error bounds.  u = 2^-53 below. */
#include "elementary.h"

#include "bits.h"
#include "cpu.h"

#include <math.h>
#include <stdint.h>
#include <string.h>


const double nfi_elem_ln2_hi = 0x1.62e42fefa38p-1;
const double nfi_elem_ln2_lo = 0x1.ef35793c7673p-45;

/* exp(x) = 2^k exp(r), r = x - k ln 2, |r| <= ln2/2 + 2^-50.
 *
 * Reduction: k = nearest(x / ln 2), |k| <= 1100.  k * LN2_HI is exact
 * (11 + 42 bits) and x - k * LN2_HI is exact (Sterbenz: for k != 0, x and
 * k LN2_HI are within a factor 2).  r = fma(-k, LN2_LO, r1) adds one
 * rounding, <= u |r|, and the split leaves |ln 2 - LN2_HI - LN2_LO| <=
 * 2^-97, times |k| <= 2^11: <= 2^-86.  exp(r) then carries a relative error
 * <= 0.35 u + 2^-85 from the reduction.
 *
 * Polynomial: Taylor to degree 13, truncation <= |r|^14/14! * e^|r| <=
 * 0.05 u relative.  Coefficients RN(1/i!) add <= u sum |r|^i/i! <= 1.42 u
 * absolute, <= 2.1 u relative (exp(r) >= 0.70).  Horner with FMA, one
 * rounding a step: <= gamma_13 * sum |c_i| |r|^i <= 13.01 u * 1.42
 * absolute, <= 26.5 u relative.  Scaling by 2^k is exact (normal result).
 * Total <= 29.1 u < 2^-48. */
NFI_FMA_CLONES int nfi_elem_exp(double x, double *y)
{
    static const double c[14] = {
        1.0, 1.0, 0x1p-1, 0x1.5555555555555p-3, 0x1.5555555555555p-5,
        0x1.1111111111111p-7, 0x1.6c16c16c16c17p-10, 0x1.a01a01a01a01ap-13,
        0x1.a01a01a01a01ap-16, 0x1.71de3a556c734p-19, 0x1.27e4fb7789f5cp-22,
        0x1.ae64567f544e4p-26, 0x1.1eed8eff8d898p-29, 0x1.6124613a86d09p-33};
    if (!(x > -690.0 && x < 690.0))
        return 0; /* also NaN; exp(+-690) is within 2^+-996 */

    /* Adding and subtracting 1.5 * 2^52 rounds to an integer (any
     * integer near x / ln 2 serves the bound). */
    double k = (x * 0x1.71547652b82fep0 + 0x1.8p52) - 0x1.8p52;
    double r = fma(-k, nfi_elem_ln2_hi, x);
    r = fma(-k, nfi_elem_ln2_lo, r);

    double p = c[13];
    for (int i = 12; i >= 0; i--)
        p = fma(p, r, c[i]);

    /* |k| <= 996: 2^k is a normal binary64 number and p * 2^k, a normal
     * result, is exact. */
    *y = p * nfi_double_of((uint64_t)((int64_t)k + 1023) << 52);
    return 1;
}

/* log(x) = k ln 2 + log(m), x = m 2^k, m in [sqrt(1/2), sqrt(2)).
 *
 * log(m) = 2 atanh(f), f = (m - 1)/(m + 1), |f| <= 0.1716, s = f^2 <=
 * 0.0295.  m - 1 is exact (Sterbenz); m + 1 and the division round twice:
 * f has relative error <= 2.01 u, which atanh turns into <= 2.01 u /
 * (1 - f^2) <= 2.08 u.  P(s) = sum_{i<=10} s^i / (2i + 1): truncation <=
 * s^11/23/(1 - s) < 0.01 u; coefficient rounding <= u; Horner with FMA
 * on positive terms <= gamma_10 P <= 10.01 u; the rounding of s adds
 * <= 0.02 u; 2 f P rounds once more: log(m) within 13.2 u relative.
 * For k != 0, |log x| >= ln 2 - 0.347 >= 0.346 >= |log m| / 1.003, and
 * k LN2_HI is exact; t = fma(k, LN2_LO, log m) and the final sum round
 * once each and the split adds <= 2^-86: relative <= 1.003 (13.2 u + u)
 * + u + 2^-85 < 15.3 u.  Total < 2^-48. */
NFI_FMA_CLONES int nfi_elem_log(double x, double *y)
{
    static const double c[11] = {
        1.0, 0x1.5555555555555p-2, 0x1.999999999999ap-3,
        0x1.2492492492492p-3, 0x1.c71c71c71c71cp-4, 0x1.745d1745d1746p-4,
        0x1.3b13b13b13b14p-4, 0x1.1111111111111p-4, 0x1.e1e1e1e1e1e1ep-5,
        0x1.af286bca1af28p-5, 0x1.8618618618618p-5};
    if (!(x > 0.0) || x == 1.0 || isinf(x))
        return 0;

    /* x = m 2^k with m in [1, 2), read from the bits (subnormal x is
     * first scaled by 2^54, exactly). */
    int k = 0;
    if (x < 0x1p-1022) {
        x *= 0x1p54;
        k = -54;
    }
    uint64_t b = nfi_bits_of(x);
    k += (int)(b >> 52) - 1023;
    double m = nfi_double_of((b & ((1ULL << 52) - 1)) | (1023ULL << 52));
    if (m > 0x1.6a09e667f3bcdp0) {
        m *= 0.5;
        k += 1;
    }
    double f = (m - 1.0) / (m + 1.0);
    double s = f * f;
    double p = c[10];
    for (int i = 9; i >= 0; i--)
        p = fma(p, s, c[i]);
    double log_m = 2.0 * f * p;

    double t = fma((double)k, nfi_elem_ln2_lo, log_m);
    *y = fma((double)k, nfi_elem_ln2_hi, t);
    return 1;
}
