/* nfi: exp and log with proven error bounds.  u = 2^-53 below. */
#include "elementary.h"

#include "bits.h"
#include "cpu.h"

#include <math.h>
#include <stdbool.h>
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

/* nfi_elem_exp on `lanes` arguments (4 or 8), each lane the same
 * operations as the scalar function; with 8, the two groups of four are
 * independent chains of 13 FMAs that the processor overlaps. */
static inline __attribute__((always_inline)) unsigned
exp_lanes(int lanes, const double *x, double *y)
{
    static const double c[14] = {
        1.0, 1.0, 0x1p-1, 0x1.5555555555555p-3, 0x1.5555555555555p-5,
        0x1.1111111111111p-7, 0x1.6c16c16c16c17p-10, 0x1.a01a01a01a01ap-13,
        0x1.a01a01a01a01ap-16, 0x1.71de3a556c734p-19, 0x1.27e4fb7789f5cp-22,
        0x1.ae64567f544e4p-26, 0x1.1eed8eff8d898p-29, 0x1.6124613a86d09p-33};
    double k[8], r[8], p[8], in[8];
    unsigned answered = 0;
    /* Lanes outside the domain compute on 0 and are not reported. */
    for (int l = 0; l < lanes; l++) {
        bool ok = x[l] > -690.0 && x[l] < 690.0;
        answered |= (unsigned)ok << l;
        in[l] = ok ? x[l] : 0.0;
    }
    for (int l = 0; l < lanes; l++) {
        k[l] = (in[l] * 0x1.71547652b82fep0 + 0x1.8p52) - 0x1.8p52;
        r[l] = fma(-k[l], nfi_elem_ln2_hi, in[l]);
        r[l] = fma(-k[l], nfi_elem_ln2_lo, r[l]);
        p[l] = c[13];
    }
    for (int i = 12; i >= 0; i--) {
        for (int l = 0; l < lanes; l++)
            p[l] = fma(p[l], r[l], c[i]);
    }
    for (int l = 0; l < lanes; l++)
        y[l] = p[l] * nfi_double_of((uint64_t)((int64_t)k[l] + 1023) << 52);
    return answered;
}

NFI_FMA_CLONES unsigned nfi_elem_exp4(const double x[4], double y[4])
{
    return exp_lanes(4, x, y);
}

NFI_FMA_CLONES unsigned nfi_elem_exp8(const double x[8], double y[8])
{
    return exp_lanes(8, x, y);
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

/* Double-word ("double-double") arithmetic: a value is hi + lo with
 * hi = RN(hi + lo).  The algorithms and bounds are those of Joldes,
 * Muller and Popescu, "Tight and rigorous error bounds for basic
 * building blocks of double-word arithmetic", ACM TOMS 44(2), 2017, with
 * u = 2^-53: the sum of two double-words ("AccurateDWPlusDW") has a
 * relative error below 3u^2 + 13u^3, the product ("DWTimesDW3", with
 * FMA) below 4u^2. */
typedef struct dword {
    double hi, lo;
} dword;

/* s + t = a + b exactly, when |a| >= |b| or a = 0 (Dekker). */
static inline dword fast_two_sum(double a, double b)
{
    double s = a + b;
    return (dword){s, b - (s - a)};
}

/* s + t = a + b exactly (Knuth; Moller). */
static inline dword two_sum_dw(double a, double b)
{
    double s = a + b, bb = s - a;
    return (dword){s, (a - (s - bb)) + (b - bb)};
}

static inline dword dw_add(dword x, dword y)
{
    dword s = two_sum_dw(x.hi, y.hi), t = two_sum_dw(x.lo, y.lo);
    dword v = fast_two_sum(s.hi, s.lo + t.hi);
    return fast_two_sum(v.hi, t.lo + v.lo);
}

static inline dword dw_mul(dword x, dword y)
{
    double ch = x.hi * y.hi, cl1 = fma(x.hi, y.hi, -ch);
    double tl1 = fma(x.hi, y.lo, x.lo * y.lo);
    double cl2 = fma(x.lo, y.hi, tl1);
    return fast_two_sum(ch, cl1 + cl2);
}

/* 2^(j/32) for j < 32: hi = RN(2^(j/32)), lo = RN(2^(j/32) - hi), so
 * each pair is within u^2 of its value (tests/test_elementary checks the
 * table against MPFR). */
static const dword exp2_32nd[32] = {
    {0x1.0000000000000p+0, 0x0.0p+0},
    {0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55},
    {0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54},
    {0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54},
    {0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55},
    {0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54},
    {0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54},
    {0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55},
    {0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55},
    {0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54},
    {0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55},
    {0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59},
    {0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56},
    {0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55},
    {0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54},
    {0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54},
    {0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54},
    {0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55},
    {0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55},
    {0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54},
    {0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54},
    {0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57},
    {0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56},
    {0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54},
    {0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54},
    {0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56},
    {0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55},
    {0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56},
    {0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55},
    {0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54},
    {0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54},
    {0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54},
};

double nfi_elem_exp2_32nd(int j, double *lo)
{
    *lo = exp2_32nd[j & 31].lo;
    return exp2_32nd[j & 31].hi;
}

/* exp(x) = 2^k 2^(j/32) exp(r), N = 32k + j = nearest(x 32/ln 2),
 * r = x - N L with L = ln(2)/32, |N| < 2^15 for |x| < 690.
 *
 * Reduction: L = L1 + L2 + L3 + d, L1 with 37 significant bits, L2 and
 * L3 the next binary64 parts, |d| < 2^-155.  N L1 is exact (15 + 37
 * bits) and so is r1 = fma(-N, L1, x): |r1| <= 0.52 L < 2^-6 (N is the
 * nearest integer to a value within 2^-40 of x/L), and r1 is a multiple
 * of ulp(x) >= 2^-59 or of 2^-42 (N L1's grid) unless |x| < 2^-7, when
 * N = 0 and r1 = x; a multiple of 2^-59 below 2^-6 has at most 53 bits.
 * N L2 = p2 + e2 exactly (FMA), r1 - p2 = s + t exactly (TwoSum); the
 * remaining t - e2 - N L3 rounds twice on terms below 2^-58, so
 * r = rh + rl is within 2^-110 of x - N L (plus N d < 2^-140), which
 * moves exp(r) by a relative 2^-109 at most.
 *
 * Polynomial: exp(r) = sum_{i<=11} r^i/i! + E, |E| <= |r|^12/12!
 * e^|r| < 2^-107 for |r| <= 0.0109.  The terms i >= 8 are summed in
 * binary64 (Horner on rh): their total is below 2^-67 and carries a
 * relative error below 5u, and leaving out rl there changes it by
 * less than 8 |rl| |r|^7/8! < 2^-110: together < 2^-117.  The terms
 * i <= 7 are Horner steps Q = C_i + R Q in double-words, C_i = 1/i! to
 * within u^2 relative (exact for i <= 2).  |R Q_{i+1}| <= 0.012 |Q_i|,
 * so an error carried from the step before shrinks by that factor, and
 * each step adds at most 4u^2 (product, on a part 0.012 of the value) +
 * 3.1u^2 (sum) + u^2 (constant): relative error of Q_0 below 4.2u^2.
 * Times 2^(j/32) (u^2 in the table, 4u^2 the product) and by 2^k
 * (see below): total below 9.3u^2 + 2^-106 < 2^-102.  The
 * claim NFI_ELEM_DD_REL_ERROR = 2^-96 leaves a factor 64 of margin;
 * tests/test_elementary measures the error against MPFR. */
NFI_FMA_CLONES int nfi_elem_exp_dd(double x, double *hi, double *lo)
{
    static const double L1 = 0x1.62e42fefa0000p-6;
    static const double L2 = 0x1.cf79abc9e3b3ap-45;
    static const double L3 = -0x1.ff0342542fc33p-99;
    static const dword C[8] = {
        {1.0, 0.0}, {1.0, 0.0}, {0x1p-1, 0.0},
        {0x1.5555555555555p-3, 0x1.5555555555555p-57},
        {0x1.5555555555555p-5, 0x1.5555555555555p-59},
        {0x1.1111111111111p-7, 0x1.1111111111111p-63},
        {0x1.6c16c16c16c17p-10, -0x1.f49f49f49f49fp-65},
        {0x1.a01a01a01a01ap-13, 0x1.a01a01a01a01ap-73}};
    static const double T[4] = {0x1.a01a01a01a01ap-16,
                                0x1.71de3a556c734p-19,
                                0x1.27e4fb7789f5cp-22,
                                0x1.ae64567f544e4p-26};
    if (!(x > -665.0 && x < 690.0))
        return 0; /* also NaN */
    double n = (x * 0x1.71547652b82fep+5 + 0x1.8p52) - 0x1.8p52;
    double r1 = fma(-n, L1, x);
    double p2 = n * L2, e2 = fma(n, L2, -p2);
    dword st = two_sum_dw(r1, -p2);
    double t = (st.lo - e2) - n * L3;
    dword r = fast_two_sum(st.hi, t);

    double tail = T[3];
    for (int i = 2; i >= 0; i--)
        tail = fma(tail, r.hi, T[i]);
    dword q = {tail, 0.0};
    for (int i = 7; i >= 0; i--)
        q = dw_add(dw_mul(q, r), C[i]);

    long nn = (long)n;
    long j = nn & 31, k = (nn - j) / 32;
    q = dw_mul(q, exp2_32nd[j]);
    /* -960 <= k <= 996: 2^k is normal and hi 2^k, a normal number, is
     * exact; lo 2^k may fall below 2^-1022 and round, by at most 2^-1075,
     * which is below 2^-115 of exp(x) >= 2^-959. */
    double scale = nfi_double_of((uint64_t)(k + 1023) << 52);
    *hi = q.hi * scale;
    *lo = q.lo * scale;
    return 1;
}
