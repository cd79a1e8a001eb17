/* nfi: four binary64 lanes of products and sums rounded to 26 <= p <= 52
 * bits in RNE, exactly, for fused vector kernels of the fast engine.
 *
 * For p > 25 a binary64 product of two format values is not exact, and
 * binary64-then-p-bits may round twice wrongly, so the plain lanes of
 * sim/lanes.h do not apply.  Here every operation gives the binary64
 * round-to-nearest value s of its exact result x together with the exact
 * error e = x - s (error-free transformations):
 *   - product: s = a b, e = fma(a, b, -s).  e is a binary64 number when
 *     no bit of the exact product lies below 2^-1074: the product of two
 *     format values is a multiple of 2^(2 (emin - p + 1)), which is at
 *     least 2^-1022 when the context's products_never_tiny holds (then
 *     also every non-zero product is at least 2^-1022, so s is not zero);
 *     |e| <= u53(s)/2 and e is a multiple of that quantum, so it fits.
 *   - sum: s = a + b, e by TwoSum (Knuth), exact whenever no operation
 *     overflows; with format values below 2^1022 (emax <= 1021) every
 *     intermediate of TwoSum stays below 2^1024.
 * An overflow of s itself (s infinite) is flagged below.
 *
 * Then x is rounded to p bits from (s, e):
 *   - The midpoints of the p-bit grid in the normal range are binary64
 *     numbers when p <= 52 (p + 1 significant bits).  Rounding to nearest
 *     in binary64 is monotone, so for every such midpoint M, x > M
 *     implies s >= M and x < M implies s <= M: x and s lie on the same
 *     side of every midpoint other than s itself.  RNE to p bits is
 *     constant strictly between two consecutive midpoints (across binade
 *     boundaries too), so RNE_p(x) = RNE_p(s) unless s is a midpoint.
 *   - If s is a midpoint and e = 0, x = s is a tie: ties to even, the
 *     ordinary bit rounding of s.
 *   - If s is a midpoint and e != 0, x lies strictly on e's side of it,
 *     at most u53(s)/2 away, hence strictly between s and the grid
 *     neighbour on that side: the result is that neighbour, that is s
 *     truncated to the grid (toward zero) when e's sign is opposite to
 *     s's, and the truncation plus one grid step on the bit pattern when
 *     it is the same (a carry moves into the exponent correctly).
 *   - A midpoint is never a power of two, so its truncation lies in its
 *     own binade and the grid step there is 2^(53 - p) units of s.
 * The bit rounding is right when the magnitude of s lies in the format's
 * normal range [2^emin, max_finite] and the result does not exceed
 * max_finite.  At the ends x may lie just outside the range while s is
 * inside it; the results are still right: just below 2^emin the grid
 * below (subnormal step 2^(emin - p + 1), or only 0 without subnormals)
 * has its first midpoint at least 2^(emin - p) away, farther than
 * |e| <= u53(2^emin)/4; just above max_finite the overflow threshold
 * max_finite + half a step is a midpoint, handled above.
 *
 * A lane whose s is NaN, infinite, non-zero below 2^emin or above
 * max_finite is flagged (a result above max_finite has s above it too),
 * and the kernel recomputes the block with the general operations.  A zero s is
 * accepted: a binary64 sum is zero only when exact (with the sign RNE
 * gives), and a product only when a factor is zero (products_never_tiny),
 * with the sign of the exact product.
 *
 * The slow twin of every lane operation is the fast engine's scalar
 * operation (nfi_fast_mul, nfi_fast_add), itself tested against MPFR. */
#ifndef NFI_LANES_WIDE_H
#define NFI_LANES_WIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine_fast.h"
#include "lanes.h"

/* The constants of a format for these lanes, from its fast context. */
typedef struct nfi_lanes_wide {
    uint64_t shift;    /* 53 - p, 1 to 27 */
    uint64_t half;     /* half a grid step, less one (units of s) */
    uint64_t low;      /* the bits below the grid */
    uint64_t midpoint; /* the bits below the grid of a midpoint */
    uint64_t min;      /* bits of 2^emin */
    uint64_t max;      /* bits of max_finite */
} nfi_lanes_wide;

/* Whether the lanes apply to a fast context: RNE, 26 <= p <= 52, not a
 * hardware format, products exact in binary64 (products_never_tiny) and
 * format values below 2^1022 (emax <= 1021). */
static inline bool nfi_lanes_wide_apply(const nfi_fast *f)
{
    return f->mode == NFI_ROUND_RNE && f->p >= 26 && f->p <= 52 &&
           f->native_width == 0 && f->products_never_tiny &&
           f->format.emax <= 1021;
}

static inline nfi_lanes_wide nfi_lanes_wide_of(const nfi_fast *f)
{
    nfi_lanes_wide c = {(uint64_t)f->shift, f->half_minus_one,
                        f->low_mask, f->half_minus_one + 1,
                        f->min_normal_bits, f->max_finite_bits};
    return c;
}

/* Lane-wise fma(a, b, c), one rounding.  The v3 clone of a caller turns
 * this into one vector FMA; the baseline calls the C library's fma,
 * which is exact by the standard (slow, but right). */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_fma4(nfi_v4d a, nfi_v4d b, nfi_v4d c)
{
    nfi_v4d r;
    for (int l = 0; l < 4; l++)
        r[l] = __builtin_fma(a[l], b[l], c[l]);
    return r;
}

/* RNE to p bits of x = s + e, e the exact error of s = RN64(x) (see the
 * top of this file).  Sets bits of *outside unless the lane is zero or
 * the magnitude of s lies in [2^emin, max_finite] (then the result does
 * not exceed max_finite).  Integer arithmetic on the bit patterns only;
 * comparisons are sign bits of differences of numbers below 2^63, so
 * that the baseline (SSE2, no 64-bit compares) vectorises too. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_round(const nfi_lanes_wide *c, nfi_v4d s, nfi_v4d e,
               nfi_v4u *outside)
{
    const uint64_t sign_bit = 0x8000000000000000ULL;
    nfi_v4u b = (nfi_v4u)s, eb = (nfi_v4u)e;
    nfi_v4u mag = b & ~sign_bit;

    /* Ties to even on s: add just under half a step plus the parity. */
    nfi_v4u r = (b + c->half + ((b >> c->shift) & 1)) & ~c->low;

    /* s a midpoint (its low bits exactly half a step) and e != 0: the
     * neighbour on e's side. */
    nfi_v4u off_mid = (0 - ((b & c->low) ^ c->midpoint)) >> 63;
    nfi_v4u e_nonzero = (0 - (eb & ~sign_bit)) >> 63;
    nfi_v4u mid = 0 - ((off_mid ^ 1) & e_nonzero);
    nfi_v4u same = ((eb ^ b) >> 63) ^ 1;
    nfi_v4u r_mid = (b & ~c->low) + ((c->low + 1) & (0 - same));
    r = (r & ~mid) | (r_mid & mid);

    /* A result above max_finite needs |s| >= max_finite + half a step
     * (a midpoint, a binary64 number, and RN is monotone), so the test
     * of s covers overflow. */
    nfi_v4u nonzero = (0 - mag) >> 63;
    nfi_v4u below = (mag - c->min) >> 63, above = (c->max - mag) >> 63;
    *outside |= (below & nonzero) | above;
    return (nfi_v4d)r;
}

/* The product of format values a and b, rounded (flags as above). */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_mul(const nfi_lanes_wide *c, nfi_v4d a, nfi_v4d b,
             nfi_v4u *outside)
{
    nfi_v4d s = a * b;
    nfi_v4d e = nfi_wide_fma4(a, b, -s);
    return nfi_wide_round(c, s, e, outside);
}

/* The sum of format values a and b, rounded (flags as above). */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_add(const nfi_lanes_wide *c, nfi_v4d a, nfi_v4d b,
             nfi_v4u *outside)
{
    nfi_v4d s = a + b;
    nfi_v4d bb = s - a;
    nfi_v4d e = (a - (s - bb)) + (b - bb);
    return nfi_wide_round(c, s, e, outside);
}

#endif
