/* nfi: the fast engine, for formats inside binary64 (p <= 53, exponent
 * range within binary64's, subnormals on or off).
 *
 * Values are binary64 numbers holding format values exactly.  Each
 * operation obtains the binary64 round-to-nearest value s of the exact
 * result x together with an exact account of x - s (an error-free
 * transformation: TwoSum for + and -, an FMA product error for *, the sign
 * of an FMA remainder for / and sqrt, a floating-point expansion for fma),
 * and rounds x itself onto the format's grid in the requested mode; no
 * mode is applied to an already rounded binary64 value.  For RNE with
 * p <= 25, plain binary64 arithmetic followed by one rounding is used
 * instead: double rounding is innocuous there because 53 >= 2p + 2 (Roux,
 * J. Formalized Reasoning 7(1), 2014) and the binary64 result is checked
 * to be normal.  exp and log use an evaluation with a proven relative
 * error bound (sim/elementary.c) and round the two ends of the enclosure;
 * when they disagree, and in the rare cases where an error-free
 * transformation is not exact (binary64 underflow or overflow), the
 * operation is handed to the MPFR engine (Ziv's strategy).  Every result
 * is bit-identical to nfi_mpfr_op's.
 *
 * A context holds the format, the mode and, for stochastic rounding, the
 * seed and the index of the next operation (each scalar operation takes
 * one index; an array operation takes n, element i using counter + i). */
#ifndef NFI_ENGINE_FAST_H
#define NFI_ENGINE_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "format.h"
#include "round.h"

typedef struct nfi_fast {
    nfi_format format;
    nfi_round mode;
    uint64_t seed;       /* stochastic rounding key */
    uint64_t counter;    /* index of the next stochastic rounding */

    /* Derived at nfi_fast_init; read-only afterwards. */
    int p;
    int emin;
    int qe_below_normal; /* grid exponent below 2^emin */
    bool plain_rne;      /* RNE and p <= 25 */
    double max_finite;
    double overflow_value[2]; /* by sign: +, - (magnitudes) */
    double inf_value[2];      /* an exact infinity, by sign */
    int kind[2];              /* magnitude rounding direction by sign */
    uint64_t min_normal_bits; /* bits of 2^emin */
    uint64_t max_finite_bits;
    int shift;                /* 53 - p */
    double subnormal_magic;   /* 2^(emin - p + 1 + 52) */
    bool bits_path;           /* round-to-odd then bit rounding applies */
    bool sr_bits_path;        /* stochastic rounding by integer compare */
    uint64_t low_mask;        /* the 53 - p bits below the grid */
    uint64_t half_minus_one;  /* half a grid step, less one */
    uint64_t parity_mask;     /* 1, or 0 when p = 53 */
    uint64_t normal_span;     /* max_finite_bits - min_normal_bits */
    bool products_never_tiny; /* non-zero products are >= 2^-1022 */
    int native_width;         /* 32 or 64 when the format and mode are
                                 IEEE binary32/binary64 RNE, else 0 */
} nfi_fast;

/* Prepares a context.  Returns 0, or -1 with an error when the format
 * does not fit binary64 (use the MPFR engine) or the mode is invalid. */
int nfi_fast_init(nfi_fast *ctx, const nfi_format *f, nfi_round mode,
                  uint64_t seed, nfi_error *err);

/* Scalar operations: operands must be values of the format (binary64
 * numbers that the format contains); the result is the exact result
 * rounded once into the format, identical to nfi_mpfr_op. */
double nfi_fast_add(nfi_fast *ctx, double a, double b);
double nfi_fast_sub(nfi_fast *ctx, double a, double b);
double nfi_fast_mul(nfi_fast *ctx, double a, double b);
double nfi_fast_div(nfi_fast *ctx, double a, double b);
double nfi_fast_sqrt(nfi_fast *ctx, double a);
double nfi_fast_fma(nfi_fast *ctx, double a, double b, double c);
double nfi_fast_exp(nfi_fast *ctx, double a);
double nfi_fast_log(nfi_fast *ctx, double a);
/* Conversion of any binary64 value (not only format values). */
double nfi_fast_round(nfi_fast *ctx, double x);
/* neg, abs, min, max: exact; min and max propagate NaN, -0 < +0. */
double nfi_fast_min(double a, double b);
double nfi_fast_max(double a, double b);
nfi_order nfi_fast_compare(double a, double b);

/* Generic entry by operation code (operands beyond the arity ignored). */
double nfi_fast_op(nfi_fast *ctx, nfi_op op, double a, double b, double c);

/* Array forms: out[i] = op(a[i], b[i]); out may alias an input. */
void nfi_fast_add_array(nfi_fast *ctx, size_t n, double *out,
                        const double *a, const double *b);
void nfi_fast_mul_array(nfi_fast *ctx, size_t n, double *out,
                        const double *a, const double *b);
void nfi_fast_exp_array(nfi_fast *ctx, size_t n, double *out,
                        const double *a);
void nfi_fast_round_array(nfi_fast *ctx, size_t n, double *out,
                          const double *x);
/* Sequential sum ((x0 + x1) + x2) + ...: each addition rounded; a sum of
 * one term is the term, an empty sum +0 (the order of sim/reduce.h). */
double nfi_fast_sum(nfi_fast *ctx, size_t n, const double *x);

/* Dot product in sequential order: acc = fl(acc + fl(a[i] * b[i])), every
 * product and sum rounded into the format (no fused multiply-add). */
double nfi_fast_dot(nfi_fast *ctx, size_t n, const double *a,
                    const double *b);

/* How many operations were handed to the MPFR engine since the process
 * started (in this thread); for tests and benchmarks. */
uint64_t nfi_fast_fallbacks(void);

#endif
