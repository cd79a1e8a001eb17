/* nfi: one interface over the engines, and the choice among them.
 *
 * mpfr   every format and mode; the ground truth.
 * fast   formats inside binary64, every mode; bit-identical to mpfr.
 * native binary32 and binary64 in RNE; bit-identical to mpfr.
 * auto   the fastest of these that can carry out the format and mode:
 *        native, else fast, else mpfr. */
#ifndef NFI_ENGINE_H
#define NFI_ENGINE_H

#include <stdint.h>

#include <mpfr.h>

#include "engine_fast.h"
#include "error.h"
#include "format.h"
#include "round.h"

typedef enum nfi_engine_kind {
    NFI_ENGINE_AUTO,
    NFI_ENGINE_MPFR,
    NFI_ENGINE_FAST,
    NFI_ENGINE_NATIVE
} nfi_engine_kind;

typedef struct nfi_engine {
    nfi_engine_kind kind; /* never AUTO after nfi_engine_init */
    nfi_format format;
    nfi_round mode;
    uint64_t seed;
    uint64_t counter;     /* next stochastic index (mpfr engine) */
    int native_width;     /* 32 or 64 for the native engine */
    nfi_fast fast;        /* for the fast and native engines */
} nfi_engine;

int nfi_engine_parse(const char *name, nfi_engine_kind *out,
                     nfi_error *err);
const char *nfi_engine_name(nfi_engine_kind kind);

/* Resolves kind (AUTO picks as above) for the format and mode.  Returns
 * 0, or -1 with an error naming what the chosen engine cannot do and
 * which engine can. */
int nfi_engine_init(nfi_engine *e, nfi_engine_kind kind,
                    const nfi_format *f, nfi_round mode, uint64_t seed,
                    nfi_error *err);

/* rop = op(a, b, c) rounded into the format; rop is set to precision p.
 * The operands of every operation but cvt must be values of the format
 * (see nfi_mpfr_in_format); cvt takes any exact value.  On the fast and
 * native engines operands are passed as binary64 numbers; a cvt operand
 * that is not a binary64 number is rounded by the exact rational path of
 * the mpfr engine, so no value passes through an intermediate format. */
void nfi_engine_op(nfi_engine *e, nfi_op op, mpfr_t rop, mpfr_srcptr a,
                   mpfr_srcptr b, mpfr_srcptr c);

/* rop = the exact rational q rounded once into the format (conversion
 * from a decimal string goes this way on every engine, so that it never
 * passes through binary64).  Takes one stochastic index like any
 * operation. */
void nfi_engine_round_q(nfi_engine *e, mpfr_t rop, const mpq_t q);

#endif
