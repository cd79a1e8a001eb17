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
 * condition for its plain division.
 *
 * Lanes are GCC vector extensions (also in Clang): AVX2 in the
 * x86-64-v3 clones (sim/cpu.h), pairs of SSE2 operations otherwise; a
 * cast between nfi_v4d and nfi_v4u reinterprets the bits. */
#ifndef NFI_LANES_H
#define NFI_LANES_H

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

static inline __attribute__((always_inline)) nfi_v4d
nfi_splat4(double x)
{
    nfi_v4d v = {x, x, x, x};
    return v;
}

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

/* Whether any lane was flagged. */
static inline __attribute__((always_inline)) int
nfi_lanes_any(nfi_v4u outside)
{
    return (outside[0] | outside[1] | outside[2] | outside[3]) != 0;
}

#endif
