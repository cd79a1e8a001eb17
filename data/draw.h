/* nfi: the counter-based random draws of the task generators.
 *
 * Every random choice a generator makes is a pure function of a 64-bit
 * key and a 64-bit counter, so a data set is fixed by its seed alone: no
 * hidden state, no dependence on the platform, on the order in which the
 * values are asked for or on the number of threads.  All arithmetic is on
 * unsigned 64-bit integers modulo 2^64, so another implementation (a
 * Python script with `& (2**64 - 1)` after each step) reproduces every
 * value from the rules written here.
 *
 * Mixer.  mix(z), a bijection of 64-bit words:
 *     z ^= z >> 27;  z *= 0x3c79ac492ba7b653;
 *     z ^= z >> 33;  z *= 0x1c69b3f74ac4ae35;
 *     z ^= z >> 27.
 * (Multiply-xorshift rounds of the SplitMix64 kind, with constants other
 * than those of the stochastic-rounding generator in sim/round.h, so that
 * the same seed given to both does not make data and rounding bits move
 * together.)
 *
 * Streams.  A generator derives a key per purpose from the user's seed and
 * a fixed 64-bit tag: key = mix(seed ^ tag).  Draw number c (c = 0, 1, 2,
 * ...) of that stream is bits(key, c) = mix(key + (c + 1) * G) with
 * G = 0x9e3779b97f4a7c15 (a Weyl sequence, then the mixer). */
#ifndef NFI_DRAW_H
#define NFI_DRAW_H

#include <stdint.h>

/* The Weyl increment G of the draw counter. */
#define NFI_DRAW_WEYL 0x9e3779b97f4a7c15ULL

/* mix(z) as defined above. */
static inline uint64_t nfi_draw_mix(uint64_t z)
{
    z ^= z >> 27;
    z *= 0x3c79ac492ba7b653ULL;
    z ^= z >> 33;
    z *= 0x1c69b3f74ac4ae35ULL;
    z ^= z >> 27;
    return z;
}

/* The key of the stream with this tag for this seed: mix(seed ^ tag). */
static inline uint64_t nfi_draw_key(uint64_t seed, uint64_t tag)
{
    return nfi_draw_mix(seed ^ tag);
}

/* 64 random bits, draw number counter of the stream key:
 * mix(key + (counter + 1) * G), modulo 2^64. */
static inline uint64_t nfi_draw_bits(uint64_t key, uint64_t counter)
{
    return nfi_draw_mix(key + (counter + 1) * NFI_DRAW_WEYL);
}

/* A uniform integer in [0, n), n >= 1, by rejection, consuming draws
 * *counter, *counter + 1, ... of the stream key and leaving *counter just
 * past the last draw used.  Rule: with t = (2^64 - n) mod n, take
 * x = bits(key, *counter), advance *counter, and return x mod n if
 * x >= t, else draw again.  The values x >= t are 2^64 - t, a multiple of
 * n, so every residue is equally likely; a draw is rejected with
 * probability t / 2^64 < n / 2^64.  n = 0 is a caller's error: the
 * function then returns 0 and consumes nothing. */
uint64_t nfi_draw_below(uint64_t key, uint64_t *counter, uint64_t n);

/* Uniform doubles from one draw x = bits(key, counter), both exact in
 * binary64 (53 random bits, no rounding):
 *   nfi_draw_open0(x)  = ((x >> 11) + 1) / 2^53, in (0, 1];
 *   nfi_draw_closed0(x) = (x >> 11) / 2^53,      in [0, 1). */
static inline double nfi_draw_open0(uint64_t x)
{
    return (double)((x >> 11) + 1) * 0x1p-53;
}

static inline double nfi_draw_closed0(uint64_t x)
{
    return (double)(x >> 11) * 0x1p-53;
}

#endif
