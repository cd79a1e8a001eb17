/* nfi trace: the distance between two binary64 numbers in units in the
 * last place of a format, for comparing traces (nfi diff).
 *
 * For a format F of precision p (significand bits, leading bit
 * included) and smallest normal exponent emin, the ordinal of x >= 0 is
 *     ord(x) = x / 2^(emin - p + 1)                       x < 2^emin
 *     ord(x) = (e - emin) 2^(p-1) + x / 2^(e - p + 1)     x in [2^e, 2^(e+1)),
 *                                                         e >= emin
 * and ord(-x) = -ord(x): a continuous, increasing, piecewise linear map
 * that numbers the values of F by consecutive integers (0 for zero,
 * 1 for the smallest subnormal, ...), so that
 *     d_F(a, b) = |ord(a) - ord(b)|
 * is the number of steps of F between a and b when both are values of
 * F, and a proportional measure (fractional ulps) for values F does not
 * hold (binary64 results compared in a narrower format).  The same
 * scale is used below 2^emin whether F has subnormals or not, and above
 * F's largest finite value.  Special values: d(NaN, NaN) = 0 (any NaNs
 * compare equal), d(x, x) = 0 (also for infinities of one sign), and
 * a NaN or an infinity against anything else is +infinity.  +0 and -0
 * are 0 apart.  The arithmetic is done in long double, exact for every
 * p <= 53 and binary64 input where long double has 64 or more
 * significand bits (x86-64, AArch64). */
#ifndef NFI_TRACE_ULPS_H
#define NFI_TRACE_ULPS_H

#include "format.h"

/* d_F(a, b) as defined above. */
double nfi_ulp_distance(double a, double b, const nfi_format *f);

/* The slow, obviously correct twin for formats with p <= 24 and
 * 64-bit-safe ranges: counts the values of F (by stepping nextafter in
 * F's grid) between a and b, both finite values of F.  For tests. */
double nfi_ulp_distance_count(double a, double b, const nfi_format *f);

/* The relative error |a - b| / max(|a|, |b|): 0 when a == b (and for
 * two NaNs), +infinity for a NaN or an infinity against anything
 * else. */
double nfi_rel_error(double a, double b);

/* The coarser of two formats: the smaller precision; for equal
 * precisions the larger emin (the narrower range); a on a tie. */
const nfi_format *nfi_format_coarser(const nfi_format *a,
                                     const nfi_format *b);

#endif
