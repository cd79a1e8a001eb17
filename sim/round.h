/* nfi: what every engine shares about rounding.
 *
 * Contract of every operation of every engine: the exact real result,
 * rounded once into the destination format.  The rules below fix the
 * cases IEEE 754 leaves to the format or that nfi adds.
 *
 * Grid.  Rounding takes place on the grid of the format: step
 * 2^(e - p + 1) in the binade [2^e, 2^(e+1)) for emin <= e, step
 * 2^(emin - p + 1) below 2^emin with subnormals, and, without subnormals,
 * a single step [0, 2^emin] (the only values there are 0 and 2^emin).
 *
 * Ties.  RNE picks the neighbour whose significand is even, counting 0 as
 * even; so the half-way case below the smallest positive magnitude (half
 * the smallest subnormal, or half of 2^emin without subnormals) rounds to
 * zero under RNE, and away from zero, to the smallest magnitude, under
 * RNA.  Zero keeps the sign of the exact result; an exact zero sum is +0
 * in every mode except RD, where it is -0 (IEEE 754 6.3).
 *
 * Overflow.  A result is rounded as if the exponent range had no top; if
 * that lands above the largest finite value M the result overflows: RNE,
 * RNA and SR give infinity, RZ gives M, RU gives +infinity or -M, RD gives
 * -infinity or +M (IEEE 754 7.4).  With overflow=saturate every overflow
 * gives +-M.  In a format without infinities (OCP E4M3) an infinite
 * overflow result, and any infinite exact result, is NaN, or +-M with
 * overflow=saturate.
 *
 * Stochastic rounding.  With lo and hi the grid neighbours of x toward and
 * away from zero (q = |hi - lo|) and u a 32-bit random integer, SR(x) is hi
 * when |x| - |lo| >= q * (2^32 - u) / 2^32 and lo otherwise: the
 * probability of hi is (|x| - |lo|) / q rounded down to a multiple of
 * 2^-32.  A representable x is returned unchanged.  u comes from
 * nfi_sr_bits(seed, index): a counter-based generator, so the same seed
 * and operation index give the same rounding on every engine and any
 * number of threads.  min, max, neg, abs and comparisons never round. */
#ifndef NFI_ROUND_H
#define NFI_ROUND_H

#include <stdint.h>

/* 32 random bits for stochastic rounding, a pure function of (seed,
 * index): two rounds of a 64-bit multiply-xorshift mixer over the seed
 * and the index (a SplitMix64-style finaliser).  Statistical quality is
 * checked by the tests; cryptographic quality is not claimed. */
static inline uint32_t nfi_sr_bits(uint64_t seed, uint64_t index)
{
    uint64_t z = seed * 0x9e3779b97f4a7c15ULL + index;
    z ^= z >> 31;
    z *= 0xbf58476d1ce4e5b9ULL;
    z ^= z >> 29;
    z += seed ^ 0x94d049bb133111ebULL;
    z *= 0x94d049bb133111ebULL;
    z ^= z >> 32;
    z *= 0xd6e8feb86659fd93ULL;
    z ^= z >> 32;
    return (uint32_t)z;
}

/* Result of comparing two values: a < b, a == b, a > b, or unordered
 * (either is NaN).  -0 and +0 compare equal, as in IEEE 754. */
typedef enum nfi_order {
    NFI_ORDER_LESS = -1,
    NFI_ORDER_EQUAL = 0,
    NFI_ORDER_GREATER = 1,
    NFI_ORDER_UNORDERED = 2
} nfi_order;

/* The operations an engine provides. */
typedef enum nfi_op {
    NFI_OP_ADD, NFI_OP_SUB, NFI_OP_MUL, NFI_OP_DIV, NFI_OP_SQRT,
    NFI_OP_FMA, NFI_OP_EXP, NFI_OP_LOG, NFI_OP_CVT,
    NFI_OP_NEG, NFI_OP_ABS, NFI_OP_MIN, NFI_OP_MAX
} nfi_op;

#define NFI_OP_COUNT 13

/* Operand count of each operation (cvt takes its one operand as an exact
 * value of any precision). */
int nfi_op_arity(nfi_op op);
/* Whether op rounds (and so takes a stochastic-rounding index): all but
 * neg, abs, min and max. */
int nfi_op_rounds(nfi_op op);
const char *nfi_op_name(nfi_op op);
int nfi_op_parse(const char *name, nfi_op *out);

#endif
