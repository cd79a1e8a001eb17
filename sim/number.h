/* nfi: exact reading of numbers written as text.
 *
 * Accepted, with an optional sign: C99 hexadecimal floats (0x1.8p-3),
 * decimals (0.1, 1e-8, 6.02e23), powers of two (2^-9), inf, infinity and
 * nan.  The value is kept exactly: a rational for finite numbers, so that
 * 0.1 stays one tenth until it is rounded once into a format. */
#ifndef NFI_NUMBER_H
#define NFI_NUMBER_H

#include <stdbool.h>

#include <gmp.h>
#include <mpfr.h>

#include "error.h"

typedef enum nfi_number_kind {
    NFI_NUMBER_FINITE,
    NFI_NUMBER_INF,
    NFI_NUMBER_NAN
} nfi_number_kind;

typedef struct nfi_number {
    nfi_number_kind kind;
    bool negative;    /* sign, also of zero and infinity */
    mpq_t value;      /* |value| for finite numbers, canonical */
} nfi_number;

void nfi_number_init(nfi_number *n);
void nfi_number_clear(nfi_number *n);

/* Parses text (the whole string, surrounding blanks allowed).  Returns 0,
 * or -1 with an error that quotes the text and the accepted forms. */
int nfi_number_parse(nfi_number *n, const char *text, nfi_error *err);

/* Sets x to the number exactly when it is dyadic (a power-of-two
 * denominator; hexadecimal input always is), raising x's precision as
 * needed.  Returns 0, or -1 when the number has no finite binary form
 * (0.1), leaving x unchanged. */
int nfi_number_get_mpfr(const nfi_number *n, mpfr_t x);

#endif
