/* nfi: floating-point format descriptors.
 *
 * A format is (p, emin, emax, subnormals, overflow, round) as in IEEE 754:
 * p counts the leading bit (binary32: p = 24); emin and emax are the IEEE
 * exponents of the smallest and largest normal binade (binary32: -126 and
 * 127).  The finite positive values are the normals m * 2^(e - p + 1) with
 * 2^(p-1) <= m < 2^p and emin <= e <= emax, plus, with subnormals on, the
 * multiples of 2^(emin - p + 1) below 2^emin.  `reserved_top` removes the
 * largest significands of the top binade (OCP E4M3 spends S.1111.111 on
 * NaN, so its largest finite value is 448 instead of 480).
 *
 * This module knows nothing of arithmetic engines or tensors. */
#ifndef NFI_FORMAT_H
#define NFI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include <gmp.h>
#include <mpfr.h>

#include "error.h"

/* Rounding modes.  SR is stochastic rounding: away from zero with a
 * probability proportional to the distance from the value toward zero. */
typedef enum nfi_round {
    NFI_ROUND_RNE, /* nearest, ties to even (the default) */
    NFI_ROUND_RNA, /* nearest, ties away from zero */
    NFI_ROUND_RZ,  /* toward zero */
    NFI_ROUND_RU,  /* toward +infinity */
    NFI_ROUND_RD,  /* toward -infinity */
    NFI_ROUND_SR   /* stochastic, see sim/round.h */
} nfi_round;

#define NFI_ROUND_COUNT 6

/* What a finite result beyond the largest finite value becomes. */
typedef enum nfi_overflow {
    NFI_OVERFLOW_INF,     /* IEEE: infinity, or the largest finite value
                             where the rounding direction says so; NaN in
                             a format without infinities */
    NFI_OVERFLOW_SATURATE /* always the largest finite value, signed */
} nfi_overflow;

/* Bounds on what a format may ask for. */
#define NFI_PREC_MIN 2
#define NFI_PREC_MAX 65536
#define NFI_EXP_LIMIT (1L << 40) /* |emin|, |emax| at most this */

typedef struct nfi_format {
    long p;             /* significand bits, leading bit included */
    long emin;          /* IEEE exponent of the smallest normal binade */
    long emax;          /* IEEE exponent of the largest normal binade */
    bool subnormals;    /* gradual underflow below 2^emin */
    bool has_inf;       /* false for OCP E4M3 */
    int reserved_top;   /* top-binade significands spent on NaN */
    nfi_overflow overflow;
    nfi_round round;    /* the format's default rounding mode */
} nfi_format;

/* Parses a format specification: a name (binary16 fp16 half, bfloat16
 * bf16, tf32, binary32 fp32 single, binary64 fp64 double, binary128, e4m3,
 * e5m2), `eXmY` (X exponent bits, Y stored fraction bits, IEEE-like) or
 * `p=P,emin=A,emax=B`, followed by options `subnormals=on|off`,
 * `overflow=inf|saturate`, `round=rne|rna|rz|ru|rd|sr`, all separated by
 * commas.  Case is ignored.  Returns 0, or -1 with an error that names the
 * offending part and shows a valid example; *out is then unchanged. */
int nfi_format_parse(const char *spec, nfi_format *out, nfi_error *err);

/* Checks the invariants of a descriptor built by hand (the parser only
 * returns valid ones).  Returns 0 or -1 with an error. */
int nfi_format_validate(const nfi_format *f, nfi_error *err);

/* Writes a specification that nfi_format_parse reads back to an equal
 * descriptor: the name where one matches, otherwise p=..,emin=..,emax=..,
 * then every option that differs from the default.  Every descriptor the
 * parser makes round-trips; one built by hand with has_inf or
 * reserved_top unlike every named format has no spelling (the spelling
 * then describes the IEEE-like format of the same p and range).  Returns
 * the length it wanted (as snprintf does). */
int nfi_format_spell(const nfi_format *f, char *buf, size_t size);

/* Parses a rounding-mode name (rne rna rz ru rd sr; also "nearest",
 * "zero", "up", "down", "stochastic").  Returns 0 or -1 with an error. */
int nfi_round_parse(const char *name, nfi_round *out, nfi_error *err);
const char *nfi_round_name(nfi_round mode);

/* True when every value of f is a binary64 value and f's arithmetic can be
 * carried out on binary64 storage: p <= 53, -1022 <= emin, emax <= 1023. */
bool nfi_format_fits_binary64(const nfi_format *f);

/* Two descriptors describe the same set of values and behaviour. */
bool nfi_format_equal(const nfi_format *a, const nfi_format *b);

/* Derived constants, exact, as MPFR numbers (each initialised by the
 * caller with any precision; it is raised as needed, so the value is
 * exact).  largest finite, smallest positive normal 2^emin, smallest
 * positive subnormal 2^(emin-p+1) (2^emin without subnormals), unit
 * roundoff 2^-p and machine epsilon 2^(1-p). */
void nfi_format_max_finite(const nfi_format *f, mpfr_t out);
void nfi_format_min_normal(const nfi_format *f, mpfr_t out);
void nfi_format_min_positive(const nfi_format *f, mpfr_t out);
void nfi_format_unit_roundoff(const nfi_format *f, mpfr_t out);
void nfi_format_epsilon(const nfi_format *f, mpfr_t out);

/* Number of finite values, counting +0 and -0 as two (so it is the count
 * of bit patterns that encode finite numbers in an IEEE-style encoding). */
void nfi_format_count_finite(const nfi_format *f, mpz_t out);

/* The same constants as binary64 numbers; only for formats that fit
 * binary64 (exact there). */
double nfi_format_max_finite_d(const nfi_format *f);
double nfi_format_min_positive_d(const nfi_format *f);

#endif
