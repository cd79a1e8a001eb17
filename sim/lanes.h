/* nfi: four binary64 lanes rounded to p <= 25 bits in RNE, for fused
 * vector kernels of the fast engine.
 *
 * The fast engine's plain route for RNE with p <= 25 (engine_fast.h):
 * compute + - * / sqrt in binary64, then round the binary64 result to p
 * bits.  A product of two p <= 25 bit significands is exact in binary64
 * (when it does not underflow there), and for + - / sqrt binary64 then
 * p bits is an innocuous double rounding (53 >= 2p + 2; Roux 2014) when
 * the binary64 result is normal.  Rounding to p bits is right on the bit
 * pattern when the result lies in the format's normal range.  Kernels
 * built on these lanes therefore compute in binary64, round each result
 * with nfi_lanes_round, and recompute, through the fast engine's general
 * operations, any block where a lane was flagged: a subnormal result,
 * an overflow, an infinity or a NaN.  Zeros are accepted: a binary64 sum
 * or quotient of format values is zero only when exact, and a product
 * only when a factor is zero, provided the format's non-zero products
 * never underflow binary64 (nfi_fast.products_never_tiny), which the
 * kernels require.  For the division the operands and a normal-range
 * quotient then also stay inside [2^-900, 2^900], the fast engine's own
 * condition for its plain division.  For formats with subnormals,
 * nfi_lanes_round_sub, nfi_lanes_round_grid and nfi_lanes_round_split
 * (below, each for the results its contract names) round subnormal
 * results in the lanes too, and only overflow, infinities and NaN need
 * a flag (nfi_lanes_flag_over).
 *
 * Lanes are GCC vector extensions (also in Clang): AVX2 in the
 * x86-64-v3 clones (sim/cpu.h), pairs of SSE2 operations otherwise; a
 * cast between nfi_v4d and nfi_v4u reinterprets the bits. */
#ifndef NFI_LANES_H
#define NFI_LANES_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine_fast.h"

typedef double nfi_v4d __attribute__((vector_size(32)));
typedef uint64_t nfi_v4u __attribute__((vector_size(32)));
/* The functions taking and returning these are static and inlined, so
 * GCC's note on their calling convention without AVX does not apply. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* A loop of n or fewer passes unrolled, so that values kept per pass
 * (running sums, blocks side by side) stay in registers. */
#define NFI_PRAGMA(x) _Pragma(#x)
#define NFI_UNROLL(n) NFI_PRAGMA(GCC unroll n)
/* for (h = 0; h < blocks; h++), unrolled, for kernels that take up to
 * two blocks of lanes side by side (blocks a constant after inlining),
 * each operation for every block before the next. */
#define NFI_EACH_BLOCK(h, blocks)                                           \
    NFI_UNROLL(2) for (int h = 0; h < (blocks); h++)

/* The rounding constants of a format, from its fast-engine context. */
typedef struct nfi_lanes_rne {
    uint64_t shift;  /* 53 - p */
    uint64_t half;   /* half a grid step, less one */
    uint64_t parity; /* 1 (0 when p = 53) */
    uint64_t keep;   /* clears the bits below the grid, keeps the sign */
    uint64_t min;    /* bits of 2^emin */
    uint64_t above;  /* the largest magnitude that rounds to a finite
                        value: the largest finite value plus just under
                        half its grid step (the tie above it rounds to
                        even, away from it, since its significand is
                        odd) */
} nfi_lanes_rne;

static inline nfi_lanes_rne nfi_lanes_rne_of(const nfi_fast *f)
{
    nfi_lanes_rne c = {(uint64_t)f->shift, f->half_minus_one,
                       f->parity_mask, ~f->low_mask, f->min_normal_bits,
                       f->max_finite_bits + f->half_minus_one};
    return c;
}

static inline __attribute__((always_inline)) nfi_v4d
nfi_load4(const double *p)
{
    nfi_v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void
nfi_store4(double *p, nfi_v4d v)
{
    memcpy(p, &v, sizeof v);
}

/* The first n (at most 4) values at p in lanes, the other lanes fill;
 * and the first n lanes of v stored at p: the ends of arrays whose
 * length is not a multiple of four. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_load4_part(const double *p, size_t n, double fill)
{
    double v[4] = {fill, fill, fill, fill};
    memcpy(v, p, n * sizeof *v);
    return nfi_load4(v);
}

static inline __attribute__((always_inline)) void
nfi_store4_part(double *p, size_t n, nfi_v4d v)
{
    double y[4];
    nfi_store4(y, v);
    memcpy(p, y, n * sizeof *y);
}

/* x in every lane.  A macro (a GNU statement expression, as the vector
 * extension is GNU C): built by an inline function, whose return value
 * GCC 12 lowers before it knows the caller's AVX2 target clone, the
 * splat of a loaded value took three operations (vmovsd, vunpcklpd,
 * vperm2f128) where vbroadcastsd takes one. */
#define nfi_splat4(x)                                                       \
    __extension__({                                                         \
        double nfi_splat4_x_ = (x);                                         \
        (nfi_v4d){nfi_splat4_x_, nfi_splat4_x_, nfi_splat4_x_,              \
                  nfi_splat4_x_};                                           \
    })

/* RNE of each lane of v to p bits by its bit pattern b: add just under
 * half a grid step plus the parity bit, clear the bits below the grid (a
 * carry moves into the exponent correctly; no carry reaches the sign
 * from a lane in range).  Sets bits of *outside unless the lane is zero
 * or its magnitude lies in [2^emin, above].  Comparisons are the sign
 * bits of differences of numbers below 2^63: plain integer arithmetic,
 * which vectorises everywhere. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_lanes_round(const nfi_lanes_rne *c, nfi_v4d v, nfi_v4u *outside)
{
    nfi_v4u b = (nfi_v4u)v, mag = b & 0x7fffffffffffffffULL;
    nfi_v4u r = (b + c->half + ((b >> c->shift) & c->parity)) & c->keep;
    nfi_v4u below = (mag - c->min) >> 63, nonzero = (0 - mag) >> 63;
    nfi_v4u over = (c->above - mag) >> 63;
    *outside |= (below & nonzero) | over;
    return (nfi_v4d)r;
}

/* The range of count contiguous values by the bit patterns of their
 * magnitudes, folded into *top (the largest pattern: a NaN's is above
 * every number's, an infinity's above every finite one's) and *low (the
 * smallest pattern less one, a zero wrapping to UINT64_MAX: the smallest
 * non-zero magnitude less one; UINT64_MAX when there is none), four
 * lanes at a time.  Magnitude patterns are below 2^63, so signed 64-bit
 * comparisons (which AVX2 has; it has no unsigned ones) order them; a
 * zero enters the lanes' minimum as INT64_MAX, which only a NaN's
 * pattern reaches, and a NaN already makes *top exceed every number's.
 * At the end a minimum of INT64_MAX (nothing non-zero) leaves *low as it
 * was. */
static inline __attribute__((always_inline)) void
nfi_lanes_span(const double *v, size_t count, uint64_t *top, uint64_t *low)
{
    typedef int64_t v4i __attribute__((vector_size(32)));
    const uint64_t magnitude = 0x7fffffffffffffffULL;
    const int64_t none = INT64_MAX;
    v4i most = {0, 0, 0, 0}, least = {none, none, none, none};
    size_t t = 0;
    for (; t + 4 <= count; t += 4) {
        v4i mag = (v4i)((nfi_v4u)nfi_load4(v + t) & magnitude);
        v4i up = mag > most;
        most = (mag & up) | (most & ~up);
        v4i zero = mag == 0;
        v4i cand = mag | (zero & none);
        v4i down = cand < least;
        least = (cand & down) | (least & ~down);
    }
    for (int l = 0; l < 4; l++) {
        uint64_t hi = (uint64_t)most[l];
        *top = hi > *top ? hi : *top;
        if (least[l] != none && (uint64_t)least[l] - 1 < *low)
            *low = (uint64_t)least[l] - 1;
    }
    for (; t < count; t++) {
        uint64_t x;
        memcpy(&x, v + t, sizeof x);
        x &= magnitude;
        *top = x > *top ? x : *top;
        *low = x - 1 < *low ? x - 1 : *low;
    }
}

/* Whether any lane was flagged. */
static inline __attribute__((always_inline)) int
nfi_lanes_any(nfi_v4u outside)
{
    return (outside[0] | outside[1] | outside[2] | outside[3]) != 0;
}

/* RNE to p <= 25 bits over the whole finite range of a format with
 * subnormals, without flags below 2^emin.  For a lane v, let 2^e be the
 * larger of 2^emin and the power of two at or below |v| (the exponent
 * field of |v|, raised to emin's), and M = 1.5 * 2^(e + 53 - p), which is
 * exactly representable and whose binary64 unit in the last place is
 * 2^(e - p + 1): the format's grid step for |v| (the subnormal quantum
 * 2^(emin - p + 1) when |v| < 2^emin).  Since |v| < 2^(e + 1) <=
 * M / 3 for p <= 51, v + M lies in [2M/3, 4M/3], one binade of M's
 * (or its upper end, a grid point), so the binary64 addition rounds v
 * to a multiple of that grid step, ties to an even multiple (M is an
 * even one: M / 2^(e - p + 1) = 3 * 2^51, so for a negative v the
 * rounding of M - |v| is M less that of |v|); the subtraction of M is
 * then exact, and gives RNE_p(v) on the format's grid, 2^(e + 1) in
 * magnitude included when it rounds up.  A result of zero comes out
 * +0 (M - M); the sign bit of v is put back by OR, which leaves the
 * other results (of v's sign already) as they are: a magnitude that
 * rounds to zero must give the zero of v's sign, as the fast engine's
 * subnormal rounding does, and a zero v keeps its sign.
 *
 * That this is the fast engine's result for a binary64 lane v computed
 * by the kernels (engine_fast.c, plain RNE p <= 25):
 *   - a product of two format values is exact in binary64 when the
 *     format's non-zero products never underflow binary64
 *     (nfi_fast.products_never_tiny, required by the kernels), so v is
 *     the exact product and RNE_p(v) is its correct rounding;
 *   - a sum of two format values whose exact value x is below 2^emin in
 *     magnitude is a multiple of the quantum 2^(emin - p + 1), so it has
 *     fewer than p significant bits and v = x (the rounding is then
 *     exact too); when |x| >= 2^emin, v = RN53(x) with |v| >= 2^emin, and
 *     RNE_p(RN53(x)) = RNE_p(x) because 53 >= 2p + 2 (innocuous double
 *     rounding; Roux 2014), the engine's own argument;
 *   - the engine rounds v the same way: by bits in the normal range and
 *     by the magic constant 2^(emin - p + 1 + 52) below it, both RNE to
 *     the grid above, and a zero v is returned as it is.
 * What the rounding cannot do is overflow: lanes whose magnitude exceeds
 * `above` (they round beyond the largest finite value), infinities and
 * NaN must be recomputed by the fast engine's operations: the caller
 * flags them (nfi_lanes_flag_over) or has ruled them out.  The
 * constants M need binary64 to hold 2^(emax + 54 - p) and a normal
 * 2^(emin + 53 - p): nfi_lanes_sub_applies checks that with the rest.
 *
 * The maximum with emin's exponent field is taken on 32-bit words: the
 * low words of both fields are zero and the high ones below 2^31, so the
 * signed word maximum is that of the 64-bit fields.  (GCC's vector
 * extension in C has no conditional operator; written lane by lane, the
 * maximum compiles to one AVX2 vpmaxsd, where the mask form took a
 * compare and a blend.) */
typedef int32_t nfi_v8i __attribute__((vector_size(32)));
typedef int64_t nfi_v4i __attribute__((vector_size(32)));

typedef struct nfi_lanes_sub {
    nfi_v8i min;     /* the exponent field of 2^emin, as 32-bit words */
    uint64_t offset; /* bits of 1.5 * 2^(53 - p) less those of 1.0 */
    int64_t above;   /* as in nfi_lanes_rne */
    nfi_v4d split;   /* 2^(53 - p) + 1 in every lane, for
                        nfi_lanes_round_split (a vector, so that kernels
                        short of registers reload it rather than
                        rebuild it lane by lane) */
} nfi_lanes_sub;

/* Whether nfi_lanes_round_sub gives the fast engine's RNE results for
 * the format of f: plain RNE (p <= 25), subnormals on, non-zero products
 * never tiny in binary64, and emax + 54 - p <= 1023.  Overflow options
 * do not matter: overflowing lanes are recomputed. */
static inline bool nfi_lanes_sub_applies(const nfi_fast *f)
{
    return f->plain_rne && f->format.subnormals && f->products_never_tiny &&
           f->format.emax + 54 - f->p <= 1023;
}

static inline nfi_lanes_sub nfi_lanes_sub_of(const nfi_fast *f)
{
    /* Reinterpreted as e is in nfi_lanes_round_sub, so that the words
     * match whatever the byte order. */
    uint64_t m = f->min_normal_bits;
    nfi_v4u min = {m, m, m, m};
    nfi_lanes_sub c = {(nfi_v8i)min,
                       ((uint64_t)(53 - f->p) << 52) | (1ULL << 51),
                       (int64_t)(f->max_finite_bits + f->half_minus_one),
                       nfi_splat4(ldexp(1.0, 53 - f->p) + 1.0)};
    return c;
}

static inline __attribute__((always_inline)) nfi_v4d
nfi_lanes_round_sub(const nfi_lanes_sub *c, nfi_v4d v)
{
    nfi_v4u b = (nfi_v4u)v;
    nfi_v8i e = (nfi_v8i)(b & 0x7ff0000000000000ULL);
    for (int w = 0; w < 8; w++)
        e[w] = e[w] > c->min[w] ? e[w] : c->min[w];
    nfi_v4d big = (nfi_v4d)((nfi_v4u)e + c->offset);
    nfi_v4d r = (v + big) - big;
    return (nfi_v4d)((nfi_v4u)r | (b & 0x8000000000000000ULL));
}

/* Veltkamp's splitting as a rounding: RNE of a binary64 lane v to
 * p = 53 - s bits, 2 <= s <= 51, with split = C = 2^s + 1, for v zero or
 * normal, C v finite and every step normal (the callers' conditions).
 * g = RN(C v), then g - RN(g - v) is v rounded to nearest on p bits
 * (Dekker 1971; Boldo 2006 proves it for every radix and every such s,
 * without overflow), and in radix 2 with ties to even a tie goes to even
 * as well: for v = (m + 1/2) u, u the p-bit step of v and 2^(p-1) <= m <
 * 2^p, C v = (m 2^s + 2^(s-1) + m + 1/2) u.  Where the binary64 step of
 * C v is u, that is a tie; where it is 2u (C v >= 2^53 u) the nearest
 * multiple of 2u is unique; both give g = (m 2^s + 2^(s-1) + m + c) u
 * with c the parity of m (m 2^s and 2^(s-1) are even for s >= 2).  Then
 * g - v = (m 2^s + 2^(s-1) + c - 1/2) u, below 2^53 u, is a tie between
 * two multiples of u, of which (m 2^s + 2^(s-1)) u is the even one
 * whichever c is; the difference, (m + c) u, is the even neighbour of v,
 * exactly.  Written g - (g - v) rather than g + (v - g) so that a zero
 * keeps its sign (-0: g = -0, g - v = +0, -0 - +0 = -0).  Three
 * floating-point operations. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_lanes_veltkamp(nfi_v4d v, nfi_v4d split)
{
    nfi_v4d g = v * split;
    return g - (g - v);
}

/* RNE to p <= 25 bits, for a format where nfi_lanes_sub_applies, of a
 * lane v that is zero, or lies in [2^emin, above] in magnitude, or lies
 * below 2^emin and is a multiple of the subnormal quantum Q =
 * 2^(emin - p + 1): nfi_lanes_veltkamp with s = 53 - p >= 28.
 * (tests/kernels/test_lanes checks every tie and its binary64
 * neighbours for p <= 14 and random ones beyond, in both binades of
 * C v.)  above < 2^(emax + 1) - 2^(emax - p) (the largest finite value
 * plus less than half its step), so C |v| <= (2^s + 1) above <
 * 2^(emax + 54 - p) + 2^(emax + 1) - 2^(emax + 53 - 2p), below
 * 2^(emax + 54 - p) since 53 - 2p > 1; and 2^(emax + 54 - p) <= 2^1023
 * (nfi_lanes_sub_applies), so nothing overflows.  A non-zero v is at
 * least Q >= 2^-511 (products_never_tiny), which keeps every step
 * normal.  A multiple of Q below 2^emin has fewer than p significant
 * bits: it is its own p-bit rounding, which the split returns.
 * This is the fast engine's result for
 *   - an exact product of format values that is zero or not tiny (a
 *     product that scan_verdict has shown not to be tiny);
 *   - a binary64 sum of two format values: below 2^emin it is the exact
 *     sum, a multiple of the subnormal quantum with fewer than p bits,
 *     in the normal range RNE_p of it is the engine's (the argument
 *     beside nfi_lanes_sub).
 * In a chain of sums its latency (three dependent operations) against
 * the five short integer ones of nfi_lanes_round_grid is hidden by the
 * kernels' independent chains (two per row, eight for four rows):
 * measured, the fused kernels with the split for their sums run a p = 20
 * training 5 % faster. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_lanes_round_split(const nfi_lanes_sub *c, nfi_v4d v)
{
    return nfi_lanes_veltkamp(v, c->split);
}

/* RNE to p <= 25 bits of a lane v that, when below 2^emin in magnitude,
 * is already a multiple of the subnormal quantum 2^(emin - p + 1): the
 * bit rounding of nfi_lanes_round without its flags.  A binary64 sum of
 * two values of a format with subnormals is such a lane (nfi_lanes_sub's
 * argument: below 2^emin it is the exact sum, a multiple of the quantum),
 * and so needs no magic constant: in the normal range the bit rounding is
 * RNE to p bits, the engine's own; below 2^emin, v is a normal binary64
 * number (2^(emin - p + 1) >= 2^-511 when products never underflow) with
 * fewer than p significant bits, which the bit rounding leaves unchanged,
 * as RNE does; zeros keep their sign.  Overflow is not seen: the caller
 * flags it (nfi_lanes_flag_over) or has ruled it out. */
static inline __attribute__((always_inline)) nfi_v4d
nfi_lanes_round_grid(const nfi_lanes_rne *c, nfi_v4d v)
{
    nfi_v4u b = (nfi_v4u)v;
    return (nfi_v4d)((b + c->half + ((b >> c->shift) & c->parity)) &
                     c->keep);
}

/* Sets bits of *outside where a lane is not zero and its magnitude lies
 * below 2^emin (the part of nfi_lanes_round's flags for the bottom of
 * the range; the same integer comparisons). */
static inline __attribute__((always_inline)) void
nfi_lanes_flag_below(const nfi_lanes_rne *c, nfi_v4d v, nfi_v4u *outside)
{
    nfi_v4u mag = (nfi_v4u)v & 0x7fffffffffffffffULL;
    nfi_v4u below = (mag - c->min) >> 63, nonzero = (0 - mag) >> 63;
    *outside |= below & nonzero;
}

/* Sets bits of *outside where a lane's magnitude exceeds `above` (it
 * rounds beyond the largest finite value) or the lane is an infinity or
 * a NaN: one signed comparison of the bit patterns of the magnitudes
 * (below 2^63; infinities and NaN have the largest). */
static inline __attribute__((always_inline)) void
nfi_lanes_flag_over(const nfi_lanes_sub *c, nfi_v4d v, nfi_v4u *outside)
{
    nfi_v4i mag = (nfi_v4i)((nfi_v4u)v & 0x7fffffffffffffffULL);
    *outside |= (nfi_v4u)(mag > c->above);
}

#endif
