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
 *   - If s is a midpoint and e = 0, x = s is a tie: ties to even.
 *   - If s is a midpoint and e != 0, x lies strictly on e's side of it,
 *     at most u53(s)/2 away, so strictly between s and the grid
 *     neighbour on that side, which is the result: away from zero when
 *     e has s's sign, toward zero otherwise.
 *   - On the bit pattern b of s, with L its bits below the grid and h
 *     half a step: r = (b + h - 1 + c) with those bits cleared, for a
 *     carry c in {0, 1}, rounds away from zero exactly when L + h - 1 + c
 *     reaches a step, that is when L > h, or L = h and c = 1 (a carry
 *     moves into the exponent correctly).  So any c gives RNE_p(s) when
 *     s is not a midpoint (L != h), and the three cases above are
 *     c = the parity bit of the grid (e = 0), c = 1 (e with s's sign)
 *     and c = 0 (e opposite): nfi_wide_round computes c so.
 * This is right when s lies in the format's normal range [2^emin,
 * max_finite], and then the result does not exceed max_finite (above
 * it, the threshold max_finite + h is a midpoint, so reaching it needs s
 * at or beyond it).  At the low end x may lie just below 2^emin with
 * s = 2^emin; the result 2^emin is still right: the format's grid just
 * below 2^emin (subnormal step 2^(emin - p + 1), or only 0 without
 * subnormals) has its first midpoint at least 2^(emin - p) away, farther
 * than |e| <= u53(2^emin)/4.
 *
 * A lane whose s is NaN, infinite or above max_finite is flagged, and
 * the kernel recomputes the block with the general operations; so is a
 * lane with s non-zero below 2^emin, unless the format has subnormals
 * and the kernel asks the lanes to round onto the subnormal grid
 * (nfi_wide_round).  Kernels that have proven beforehand that no value
 * can leave the normal range (sim/matmul_wide.c) skip these checks; so
 * do those that have proven it for the products alone and bounded the
 * sums from above, in a format with subnormals: there a sum whose exact
 * value lies below 2^emin is a multiple of the subnormal step Q with
 * fewer than p significant bits, exact in binary64, e = 0, its bits
 * below the grid of its own binade zero, and the rounding leaves it.  A zero s
 * is accepted: a binary64 sum is zero only when exact (with the sign RNE
 * gives), and a product only when a factor is zero (products_never_tiny),
 * with the sign of the exact product; e is then 0 and the rounding
 * leaves the zero as it is.
 *
 * The slow twin of every lane operation is the fast engine's scalar
 * operation (nfi_fast_mul, nfi_fast_add), itself tested against MPFR. */
#ifndef NFI_LANES_WIDE_H
#define NFI_LANES_WIDE_H

#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine_fast.h"
#include "lanes.h"

/* The constants of a format for these lanes, from its fast context. */
typedef struct nfi_lanes_wide {
    uint64_t shift;    /* 53 - p, 1 to 27 */
    uint64_t half;     /* half a grid step, less one (units of s) */
    uint64_t low;      /* the bits below the grid */
    uint64_t min;      /* bits of 2^emin */
    uint64_t max;      /* bits of max_finite */
    double magic;      /* 2^52 Q, Q = 2^(emin - p + 1) the subnormal step */
    double half_q;     /* Q / 2 */
    uint64_t mid;      /* the bits below the grid of a midpoint */
    nfi_v4d split;     /* 2^(53 - p) + 1 in every lane, for
                          nfi_wide_split (as nfi_lanes_sub's) */
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
                        f->low_mask, f->min_normal_bits, f->max_finite_bits,
                        f->subnormal_magic,
                        ldexp(1.0, f->emin - f->p),
                        f->half_minus_one + 1,
                        nfi_splat4(ldexp(1.0, 53 - f->p) + 1.0)};
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

/* The range flags of a block of lanes: out, non-zero where a binary64
 * result s had a magnitude above max_finite (NaN and infinity
 * included); lo, the least (magnitude - 1) met, read as a binary64
 * number: the bit patterns of non-zero magnitudes less one are ordered
 * as the numbers, and a zero gives all ones, a NaN, which the
 * comparison t < lo skips. */
typedef struct nfi_wide_flags {
    nfi_v4u out;
    nfi_v4d lo;
    bool subnormal; /* round below 2^emin instead of recording lo */
} nfi_wide_flags;

/* Flags for a block; subnormal (only for a format with subnormals, and
 * best a constant) makes the lanes round results below 2^emin onto the
 * subnormal grid themselves. */
static inline __attribute__((always_inline)) nfi_wide_flags
nfi_wide_flags_new(bool subnormal)
{
    nfi_wide_flags g = {{0, 0, 0, 0}, {INFINITY, INFINITY, INFINITY,
                                        INFINITY}, subnormal};
    return g;
}

/* Whether any lane was flagged: above max_finite, or a non-zero
 * magnitude below 2^emin (lo below the bits of 2^emin less one). */
static inline __attribute__((always_inline)) int
nfi_wide_flagged(const nfi_lanes_wide *c, const nfi_wide_flags *g)
{
    double least;
    uint64_t m = c->min - 1;
    memcpy(&least, &m, sizeof least);
    int any = nfi_lanes_any(g->out);
    for (int l = 0; l < 4; l++)
        any |= g->lo[l] < least;
    return any;
}

/* RNE to p bits of x = s + e, e the exact error of s = RN64(x) (see the
 * top of this file), with the carry c: the parity of the grid where
 * e = 0, else 1 when e has s's sign and 0 when not.  Records the range
 * of s in *g unless g is NULL (a constant after inlining).  Integer
 * arithmetic on the bit patterns; the baseline clone emulates the 64-bit
 * compares.
 *
 * With g->subnormal, a lane with 0 < |s| < 2^emin is rounded onto the
 * subnormal grid, the multiples of Q = 2^(emin - p + 1), instead of being
 * recorded.  The argument at the top holds for that grid too: its
 * midpoints, odd multiples of Q/2 >= 2^-1074 (products_never_tiny), are
 * binary64 numbers, and |e| <= u53(s)/2 < Q/2.  |s| + 2^52 Q rounds |s|
 * to a multiple of Q in binary64 (ties to even multiples), and the
 * subtraction of 2^52 Q is exact; the difference d from |s| is exact
 * (both below 2^emin, at most Q/2 apart), and |d| = Q/2 marks a midpoint,
 * where e != 0 decides: |s| + Q/2 when e has s's sign, |s| - Q/2 when
 * not.  The sign of s is put back (an underflow to zero keeps it, as
 * RNE does).  Up to 2^emin the grid step of the lowest binade is Q too,
 * so a result of 2^emin is right. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_round(const nfi_lanes_wide *c, nfi_v4d s, nfi_v4d e,
               nfi_wide_flags *g)
{
    typedef int64_t v4i __attribute__((vector_size(32)));
    const uint64_t sign_bit = 0x8000000000000000ULL;
    nfi_v4u b = (nfi_v4u)s, eb = (nfi_v4u)e;

    nfi_v4u mag = b & ~sign_bit;
    if (g != NULL) {
        v4i max = {(int64_t)c->max, (int64_t)c->max, (int64_t)c->max,
                   (int64_t)c->max};
        g->out |= (nfi_v4u)((v4i)mag > max);
        if (!g->subnormal) {
            nfi_v4d t = (nfi_v4d)(mag - 1);
            nfi_v4u less = (nfi_v4u)(t < g->lo);
            g->lo = (nfi_v4d)(((nfi_v4u)t & less) |
                              ((nfi_v4u)g->lo & ~less));
        }
    }

    nfi_v4u same = ((eb ^ b) >> 63) ^ 1;
    nfi_v4u parity = (b >> c->shift) & 1;
    nfi_v4u exact = (nfi_v4u)(e == 0.0); /* all ones or 0 */
    nfi_v4u carry = same ^ ((same ^ parity) & exact);
    nfi_v4u r = (b + c->half + carry) & ~c->low;

    if (g != NULL && g->subnormal) {
        v4i min = {(int64_t)c->min, (int64_t)c->min, (int64_t)c->min,
                   (int64_t)c->min};
        nfi_v4u tiny = (nfi_v4u)((v4i)mag < min);
        if (!nfi_lanes_any(tiny))
            return (nfi_v4d)r; /* no lane below 2^emin: r is right */
        nfi_v4d a = (nfi_v4d)mag, m = nfi_splat4(c->magic);
        nfi_v4d h = nfi_splat4(c->half_q);
        nfi_v4d q = (a + m) - m, d = q - a;
        nfi_v4u tie = (nfi_v4u)((d == h) | (d == -h)) & ~exact;
        nfi_v4u side = 0 - same; /* all ones when e has s's sign */
        nfi_v4u moved = ((nfi_v4u)(a + h) & side) |
                        ((nfi_v4u)(a - h) & ~side);
        nfi_v4u sub = (((nfi_v4u)q & ~tie) | (moved & tie)) |
                      (b & sign_bit);
        r = (r & ~tiny) | (sub & tiny);
    }
    return (nfi_v4d)r;
}

/* The product of format values a and b, rounded (flags as above). */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_mul(const nfi_lanes_wide *c, nfi_v4d a, nfi_v4d b,
             nfi_wide_flags *g)
{
    nfi_v4d s = a * b;
    nfi_v4d e = nfi_wide_fma4(a, b, -s);
    return nfi_wide_round(c, s, e, g);
}

/* The sum of format values a and b, rounded (flags as above). */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_add(const nfi_lanes_wide *c, nfi_v4d a, nfi_v4d b,
             nfi_wide_flags *g)
{
    nfi_v4d s = a + b;
    nfi_v4d bb = s - a;
    nfi_v4d e = (a - (s - bb)) + (b - bb);
    return nfi_wide_round(c, s, e, g);
}

/* The quotient a / b of format values, rounded (flags as above).  With
 * q = RN64(a / b) the remainder r = a - q b is exact as fma(-q, b, a)
 * whenever q is zero or the lane is not flagged (|q| >= 2^emin, b
 * finite and non-zero):
 *   - b is a multiple of 2^(eb' - p + 1), eb' = max(eb, emin) with eb
 *     the exponent of b, and q of 2^(eq - 52), so q b and then r (a is
 *     a multiple of 2^(max(ea, emin) - p + 1), and ea >= eq + eb - 1
 *     when b is normal, ea >= eq + emin - p otherwise, p <= 52) are
 *     multiples of Q0 = 2^(eq + eb' - p - 51);
 *   - |r| = |b| |a / b - q| <= |b| 2^(eq - 53) < 2^(eq + eb' - 52), that
 *     is below 2^(p - 1) Q0: r has at most 51 significant bits;
 *   - Q0 >= 2^(2 emin - p - 51) >= 2^(p - 1075) >= 2^-1049 when
 *     |q| >= 2^emin, because products_never_tiny gives
 *     2 emin >= 2 p - 1024: r is a binary64 number, and the FMA, exact
 *     before its one rounding, returns it.
 * The exact quotient minus q is r / b, so its sign is sign(r) sign(b)
 * and it is zero exactly when r is: that is all nfi_wide_round reads of
 * its error argument (its sign and whether it is zero; |a / b - q| <=
 * u53(q)/2 as for a sum).  A zero q with a non-zero a (a binary64
 * underflow, |a / b| < 2^-1074) is an exact value far below half the
 * format's least positive value (at least 2^(emin - p) >= 2^-512 by
 * products_never_tiny), so its RNE is the zero of its sign, which the
 * rounding of s = q leaves as it is.
 *
 * With g->subnormal (the format has subnormals), a lane with
 * 0 < |q| < 2^emin is rounded onto the subnormal grid (Q = 2^(emin - p
 * + 1)) as nfi_wide_round describes, which needs the sign of a / b - q
 * and |a / b - q| <= u53(q)/2 again, now for a, b and q possibly below
 * 2^emin:
 *   - |q| < Q/2 (q a binary64 subnormal or zero included): RN64 is
 *     monotone and Q/2 is a binary64 number, so |a / b| <= Q/2, whose
 *     RNE is the zero of its sign (a tie at Q/2 goes to the even 0),
 *     and the rounding of s = q gives that zero whatever the error;
 *   - |q| >= Q/2 = 2^(emin - p) >= 2^-512 (q is a normal binary64
 *     number): a is a non-zero multiple of Q, so ea >= emin - p + 1, and
 *     |q| |b| >= |a| (1 - 2^-53) gives eq + eb >= emin - p - 1; then
 *     Q0 = 2^(eq + eb' - p - 51) >= 2^(emin - 2 p - 52) >= 2^-1074
 *     (emin >= p - 512 >= 2 p - 1022), the bound |r| < 2^(p - 1) Q0 and
 *     the argument that a and q b are multiples of Q0 hold as above
 *     (eq + eb <= ea, and eb' - eb <= p - 1), so r is exact. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_div(const nfi_lanes_wide *c, nfi_v4d a, nfi_v4d b,
             nfi_wide_flags *g)
{
    const uint64_t sign_bit = 0x8000000000000000ULL;
    nfi_v4d q = a / b;
    nfi_v4d r = nfi_wide_fma4(-q, b, a);
    nfi_v4d e = (nfi_v4d)((nfi_v4u)r ^ ((nfi_v4u)b & sign_bit));
    return nfi_wide_round(c, q, e, g);
}

/* The square root of a format value a, rounded (flags as above).  With
 * s = RN64(sqrt(a)) the remainder r = a - s^2 is exact as fma(-s, s, a)
 * when a >= 2^emin (a lane whose a was flagged is recomputed anyway):
 * s^2 is a multiple of 2^(2 es - 104) (es the exponent of s; a too, a
 * multiple of 2^(ea - p + 1) with p <= 52 and ea >= 2 es - 1),
 * |sqrt(a) - s| <= 2^(es - 53) and sqrt(a) + s < 2^(es + 2), so
 * |r| < 2^(2 es - 51): 53 bits at most, on a quantum of at least
 * 2^(emin - 106) >= 2^-1074 (2 es >= emin - 2, and emin >= p - 512 by
 * products_never_tiny).  sqrt(a) - s = r / (sqrt(a) + s) has r's sign.
 * A zero a gives s = a (sqrt(-0) = -0) and r = 0; a negative a or +inf
 * gives NaN or +inf, flagged.  Each lane calls sqrt: the rounding of s
 * is binary64's correctly rounded square root in every clone.
 *
 * With g->subnormal, a may be a subnormal of the format too (a non-zero
 * multiple of Q = 2^(emin - p + 1)): then s >= 2^((emin - p) / 2), so
 * 2 es - 104 >= emin - p - 106 >= -1074, a is a multiple of Q, which is
 * a multiple of 2^(2 es - 104) (2 es <= ea + 1 <= emin), and r is exact
 * as above; s itself may lie below 2^emin (when emin > -(p - 1)), and is
 * then rounded onto the subnormal grid, with the sign of sqrt(a) - s and
 * |sqrt(a) - s| <= u53(s)/2 as nfi_wide_round needs. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_sqrt(const nfi_lanes_wide *c, nfi_v4d a, nfi_wide_flags *g)
{
    nfi_v4d s;
    for (int l = 0; l < 4; l++)
        s[l] = sqrt(a[l]);
    nfi_v4d r = nfi_wide_fma4(-s, s, a);
    return nfi_wide_round(c, s, r, g);
}

/* Rounding by Veltkamp's split, for kernels that have proven the values
 * they round this way normal format values, zeros or exact sums below
 * 2^emin in a format with subnormals (sim/matmul_wide.c: every value
 * under its unchecked watch, the products under plain products), so
 * that no range needs recording.
 *
 * nfi_wide_split(c, v) is RNE_p(v) of a binary64 lane v that is zero or
 * a normal binary64 number with |v| <= max_finite, for 26 <= p <= 51,
 * when emax + 54 - p <= 1022 (nfi_wide_split_applies): nfi_lanes_veltkamp
 * (lanes.h) with s = 53 - p, 2 <= s <= 27; C |v| < 2^(emax + s + 2) <=
 * 2^1023, and a non-zero |v| >= 2^(emin - p + 1) >= 2^-511 by
 * products_never_tiny (a v below 2^emin, an exact sum in a format with
 * subnormals, has fewer than p significant bits: the split returns it).
 * (tests/kernels/test_matmul_wide checks ties at both ends of the
 * significand, their binary64 neighbours and random values against the
 * engine's rounding.)
 *
 * The result of an operation is RNE_p(x) for its exact value x, and
 * RNE_p(RN53(x)) = RNE_p(x) unless RN53(x) is a midpoint of the p-bit
 * grid (nfi_wide_midpoint) and x is not, that is x is inexact in
 * binary64 (the argument at the top of this file); exact ties the split
 * rounds right.  The operations below therefore mark (unless
 * nfi_wide_split_exact, below) lanes where s = RN53(x) is a midpoint
 * with x inexact, and the kernels compute their block again with the
 * error terms (nfi_wide_mul, nfi_wide_add): where s is a midpoint and
 *   - for a product, fma(a, b, -s) != 0, the exact error (as in
 *     nfi_wide_mul) off the critical path.  Exact product ties are
 *     frequent in training (a value with few significant bits): marked
 *     at every midpoint, 5 % of the blocks of a p = 28 run were computed
 *     twice, against 0.002 % with the test;
 *   - for a sum, s - a != b or s - b != a.  Exact ties are frequent among
 *     sums too (values of nearby exponents).  When a + b = s both
 *     differences are exact (b and a); when not, the difference with the
 *     operand of larger magnitude is exact (Dekker's lemma for Fast2Sum)
 *     and differs from the other operand.
 * A binary64 result with random low bits is a midpoint once in
 * 2^(53 - p); a block of a matrix product rounds some 4000 values, so
 * from p = 37 on a good part of the blocks would be computed twice (at
 * p = 51 nearly all: 1.6 times slower), and the kernels use the split
 * only up to NFI_WIDE_SPLIT_MAX_P (the proof holds up to 51).
 *
 * For p <= 26 (of these formats p = 26) no lane needs a mark
 * (nfi_wide_split_exact): a product of two p-bit significands has at
 * most 52 bits and is exact, and an inexact binary64 sum of two format
 * values a, b is never a p-bit midpoint.  Proof: let |a| >= |b| > 0,
 * 2^ea <= |a| < 2^(ea + 1), likewise eb, ex for b and x = a + b, es for
 * s = RN53(x) (es >= ex, |x - s| <= 2^(ex - 53)).  Both operands are
 * multiples of 2^(eb - p + 1) (a subnormal b of a coarser step), so x
 * is; inexact, x has a bit below 2^(ex - 52): eb <= ex - 54 + p.  If s
 * were a midpoint, an odd multiple of 2^(es - p): where es <= ea, a is
 * a multiple of 2^(es - p + 1), so |s - a| >= 2^(es - p); where es > ea
 * (es = ea + 1: |x| < 2^(ea + 2), and s = 2^(ea + 2), a power of two,
 * is no midpoint), |s| >= 2^es (1 + 2^-p) and |a| <= 2^es -
 * 2^(ea - p + 1), so |s - a| >= 2^(es - p + 1).  Either way |b| =
 * |x - a| >= 2^(ex - p) - 2^(ex - 53) >= 2^(ex - p - 1), so eb >=
 * ex - p - 1, and with the first bound 2p >= 53: p >= 27. */
#define NFI_WIDE_SPLIT_MAX_P 36
static inline bool nfi_wide_split_applies(const nfi_fast *f)
{
    return nfi_lanes_wide_apply(f) && f->p <= NFI_WIDE_SPLIT_MAX_P &&
           f->format.emax + 54 - f->p <= 1022;
}

/* Whether the split operations need no marks (see above). */
static inline bool nfi_wide_split_exact(const nfi_fast *f)
{
    return f->p <= 26;
}

static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_split(const nfi_lanes_wide *c, nfi_v4d v)
{
    return nfi_lanes_veltkamp(v, c->split);
}

/* All ones in the lanes where s is a midpoint of the p-bit grid: its bits
 * below the grid are exactly half a step. */
static inline __attribute__((always_inline)) nfi_v4u
nfi_wide_midpoint(const nfi_lanes_wide *c, nfi_v4d s)
{
    return (nfi_v4u)(((nfi_v4u)s & c->low) == c->mid);
}

/* The product of format values a and b rounded by the split; *mark gets
 * the lanes that need the error term (see above); mark NULL (best a
 * constant) where nfi_wide_split_exact. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_mul_split(const nfi_lanes_wide *c, nfi_v4d a, nfi_v4d b,
                   nfi_v4u *mark)
{
    nfi_v4d s = a * b;
    if (mark != NULL) {
        nfi_v4u inexact = (nfi_v4u)(nfi_wide_fma4(a, b, -s) != 0.0);
        *mark |= nfi_wide_midpoint(c, s) & inexact;
    }
    return nfi_wide_split(c, s);
}

/* The sum of format values a and b rounded by the split; *mark as for
 * nfi_wide_mul_split. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_wide_add_split(const nfi_lanes_wide *c, nfi_v4d a, nfi_v4d b,
                   nfi_v4u *mark)
{
    nfi_v4d s = a + b;
    if (mark != NULL) {
        nfi_v4u inexact = (nfi_v4u)((s - a != b) | (s - b != a));
        *mark |= nfi_wide_midpoint(c, s) & inexact;
    }
    return nfi_wide_split(c, s);
}

#endif
