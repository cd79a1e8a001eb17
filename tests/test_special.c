/* Special cases, with results derived by hand from the rules of
 * sim/round.h and written here, not computed by any engine: signed
 * zeros, infinities, NaN, the largest finite value and the overflow
 * threshold, ties, the smallest normal and subnormal values and the
 * half-way case below the smallest positive magnitude, with and without
 * subnormals and with overflow=saturate, in binary32, bfloat16, OCP e4m3,
 * e5m2, binary64 and a p=40 format.  Each case is checked on the MPFR
 * engine, the fast engine and, for binary32 and binary64 in RNE, the
 * native engine, directly and through nfi_engine_op.  Also: the ternary
 * value of the MPFR engine, exact comparisons, the names and arities of
 * the operations and engines, and the engine choice of nfi_engine_init.
 *
 * Why: the random and exhaustive tests only show that the engines agree
 * with each other; this table is where the agreed answer is pinned to the
 * documented contract. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "engine_fast.h"
#include "engine_mpfr.h"
#include "engine_native.h"
#include "harness.h"

#define INF INFINITY

/* Expected results by mode, in the order of nfi_round: RNE, RNA, RZ, RU,
 * RD, SR.  random_sr marks cases where SR may give either neighbour; the
 * SR result is then checked to be the toward-zero or the away-from-zero
 * one (the RZ entry, or the RU/RD entry by the sign). */
struct special_case {
    const char *spec;
    nfi_op op;
    double a, b, c;
    double expected[NFI_ROUND_COUNT];
    bool random_sr;
};

#define ALL(x) {x, x, x, x, x, x}, false
#define EXACT_ZERO {0.0, 0.0, 0.0, 0.0, -0.0, 0.0}, false
#define MODES(rne, rna, rz, ru, rd) {rne, rna, rz, ru, rd, 0}, true
#define MODES_SR(rne, rna, rz, ru, rd, sr) {rne, rna, rz, ru, rd, sr}, false

#define ADD NFI_OP_ADD
#define SUB NFI_OP_SUB
#define MUL NFI_OP_MUL
#define DIV NFI_OP_DIV
#define SQRT NFI_OP_SQRT
#define FMA NFI_OP_FMA
#define EXP NFI_OP_EXP
#define LOG NFI_OP_LOG
#define CVT NFI_OP_CVT
#define NEG NFI_OP_NEG
#define ABS NFI_OP_ABS
#define MIN NFI_OP_MIN
#define MAX NFI_OP_MAX

#define B32 "binary32"
#define M32 0x1.fffffep+127
#define BF "bfloat16"
#define MBF 0x1.fep+127
#define E4 "e4m3"
#define E5 "e5m2"
#define M5 57344.0
#define B64 "binary64"
#define M64 0x1.fffffffffffffp+1023
#define P40 "p=40,emin=-300,emax=300"
#define M40 0x1.fffffffffep+300

static const struct special_case cases[] = {
    /* Signed zeros: an exact zero sum is +0, -0 in RD; -0 + -0 = -0. */
    {B32, ADD, 1, -1, 0, EXACT_ZERO},
    {B32, SUB, 1, 1, 0, EXACT_ZERO},
    {B32, ADD, 0.0, -0.0, 0, EXACT_ZERO},
    {B32, ADD, -0.0, 0.0, 0, EXACT_ZERO},
    {B32, ADD, 0.0, 0.0, 0, ALL(0.0)},
    {B32, ADD, -0.0, -0.0, 0, ALL(-0.0)},
    {B32, SUB, -0.0, 0.0, 0, ALL(-0.0)},
    {B32, SUB, 0.0, 0.0, 0, EXACT_ZERO},
    {B32, SUB, M32, M32, 0, EXACT_ZERO},
    {B32, FMA, 1, 1, -1, EXACT_ZERO},
    {B32, FMA, 0.0, 5, -0.0, EXACT_ZERO},
    {B32, FMA, -0.0, 5, -0.0, ALL(-0.0)},
    {B32, FMA, 2, -3, 6, EXACT_ZERO},
    {B32, MUL, -0.0, 5, 0, ALL(-0.0)},
    {B32, MUL, -0.0, -5, 0, ALL(0.0)},
    {B32, DIV, 0.0, -3, 0, ALL(-0.0)},
    {B32, SQRT, -0.0, 0, 0, ALL(-0.0)},
    {B32, SQRT, 0.0, 0, 0, ALL(0.0)},
    {B32, NEG, 0.0, 0, 0, ALL(-0.0)},
    {B32, NEG, -0.0, 0, 0, ALL(0.0)},
    {B32, ABS, -0.0, 0, 0, ALL(0.0)},
    {B32, MIN, -0.0, 0.0, 0, ALL(-0.0)},
    {B32, MIN, 0.0, -0.0, 0, ALL(-0.0)},
    {B32, MAX, -0.0, 0.0, 0, ALL(0.0)},
    {B32, MAX, 0.0, -0.0, 0, ALL(0.0)},
    {B32, LOG, 1, 0, 0, ALL(0.0)},
    {B32, EXP, 0.0, 0, 0, ALL(1.0)},
    {B32, EXP, -0.0, 0, 0, ALL(1.0)},
    /* Infinities and NaN. */
    {B32, ADD, INF, -INF, 0, ALL(NAN)},
    {B32, SUB, INF, INF, 0, ALL(NAN)},
    {B32, ADD, INF, 1, 0, ALL(INF)},
    {B32, ADD, -INF, -INF, 0, ALL(-INF)},
    {B32, SUB, 1, INF, 0, ALL(-INF)},
    {B32, MUL, 0.0, INF, 0, ALL(NAN)},
    {B32, MUL, -2, INF, 0, ALL(-INF)},
    {B32, DIV, 1, 0.0, 0, ALL(INF)},
    {B32, DIV, -1, 0.0, 0, ALL(-INF)},
    {B32, DIV, 1, -0.0, 0, ALL(-INF)},
    {B32, DIV, 0.0, 0.0, 0, ALL(NAN)},
    {B32, DIV, INF, INF, 0, ALL(NAN)},
    {B32, DIV, 1, INF, 0, ALL(0.0)},
    {B32, DIV, -1, INF, 0, ALL(-0.0)},
    {B32, SQRT, -1, 0, 0, ALL(NAN)},
    {B32, SQRT, INF, 0, 0, ALL(INF)},
    {B32, SQRT, -INF, 0, 0, ALL(NAN)},
    {B32, SQRT, 4, 0, 0, ALL(2.0)},
    {B32, FMA, 2, 3, INF, ALL(INF)},
    {B32, FMA, INF, 0.0, 1, ALL(NAN)},
    {B32, FMA, INF, 1, -INF, ALL(NAN)},
    {B32, FMA, NAN, 0.0, 1, ALL(NAN)},
    {B32, LOG, 0.0, 0, 0, ALL(-INF)},
    {B32, LOG, -0.0, 0, 0, ALL(-INF)},
    {B32, LOG, -1, 0, 0, ALL(NAN)},
    {B32, LOG, INF, 0, 0, ALL(INF)},
    {B32, LOG, -INF, 0, 0, ALL(NAN)},
    {B32, LOG, NAN, 0, 0, ALL(NAN)},
    {B32, EXP, -INF, 0, 0, ALL(0.0)},
    {B32, EXP, INF, 0, 0, ALL(INF)},
    {B32, EXP, NAN, 0, 0, ALL(NAN)},
    {B32, ADD, NAN, 1, 0, ALL(NAN)},
    {B32, MIN, NAN, 1, 0, ALL(NAN)},
    {B32, MIN, 1, NAN, 0, ALL(NAN)},
    {B32, MAX, NAN, 1, 0, ALL(NAN)},
    {B32, MAX, 1, NAN, 0, ALL(NAN)},
    {B32, MAX, -INF, 1, 0, ALL(1.0)},
    {B32, MIN, INF, -INF, 0, ALL(-INF)},
    {B32, MIN, 1, 2, 0, ALL(1.0)},
    {B32, MAX, 1, 2, 0, ALL(2.0)},
    {B32, NEG, NAN, 0, 0, ALL(NAN)},
    {B32, NEG, INF, 0, 0, ALL(-INF)},
    {B32, ABS, -INF, 0, 0, ALL(INF)},
    {B32, CVT, NAN, 0, 0, ALL(NAN)},
    {B32, CVT, -INF, 0, 0, ALL(-INF)},
    /* Overflow threshold of binary32: the grid step at the largest
     * finite value M is 2^104, so M + 2^103 is the tie between M (odd
     * significand) and 2^128 (even): RNE goes up and overflows. */
    {B32, ADD, M32, 0x1p103, 0, MODES(INF, INF, M32, INF, M32)},
    {B32, ADD, -M32, -0x1p103, 0, MODES(-INF, -INF, -M32, -M32, -INF)},
    {B32, ADD, M32, 0x1p102, 0, MODES(M32, M32, M32, INF, M32)},
    {B32, CVT, 0x1.ffffffp+127, 0, 0, MODES(INF, INF, M32, INF, M32)},
    {B32, CVT, 0x1.fffffefffffffp+127, 0, 0,
     MODES(M32, M32, M32, INF, M32)},
    /* 2 M and 2^128 lie on the grid without a top: SR keeps them and
     * then overflows like RNE. */
    {B32, MUL, M32, 2, 0, MODES_SR(INF, INF, M32, INF, M32, INF)},
    {B32, CVT, 0x1p128, 0, 0, MODES_SR(INF, INF, M32, INF, M32, INF)},
    {B32, CVT, -0x1p128, 0, 0,
     MODES_SR(-INF, -INF, -M32, -M32, -INF, -INF)},
    /* exp(89) ~ 2^128.4: both neighbours beyond M. */
    {B32, EXP, 89, 0, 0, MODES_SR(INF, INF, M32, INF, M32, INF)},
    /* exp(2^69) ~ 2^(8.5e20) overflows even MPFR's widest exponent range
     * (2^(2^62)): the round-to-odd intermediate is MPFR's largest finite
     * number and its neighbour away from zero is infinite. */
    {B32, EXP, 0x1p69, 0, 0, MODES_SR(INF, INF, M32, INF, M32, INF)},
    {B32 ",overflow=saturate", EXP, 0x1p69, 0, 0, ALL(M32)},
    {B32, EXP, -0x1p69, 0, 0, MODES(0.0, 0.0, 0.0, 0x1p-149, 0.0)},
    {B32, MUL, M32, 1, 0, ALL(M32)},
    {B32 ",overflow=saturate", ADD, M32, 0x1p103, 0, ALL(M32)},
    {B32 ",overflow=saturate", ADD, -M32, -0x1p103, 0, ALL(-M32)},
    {B32 ",overflow=saturate", MUL, M32, 4, 0, ALL(M32)},
    /* An exact infinity is not an overflow: it stays infinite. */
    {B32 ",overflow=saturate", DIV, 1, 0.0, 0, ALL(INF)},
    {B32 ",overflow=saturate", ADD, -INF, 1, 0, ALL(-INF)},
    /* Bottom of binary32: smallest subnormal 2^-149, half of it is the
     * tie between 0 (even) and 2^-149. */
    {B32, CVT, 0x1p-150, 0, 0, MODES(0.0, 0x1p-149, 0.0, 0x1p-149, 0.0)},
    {B32, CVT, -0x1p-150, 0, 0,
     MODES(-0.0, -0x1p-149, -0.0, -0.0, -0x1p-149)},
    {B32, CVT, 0x1.0000000000001p-150, 0, 0,
     MODES(0x1p-149, 0x1p-149, 0.0, 0x1p-149, 0.0)},
    {B32, CVT, 0x1.fffffffffffffp-151, 0, 0,
     MODES(0.0, 0.0, 0.0, 0x1p-149, 0.0)},
    {B32, MUL, 0x1p-149, 0.5, 0,
     MODES(0.0, 0x1p-149, 0.0, 0x1p-149, 0.0)},
    {B32, DIV, 0x1p-149, -2, 0,
     MODES(-0.0, -0x1p-149, -0.0, -0.0, -0x1p-149)},
    /* 1.5 and 2.5 subnormal steps: ties to 2 steps (even). */
    {B32, MUL, 0x1p-149, 1.5, 0,
     MODES(0x1p-148, 0x1p-148, 0x1p-149, 0x1p-148, 0x1p-149)},
    {B32, MUL, 0x1.4p-147, 0.5, 0,
     MODES(0x1p-148, 0x1.8p-148, 0x1p-148, 0x1.8p-148, 0x1p-148)},
    {B32, DIV, 0x1p-126, 2, 0, ALL(0x1p-127)},
    {B32, ADD, 0x1p-126, -0x1p-149, 0, ALL(0x1.fffffcp-127)},
    {B32, SUB, 0x1p-149, 0x1p-149, 0, EXACT_ZERO},
    /* exp(-104) is 0.486 smallest subnormals, exp(-103) is 1.32. */
    {B32, EXP, -104, 0, 0, MODES(0.0, 0.0, 0.0, 0x1p-149, 0.0)},
    {B32, EXP, -103, 0, 0,
     MODES(0x1p-149, 0x1p-149, 0x1p-149, 0x1p-148, 0x1p-149)},
    /* Without subnormals the only values below 2^-126 are the zeros;
     * 2^-127 is the tie between 0 and 2^-126. */
    {B32 ",subnormals=off", CVT, 0x1p-127, 0, 0,
     MODES(0.0, 0x1p-126, 0.0, 0x1p-126, 0.0)},
    {B32 ",subnormals=off", CVT, -0x1p-127, 0, 0,
     MODES(-0.0, -0x1p-126, -0.0, -0.0, -0x1p-126)},
    {B32 ",subnormals=off", CVT, 0x1.0000000000001p-127, 0, 0,
     MODES(0x1p-126, 0x1p-126, 0.0, 0x1p-126, 0.0)},
    {B32 ",subnormals=off", CVT, 0x1.fffffffffffffp-128, 0, 0,
     MODES(0.0, 0.0, 0.0, 0x1p-126, 0.0)},
    {B32 ",subnormals=off", CVT, 0x1.fffffep-127, 0, 0,
     MODES(0x1p-126, 0x1p-126, 0.0, 0x1p-126, 0.0)},
    {B32 ",subnormals=off", MUL, 0x1p-126, 0.5, 0,
     MODES(0.0, 0x1p-126, 0.0, 0x1p-126, 0.0)},
    {B32 ",subnormals=off", MUL, 0x1.8p-126, 0.5, 0,
     MODES(0x1p-126, 0x1p-126, 0.0, 0x1p-126, 0.0)},
    /* A non-zero difference that rounds to zero keeps its sign. */
    {B32 ",subnormals=off", SUB, 0x1.8p-126, 0x1p-126, 0,
     MODES(0.0, 0x1p-126, 0.0, 0x1p-126, 0.0)},
    {B32 ",subnormals=off", SUB, 0x1p-126, 0x1.8p-126, 0,
     MODES(-0.0, -0x1p-126, -0.0, -0.0, -0x1p-126)},
    {B32 ",subnormals=off", ADD, 0x1p-126, -0x1p-126, 0, EXACT_ZERO},

    /* bfloat16: p = 8, largest finite 0x1.fep127, grid step 2^120 there. */
    {BF, ADD, MBF, 0x1p119, 0, MODES(INF, INF, MBF, INF, MBF)},
    {BF, ADD, MBF, 0x1p118, 0, MODES(MBF, MBF, MBF, INF, MBF)},
    {BF, CVT, 0x1.ffp+127, 0, 0, MODES(INF, INF, MBF, INF, MBF)},
    {BF, MUL, MBF, 1, 0, ALL(MBF)},
    {BF, SUB, MBF, MBF, 0, EXACT_ZERO},
    /* Ties at 1: the grid step is 2^-7. */
    {BF, ADD, 1, 0x1p-8, 0, MODES(1.0, 0x1.02p0, 1.0, 0x1.02p0, 1.0)},
    {BF, ADD, 1, 0x1.8p-7, 0,
     MODES(0x1.04p0, 0x1.04p0, 0x1.02p0, 0x1.04p0, 0x1.02p0)},
    {BF, ADD, -1, -0x1p-8, 0,
     MODES(-1.0, -0x1.02p0, -1.0, -1.0, -0x1.02p0)},
    {BF, CVT, 0x1p-134, 0, 0, MODES(0.0, 0x1p-133, 0.0, 0x1p-133, 0.0)},
    {BF, MUL, 0x1p-133, 0.5, 0, MODES(0.0, 0x1p-133, 0.0, 0x1p-133, 0.0)},
    {BF, DIV, 1, 0.0, 0, ALL(INF)},

    /* OCP e4m3: largest finite 448 = 1.110b * 2^8, no infinities; 480
     * (1.111b * 2^8) is not a value, so 464 is the tie between 448
     * (even) and 480, which is an overflow, NaN without saturation. */
    {E4, CVT, 464, 0, 0, MODES(448.0, NAN, 448.0, NAN, 448.0)},
    {E4, CVT, 465, 0, 0, MODES(NAN, NAN, 448.0, NAN, 448.0)},
    {E4, CVT, 0x1.d000000000001p+8, 0, 0,
     MODES(NAN, NAN, 448.0, NAN, 448.0)},
    {E4 ",overflow=saturate", CVT, 0x1.d000000000001p+8, 0, 0, ALL(448.0)},
    {E4, CVT, -464, 0, 0, MODES(-448.0, NAN, -448.0, -448.0, NAN)},
    {E4, CVT, 449, 0, 0, MODES(448.0, 448.0, 448.0, NAN, 448.0)},
    {E4, CVT, 480, 0, 0, MODES_SR(NAN, NAN, 448.0, NAN, 448.0, NAN)},
    {E4, ADD, 448, 16, 0, MODES(448.0, NAN, 448.0, NAN, 448.0)},
    {E4, ADD, 448, 32, 0, MODES_SR(NAN, NAN, 448.0, NAN, 448.0, NAN)},
    {E4, ADD, 448, 448, 0, MODES_SR(NAN, NAN, 448.0, NAN, 448.0, NAN)},
    {E4, ADD, -448, -448, 0,
     MODES_SR(NAN, NAN, -448.0, -448.0, NAN, NAN)},
    {E4, MUL, 448, 1, 0, ALL(448.0)},
    {E4, SUB, 448, 448, 0, EXACT_ZERO},
    /* exp(8) = 2981: both neighbours on the grid without a top (2816,
     * 3072) are beyond 448. */
    {E4, EXP, 8, 0, 0, MODES_SR(NAN, NAN, 448.0, NAN, 448.0, NAN)},
    /* Exact infinities become NaN. */
    {E4, DIV, 1, 0.0, 0, ALL(NAN)},
    {E4, DIV, -1, 0.0, 0, ALL(NAN)},
    {E4, LOG, 0.0, 0, 0, ALL(NAN)},
    /* exp(-8) is 0.17 smallest subnormals 2^-9, exp(-6) is 1.27. */
    {E4, EXP, -8, 0, 0, MODES(0.0, 0.0, 0.0, 0x1p-9, 0.0)},
    {E4, EXP, -6, 0, 0, MODES(0x1p-9, 0x1p-9, 0x1p-9, 0x1p-8, 0x1p-9)},
    {E4, ADD, NAN, 1, 0, ALL(NAN)},
    {E4, MAX, 448, NAN, 0, ALL(NAN)},
    {E4, CVT, 0x1p-10, 0, 0, MODES(0.0, 0x1p-9, 0.0, 0x1p-9, 0.0)},
    {E4, MUL, 0x1p-9, 0.5, 0, MODES(0.0, 0x1p-9, 0.0, 0x1p-9, 0.0)},
    {E4, MUL, 0x1.8p-8, 0.5, 0,
     MODES(0x1p-8, 0x1p-8, 0x1p-9, 0x1p-8, 0x1p-9)},
    {E4, ADD, 1, 0.0625, 0, MODES(1.0, 1.125, 1.0, 1.125, 1.0)},
    {E4, ADD, 1, 0.1875, 0, MODES(1.25, 1.25, 1.125, 1.25, 1.125)},
    {E4 ",overflow=saturate", CVT, 465, 0, 0, ALL(448.0)},
    {E4 ",overflow=saturate", CVT, 480, 0, 0, ALL(448.0)},
    {E4 ",overflow=saturate", CVT, -1000, 0, 0, ALL(-448.0)},
    {E4 ",overflow=saturate", ADD, 448, 448, 0, ALL(448.0)},
    {E4 ",overflow=saturate", DIV, 1, 0.0, 0, ALL(448.0)},
    {E4 ",overflow=saturate", DIV, -1, 0.0, 0, ALL(-448.0)},
    {E4 ",overflow=saturate", LOG, 0.0, 0, 0, ALL(-448.0)},
    {E4 ",overflow=saturate", EXP, 8, 0, 0, ALL(448.0)},
    {E4 ",overflow=saturate", CVT, -INF, 0, 0, ALL(-448.0)},
    {E4 ",overflow=saturate", CVT, 464, 0, 0, ALL(448.0)},
    {E4 ",subnormals=off", CVT, 0x1p-7, 0, 0,
     MODES(0.0, 0x1p-6, 0.0, 0x1p-6, 0.0)},
    {E4 ",subnormals=off", CVT, 0x1.0000000000001p-7, 0, 0,
     MODES(0x1p-6, 0x1p-6, 0.0, 0x1p-6, 0.0)},
    {E4 ",subnormals=off", MUL, 0x1p-6, 0.5, 0,
     MODES(0.0, 0x1p-6, 0.0, 0x1p-6, 0.0)},
    {E4 ",subnormals=off", MUL, -0x1p-6, 0.5, 0,
     MODES(-0.0, -0x1p-6, -0.0, -0.0, -0x1p-6)},

    /* e5m2: largest finite 57344 = 1.11b * 2^15, step 8192 there. */
    {E5, ADD, M5, 4096, 0, MODES(INF, INF, M5, INF, M5)},
    {E5, ADD, M5, 2048, 0, MODES(M5, M5, M5, INF, M5)},
    {E5, CVT, 61440, 0, 0, MODES(INF, INF, M5, INF, M5)},
    {E5, CVT, 65536, 0, 0, MODES_SR(INF, INF, M5, INF, M5, INF)},
    {E5, EXP, 12, 0, 0, MODES_SR(INF, INF, M5, INF, M5, INF)},
    {E5, EXP, -INF, 0, 0, ALL(0.0)},
    {E5 ",overflow=saturate", ADD, M5, 4096, 0, ALL(M5)},
    {E5 ",overflow=saturate", ADD, -M5, -M5, 0, ALL(-M5)},
    {E5, CVT, 0x1p-17, 0, 0, MODES(0.0, 0x1p-16, 0.0, 0x1p-16, 0.0)},
    {E5, MUL, 0x1.8p-15, 0.5, 0,
     MODES(0x1p-15, 0x1p-15, 0x1p-16, 0x1p-15, 0x1p-16)},
    {E5, ADD, 1, 0.125, 0, MODES(1.0, 1.25, 1.0, 1.25, 1.0)},
    {E5, ADD, 1, 0.375, 0, MODES(1.5, 1.5, 1.25, 1.5, 1.25)},
    {E5, ADD, -1, -0.375, 0, MODES(-1.5, -1.5, -1.25, -1.25, -1.5)},

    /* binary64: step 2^971 at the largest finite value. */
    {B64, ADD, M64, 0x1p970, 0, MODES(INF, INF, M64, INF, M64)},
    {B64, ADD, -M64, -0x1p970, 0, MODES(-INF, -INF, -M64, -M64, -INF)},
    {B64, ADD, M64, 0x1p969, 0, MODES(M64, M64, M64, INF, M64)},
    {B64, MUL, M64, 2, 0, MODES_SR(INF, INF, M64, INF, M64, INF)},
    /* Near the top, where the error-free transformations' intermediates
     * could overflow: -M64 + 1.5 2^971 = -(M64 - 1.5 2^971), the tie
     * between M64 - 2^971 (even significand) and M64 - 2^972, by a sum
     * and by a fused multiply-add (both operand orders). */
    {B64, ADD, 0x1.8p+971, -M64, 0,
     MODES(-0x1.ffffffffffffep+1023, -0x1.ffffffffffffep+1023,
           -0x1.ffffffffffffdp+1023, -0x1.ffffffffffffdp+1023,
           -0x1.ffffffffffffep+1023)},
    {B64, ADD, -M64, 0x1.8p+971, 0,
     MODES(-0x1.ffffffffffffep+1023, -0x1.ffffffffffffep+1023,
           -0x1.ffffffffffffdp+1023, -0x1.ffffffffffffdp+1023,
           -0x1.ffffffffffffep+1023)},
    {B64, FMA, M64, -1, 0x1.8p+971,
     MODES(-0x1.ffffffffffffep+1023, -0x1.ffffffffffffep+1023,
           -0x1.ffffffffffffdp+1023, -0x1.ffffffffffffdp+1023,
           -0x1.ffffffffffffep+1023)},
    {B64 ",overflow=saturate", FMA, -M64, 1, 0x1.8p+971,
     MODES(-0x1.ffffffffffffep+1023, -0x1.ffffffffffffep+1023,
           -0x1.ffffffffffffdp+1023, -0x1.ffffffffffffdp+1023,
           -0x1.ffffffffffffep+1023)},
    /* M64 - 2^970 (half a step below M64): the tie between M64 (odd)
     * and M64 - 2^971 (even). */
    {B64 ",subnormals=off", ADD, M64, -0x1p970, 0,
     MODES(0x1.ffffffffffffep+1023, M64, 0x1.ffffffffffffep+1023, M64,
           0x1.ffffffffffffep+1023)},
    {B64, FMA, 0x1p970, -1, M64,
     MODES(0x1.ffffffffffffep+1023, M64, 0x1.ffffffffffffep+1023, M64,
           0x1.ffffffffffffep+1023)},
    {B64, SUB, M64, M64, 0, EXACT_ZERO},
    {B64, MUL, 0x1p-1074, 0.5, 0,
     MODES(0.0, 0x1p-1074, 0.0, 0x1p-1074, 0.0)},
    {B64, MUL, -0x1p-1074, 0.5, 0,
     MODES(-0.0, -0x1p-1074, -0.0, -0.0, -0x1p-1074)},
    {B64, MUL, 0x1.8p-1073, 0.5, 0,
     MODES(0x1p-1073, 0x1p-1073, 0x1p-1074, 0x1p-1073, 0x1p-1074)},
    {B64, DIV, 0x1p-1074, 2, 0,
     MODES(0.0, 0x1p-1074, 0.0, 0x1p-1074, 0.0)},
    {B64, DIV, 0x1p-1074, 0x1.0000000000001p+1, 0,
     MODES(0.0, 0.0, 0.0, 0x1p-1074, 0.0)},
    {B64, ADD, 1, 0x1p-53, 0,
     MODES(1.0, 0x1.0000000000001p0, 1.0, 0x1.0000000000001p0, 1.0)},
    {B64, ADD, 1, 0x1.8p-52, 0,
     MODES(0x1.0000000000002p0, 0x1.0000000000002p0, 0x1.0000000000001p0,
           0x1.0000000000002p0, 0x1.0000000000001p0)},
    /* (1 + 2^-52)(1 - 2^-53) - 1 = 2^-53 - 2^-105, a binary64 value. */
    {B64, FMA, 0x1.0000000000001p0, 0x1.fffffffffffffp-1, -1,
     ALL(0x1.ffffffffffffep-54)},
    /* (1 + 2^-52)^2 - 1 = 2^-51 + 2^-104: the tie between 2^-51 (even)
     * and 2^-51 + 2^-103. */
    {B64, FMA, 0x1.0000000000001p0, 0x1.0000000000001p0, -1,
     MODES(0x1p-51, 0x1.0000000000001p-51, 0x1p-51, 0x1.0000000000001p-51,
           0x1p-51)},
    {B64, SQRT, -0.0, 0, 0, ALL(-0.0)},
    {B64, LOG, 0.0, 0, 0, ALL(-INF)},
    {B64, ADD, 1, -1, 0, EXACT_ZERO},
    {B64 ",subnormals=off", MUL, 0x1p-1022, 0.5, 0,
     MODES(0.0, 0x1p-1022, 0.0, 0x1p-1022, 0.0)},
    {B64 ",subnormals=off", CVT, 0x1.0000000000002p-1023, 0, 0,
     MODES(0x1p-1022, 0x1p-1022, 0.0, 0x1p-1022, 0.0)},
    {B64 ",subnormals=off", CVT, 0x1p-1074, 0, 0,
     MODES(0.0, 0.0, 0.0, 0x1p-1022, 0.0)},
    {B64 ",overflow=saturate", MUL, -M64, 2, 0, ALL(-M64)},

    /* p = 40, emin = -300, emax = 300: step 2^261 at the largest finite
     * value, smallest subnormal 2^-339. */
    {P40, ADD, M40, 0x1p260, 0, MODES(INF, INF, M40, INF, M40)},
    {P40, ADD, M40, 0x1p259, 0, MODES(M40, M40, M40, INF, M40)},
    {P40, MUL, M40, 2, 0, MODES_SR(INF, INF, M40, INF, M40, INF)},
    {P40 ",overflow=saturate", MUL, M40, 2, 0, ALL(M40)},
    {P40, ADD, 1, 0x1p-40, 0,
     MODES(1.0, 0x1.0000000002p0, 1.0, 0x1.0000000002p0, 1.0)},
    {P40, ADD, 1, 0x1.8p-39, 0,
     MODES(0x1.0000000004p0, 0x1.0000000004p0, 0x1.0000000002p0,
           0x1.0000000004p0, 0x1.0000000002p0)},
    {P40, CVT, 0x1p-340, 0, 0, MODES(0.0, 0x1p-339, 0.0, 0x1p-339, 0.0)},
    {P40, MUL, 0x1p-339, 0.5, 0, MODES(0.0, 0x1p-339, 0.0, 0x1p-339, 0.0)},
    {P40, MUL, 0x1.8p-338, 0.5, 0,
     MODES(0x1p-338, 0x1p-338, 0x1p-339, 0x1p-338, 0x1p-339)},
    {P40, ADD, 1, -1, 0, EXACT_ZERO},
    {P40, SQRT, -0.0, 0, 0, ALL(-0.0)},
    {P40, DIV, 1, 0.0, 0, ALL(INF)},
    {P40, ADD, INF, -INF, 0, ALL(NAN)},
    {P40 ",subnormals=off", MUL, 0x1p-300, 0.5, 0,
     MODES(0.0, 0x1p-300, 0.0, 0x1p-300, 0.0)},
    {P40 ",subnormals=off", CVT, 0x1.0000000000001p-301, 0, 0,
     MODES(0x1p-300, 0x1p-300, 0.0, 0x1p-300, 0.0)},
    {P40 ",subnormals=off", CVT, 0x1.fffffffffffffp-302, 0, 0,
     MODES(0.0, 0.0, 0.0, 0x1p-300, 0.0)},
};

/* The result of one engine for one case and mode. */
static void check_result(const struct special_case *sc, const nfi_format *f,
                         nfi_round mode, const char *engine, double got)
{
    double operands[3] = {sc->a, sc->b, sc->c};
    double want = sc->expected[mode];
    if (mode != NFI_ROUND_SR || !sc->random_sr) {
        check_op(engine, f, mode, sc->op, operands, want, got);
        return;
    }
    double toward_zero = sc->expected[NFI_ROUND_RZ];
    double away = signbit(toward_zero) ? sc->expected[NFI_ROUND_RD]
                                       : sc->expected[NFI_ROUND_RU];
    double pick = same_double(got, away) ? away : toward_zero;
    check_op(engine, f, mode, sc->op, operands, pick, got);
}

static void check_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct special_case *sc = &cases[i];
        nfi_format f = harness_format(sc->spec);
        for (int m = 0; m < NFI_ROUND_COUNT; m++) {
            nfi_round mode = (nfi_round)m;
            for (uint64_t seed = 1; seed <= 3; seed++) {
                uint32_t u = nfi_sr_bits(seed, 0);
                double got = nfi_mpfr_op_d(sc->op, sc->a, sc->b, sc->c, &f,
                                           mode, u);
                check_result(sc, &f, mode, "mpfr engine", got);
                nfi_fast ctx;
                if (!check_true(nfi_fast_init(&ctx, &f, mode, seed, NULL) ==
                                0, "fast engine refuses %s", sc->spec))
                    continue;
                got = nfi_fast_op(&ctx, sc->op, sc->a, sc->b, sc->c);
                check_result(sc, &f, mode, "fast engine", got);
            }
            int width = nfi_native_width(&f, mode);
            if (width != 0 && sc->op != EXP && sc->op != LOG) {
                double got = nfi_native_op(width, sc->op, sc->a, sc->b,
                                           sc->c);
                check_result(sc, &f, mode, "native engine", got);
            }
        }
    }
}

/* The same cases through nfi_engine_op on every engine that takes the
 * format, with MPFR operands. */
static void check_cases_through_dispatch(void)
{
    static const nfi_engine_kind kinds[] = {NFI_ENGINE_AUTO,
                                            NFI_ENGINE_MPFR,
                                            NFI_ENGINE_FAST,
                                            NFI_ENGINE_NATIVE};
    static const char *const names[] = {"engine auto", "engine mpfr",
                                        "engine fast", "engine native"};
    mpfr_t a, b, c, r;
    mpfr_inits2(64, a, b, c, r, (mpfr_ptr)0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct special_case *sc = &cases[i];
        nfi_format f = harness_format(sc->spec);
        mpfr_set_d(a, sc->a, MPFR_RNDN);
        mpfr_set_d(b, sc->b, MPFR_RNDN);
        mpfr_set_d(c, sc->c, MPFR_RNDN);
        for (int m = 0; m < NFI_ROUND_COUNT; m++) {
            for (size_t k = 0; k < 4; k++) {
                nfi_engine e;
                if (nfi_engine_init(&e, kinds[k], &f, (nfi_round)m, 5,
                                    NULL) != 0) {
                    check_true(kinds[k] == NFI_ENGINE_NATIVE,
                               "engine %s refuses %s", names[k], sc->spec);
                    continue;
                }
                nfi_engine_op(&e, sc->op, r, a, b, c);
                check_true(mpfr_get_prec(r) == f.p, "%s: result precision "
                           "%ld, expected %ld", names[k],
                           (long)mpfr_get_prec(r), f.p);
                check_result(sc, &f, (nfi_round)m, names[k],
                             mpfr_get_d(r, MPFR_RNDN));
            }
        }
    }
    mpfr_clears(a, b, c, r, (mpfr_ptr)0);
}

/* The ternary value of the MPFR engine: the sign of result - exact. */
static void check_ternary(void)
{
    static const struct {
        const char *spec;
        nfi_round mode;
        nfi_op op;
        double a, b;
        int sign;
    } t[] = {
        {B32, NFI_ROUND_RNE, ADD, 1, 0x1p-30, -1},
        {B32, NFI_ROUND_RU, ADD, 1, 0x1p-30, 1},
        {B32, NFI_ROUND_RNE, ADD, 1, 1, 0},
        {B32, NFI_ROUND_RNE, ADD, M32, 0x1p103, 1},
        {B32, NFI_ROUND_RZ, ADD, M32, 0x1p103, -1},
        {B32, NFI_ROUND_RD, ADD, -M32, -0x1p103, -1},
        {B32, NFI_ROUND_RNA, MUL, 0x1p-149, 0.5, 1},
        {B32, NFI_ROUND_RNE, MUL, 0x1p-149, 0.5, -1},
        {B32, NFI_ROUND_RNE, MUL, -0x1p-149, 0.5, 1},
        {B32, NFI_ROUND_RNE, DIV, 1, 3, 1},
        {B32, NFI_ROUND_RZ, DIV, 1, 3, -1},
        {E4, NFI_ROUND_RNE, ADD, 448, 16, -1},
    };
    mpfr_t a, b, r;
    mpfr_inits2(64, a, b, r, (mpfr_ptr)0);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        nfi_format f = harness_format(t[i].spec);
        mpfr_set_d(a, t[i].a, MPFR_RNDN);
        mpfr_set_d(b, t[i].b, MPFR_RNDN);
        int ternary = nfi_mpfr_op(t[i].op, r, a, b, NULL, &f, t[i].mode, 0);
        int sign = (ternary > 0) - (ternary < 0);
        check_true(sign == t[i].sign, "ternary of %s %s(%a, %a) in %s: "
                   "%d, expected sign %d", nfi_round_name(t[i].mode),
                   nfi_op_name(t[i].op), t[i].a, t[i].b, t[i].spec, ternary,
                   t[i].sign);
    }
    mpfr_clears(a, b, r, (mpfr_ptr)0);
}

/* Exact comparisons: NaN unordered, -0 == +0, infinities ordered. */
static void check_compare(void)
{
    static const struct {
        double a, b;
        nfi_order order;
    } t[] = {
        {1, 2, NFI_ORDER_LESS},
        {2, 1, NFI_ORDER_GREATER},
        {1, 1, NFI_ORDER_EQUAL},
        {-0.0, 0.0, NFI_ORDER_EQUAL},
        {0.0, -0.0, NFI_ORDER_EQUAL},
        {NAN, 1, NFI_ORDER_UNORDERED},
        {1, NAN, NFI_ORDER_UNORDERED},
        {NAN, NAN, NFI_ORDER_UNORDERED},
        {-INF, INF, NFI_ORDER_LESS},
        {INF, INF, NFI_ORDER_EQUAL},
        {-INF, -INF, NFI_ORDER_EQUAL},
        {M64, INF, NFI_ORDER_LESS},
        {0x1p-1074, 0.0, NFI_ORDER_GREATER},
        {-0x1p-1074, -0.0, NFI_ORDER_LESS},
        {-3, -2, NFI_ORDER_LESS},
        {NAN, INF, NFI_ORDER_UNORDERED},
    };
    mpfr_t a, b;
    mpfr_inits2(53, a, b, (mpfr_ptr)0);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        nfi_order got = nfi_fast_compare(t[i].a, t[i].b);
        check_true(got == t[i].order, "nfi_fast_compare(%a, %a) = %d, "
                   "expected %d", t[i].a, t[i].b, (int)got, (int)t[i].order);
        mpfr_set_d(a, t[i].a, MPFR_RNDN);
        mpfr_set_d(b, t[i].b, MPFR_RNDN);
        got = nfi_mpfr_compare(a, b);
        check_true(got == t[i].order, "nfi_mpfr_compare(%a, %a) = %d, "
                   "expected %d", t[i].a, t[i].b, (int)got, (int)t[i].order);
    }
    /* Different precisions: 1 against 1 + 2^-200. */
    mpfr_set_prec(b, 300);
    mpfr_set_ui(b, 1, MPFR_RNDN);
    mpfr_add_d(b, b, 0x1p-200, MPFR_RNDN);
    mpfr_set_prec(a, 2);
    mpfr_set_ui(a, 1, MPFR_RNDN);
    check_true(nfi_mpfr_compare(a, b) == NFI_ORDER_LESS &&
               nfi_mpfr_compare(b, a) == NFI_ORDER_GREATER,
               "nfi_mpfr_compare of 1 and 1 + 2^-200");
    mpfr_clears(a, b, (mpfr_ptr)0);
}

/* Names and arities of the operations and engines. */
static void check_names(void)
{
    static const struct {
        nfi_op op;
        const char *name;
        int arity;
    } ops[] = {
        {ADD, "add", 2}, {SUB, "sub", 2}, {MUL, "mul", 2}, {DIV, "div", 2},
        {SQRT, "sqrt", 1}, {FMA, "fma", 3}, {EXP, "exp", 1},
        {LOG, "log", 1}, {CVT, "cvt", 1}, {NEG, "neg", 1}, {ABS, "abs", 1},
        {MIN, "min", 2}, {MAX, "max", 2},
    };
    check_true(sizeof ops / sizeof ops[0] == NFI_OP_COUNT, "every "
               "operation is in the table");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        nfi_op back = (nfi_op)-1;
        check_true(strcmp(nfi_op_name(ops[i].op), ops[i].name) == 0 &&
                   nfi_op_arity(ops[i].op) == ops[i].arity &&
                   nfi_op_parse(ops[i].name, &back) == 0 &&
                   back == ops[i].op, "operation %s: name '%s', arity %d",
                   ops[i].name, nfi_op_name(ops[i].op),
                   nfi_op_arity(ops[i].op));
    }
    nfi_op op;
    check_true(nfi_op_parse("SQRT", &op) == 0 && op == SQRT,
               "operation names ignore case");
    check_true(nfi_op_parse("pow", &op) == -1, "'pow' is not an operation");

    static const struct {
        const char *name;
        nfi_engine_kind kind;
    } engines[] = {
        {"auto", NFI_ENGINE_AUTO}, {"mpfr", NFI_ENGINE_MPFR},
        {"fast", NFI_ENGINE_FAST}, {"native", NFI_ENGINE_NATIVE},
        {"MPFR", NFI_ENGINE_MPFR},
    };
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++) {
        nfi_engine_kind kind = (nfi_engine_kind)-1;
        check_true(nfi_engine_parse(engines[i].name, &kind, NULL) == 0 &&
                   kind == engines[i].kind, "engine name '%s'",
                   engines[i].name);
        check_true(strcasecmp(nfi_engine_name(engines[i].kind),
                              engines[i].name) == 0, "engine %d is named "
                   "'%s'", (int)engines[i].kind,
                   nfi_engine_name(engines[i].kind));
    }
    nfi_error err = {""};
    nfi_engine_kind kind;
    check_true(nfi_engine_parse("gpu", &kind, &err) == -1 &&
               strstr(err.message, "gpu") != NULL, "bad engine name: "
               "\"%s\"", err.message);
}

/* Values the fast engine and the dispatcher must refuse, with a message. */
static void check_refusals(void)
{
    nfi_format f = harness_format("binary128");
    nfi_fast ctx;
    nfi_error err = {""};
    check_true(nfi_fast_init(&ctx, &f, NFI_ROUND_RNE, 1, &err) == -1 &&
               strstr(err.message, "mpfr") != NULL,
               "fast engine should refuse binary128: \"%s\"", err.message);
    nfi_engine e;
    check_true(nfi_engine_init(&e, NFI_ENGINE_NATIVE, &f, NFI_ROUND_RNE, 1,
                               &err) == -1, "native engine should refuse "
               "binary128");
    f = harness_format("binary32");
    check_true(nfi_engine_init(&e, NFI_ENGINE_NATIVE, &f, NFI_ROUND_RZ, 1,
                               &err) == -1, "native engine should refuse "
               "RZ");
    check_true(nfi_engine_init(&e, NFI_ENGINE_AUTO, &f, NFI_ROUND_RNE, 1,
                               &err) == 0 && e.kind == NFI_ENGINE_NATIVE,
               "auto should pick native for binary32 RNE");
    check_true(nfi_engine_init(&e, NFI_ENGINE_AUTO, &f, NFI_ROUND_SR, 1,
                               &err) == 0 && e.kind == NFI_ENGINE_FAST,
               "auto should pick fast for binary32 SR");
    f = harness_format("binary128");
    check_true(nfi_engine_init(&e, NFI_ENGINE_AUTO, &f, NFI_ROUND_RNE, 1,
                               &err) == 0 && e.kind == NFI_ENGINE_MPFR,
               "auto should pick mpfr for binary128");
}

int main(void)
{
    harness_init("test_special", 1);
    check_cases();
    check_cases_through_dispatch();
    check_ternary();
    check_compare();
    check_names();
    check_refusals();
    return harness_finish();
}
