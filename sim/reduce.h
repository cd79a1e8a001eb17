/* nfi: reductions (sums and dot products) in a declared order.
 *
 * The order is part of a run's configuration, because it decides where
 * rounding errors fall: a softmax normaliser summed in 8 SIMD lanes rounds
 * to exactly 1 at a different margin than one summed left to right.
 * Orders, for x[0..n-1] (each + below rounds into the accumulator's
 * format; stochastic-rounding indices are taken in the order the
 * additions are written here):
 *
 *   sequential   ((x0 + x1) + x2) + ... ; a sum of one term is the term
 *   pairwise     sum(x[0..h)) + sum(x[h..n)), h = floor(n/2), recursively
 *                (left part first, then right part, then their sum)
 *   blocked:B    sequential sums of consecutive blocks of B terms; each
 *                block's sum is added to the running total of the blocks
 *                before it as soon as it is formed
 *   lanes:L      term j goes to lane j mod L, each lane summed in sequence;
 *                then lanes are combined by halving: lane l += lane
 *                l + w for w = L/2, L/4, ..., 1 and l < w (a lane with no
 *                terms is left out of the combination); L a power of two.
 *                The additions into lanes are taken in term order (j
 *                from L to n-1), as a SIMD loop performs them
 *   exact        the exact sum, rounded once
 *
 * An empty sum is +0.  Terms must be values of the accumulator's format
 * (the caller casts them: a cast between roles is a rounding of its own).
 */
#ifndef NFI_REDUCE_H
#define NFI_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#include <gmp.h>
#include <mpfr.h>

#include "arith.h"
#include "error.h"

typedef enum nfi_reduction_kind {
    NFI_REDUCTION_SEQUENTIAL,
    NFI_REDUCTION_PAIRWISE,
    NFI_REDUCTION_BLOCKED,
    NFI_REDUCTION_LANES,
    NFI_REDUCTION_EXACT
} nfi_reduction_kind;

typedef struct nfi_reduction {
    nfi_reduction_kind kind;
    long param; /* B of blocked:B, L of lanes:L; 0 otherwise */
} nfi_reduction;

/* Largest B or L accepted. */
#define NFI_REDUCTION_PARAM_MAX 65536

/* Parses "sequential", "pairwise", "blocked:B" (B >= 1), "lanes:L" (L a
 * power of two) or "exact".  Returns 0 or -1 with an error naming the
 * text and the accepted forms. */
int nfi_reduction_parse(const char *text, nfi_reduction *out,
                        nfi_error *err);

/* Writes the text nfi_reduction_parse reads back; returns its length. */
int nfi_reduction_spell(const nfi_reduction *r, char *buf, size_t size);

/* The sum of x[0], x[stride], ..., x[(n-1) stride] in order r, each
 * addition rounded by acc (exact: one rounding, one stochastic index). */
double nfi_reduce_sum(nfi_arith *acc, const nfi_reduction *r, size_t n,
                      const double *x, ptrdiff_t stride);

/* The dot product of a and b: each product rounded into acc's format
 * (indices for all n products first, in element order), then summed in
 * order r.  With r exact, the exact sum of the exact products rounded
 * once (a correctly rounded dot product).  a and b must be values of
 * acc's format, like the terms of a sum (nfi_matmul casts them): the
 * fast engine's shortcuts rely on it. */
double nfi_reduce_dot(nfi_arith *acc, const nfi_reduction *r, size_t n,
                      const double *a, ptrdiff_t stride_a, const double *b,
                      ptrdiff_t stride_b);

/* An exact accumulator of binary64 numbers and products of two binary64
 * numbers: a fixed-point integer over 2^-2148 (products of binary64
 * numbers are multiples of it) held as signed 64-bit digits of base
 * 2^32, sum_i digit[i] 2^(32 i - 2148), carries deferred (Kulisch's long
 * accumulator, in carry-save form).  A product's top bit lies below
 * 2^2048, so bit 4196 of the integer; 136 digits leave room for the
 * carries of up to 2^32 such terms.  No allocation: it lives on the
 * stack. */
#define NFI_EXACT_DIGITS 136
typedef struct nfi_exact_sum {
    int64_t digit[NFI_EXACT_DIGITS];
    int lo, hi;        /* the digits touched so far: lo..hi */
    uint32_t pending;  /* additions since the carries were last moved */
    uint32_t limit;    /* move them after this many (2^30; smaller in
                          tests) */
    int nan;           /* a NaN was added, or infinities of both signs */
    int inf;           /* +1 or -1 when an infinity was added */
} nfi_exact_sum;

void nfi_exact_sum_init(nfi_exact_sum *s);
void nfi_exact_sum_clear(nfi_exact_sum *s);
void nfi_exact_sum_add(nfi_exact_sum *s, double x);
void nfi_exact_sum_add_product(nfi_exact_sum *s, double a, double b);
/* The exact sum as an MPFR number (precision raised as needed). */
void nfi_exact_sum_get(const nfi_exact_sum *s, mpfr_t out);
/* The exact sum rounded to nearest binary64 (for reporting). */
double nfi_exact_sum_get_d(const nfi_exact_sum *s);
/* Sign of the exact sum: -1, 0 or 1 (0 also for NaN). */
int nfi_exact_sum_sign(const nfi_exact_sum *s);

#endif
