/* nfi: scalar arithmetic on binary64-held format values, through either
 * the fast engine or, as the slow reference twin, the MPFR engine.
 *
 * Kernels (reductions, softmax cross-entropy, matrix products) are written
 * once against this handle.  Run with `reference` set, every operation
 * goes through nfi_mpfr_op_d: the same kernel is then its own slow,
 * obviously correct twin, and the tests compare the two bit for bit.
 * Both ways take stochastic-rounding indices from the same counter in the
 * same order (one per rounding operation), so they agree in every mode.
 * Formats must fit binary64 (nfi_format_fits_binary64). */
#ifndef NFI_ARITH_H
#define NFI_ARITH_H

#include <stdbool.h>

#include "engine_fast.h"
#include "engine_mpfr.h"
#include "engine_native.h"

typedef struct nfi_arith {
    nfi_fast fast;   /* format, mode, seed and counter live here */
    bool reference;  /* true: every operation through the MPFR engine */
} nfi_arith;

/* Prepares a handle; errors as nfi_fast_init. */
int nfi_arith_init(nfi_arith *a, const nfi_format *f, nfi_round mode,
                   uint64_t seed, bool reference, nfi_error *err);

/* op(x, y, z) rounded once into the handle's format. */
static inline double nfi_arith_op(nfi_arith *a, nfi_op op, double x,
                                  double y, double z)
{
    double r;
    if (!a->reference && a->fast.native_width != 0 &&
        nfi_native_basic(a->fast.native_width, op, x, y, &r))
        return r;
    if (!a->reference)
        return nfi_fast_op(&a->fast, op, x, y, z);
    uint32_t u = 0;
    if (a->fast.mode == NFI_ROUND_SR && nfi_op_rounds(op))
        u = nfi_sr_bits(a->fast.seed, a->fast.counter++);
    return nfi_mpfr_op_d(op, x, y, z, &a->fast.format, a->fast.mode, u);
}

static inline double nfi_arith_add(nfi_arith *a, double x, double y)
{
    return nfi_arith_op(a, NFI_OP_ADD, x, y, 0.0);
}

static inline double nfi_arith_sub(nfi_arith *a, double x, double y)
{
    return nfi_arith_op(a, NFI_OP_SUB, x, y, 0.0);
}

static inline double nfi_arith_mul(nfi_arith *a, double x, double y)
{
    return nfi_arith_op(a, NFI_OP_MUL, x, y, 0.0);
}

static inline double nfi_arith_div(nfi_arith *a, double x, double y)
{
    return nfi_arith_op(a, NFI_OP_DIV, x, y, 0.0);
}

static inline double nfi_arith_exp(nfi_arith *a, double x)
{
    return nfi_arith_op(a, NFI_OP_EXP, x, 0.0, 0.0);
}

static inline double nfi_arith_log(nfi_arith *a, double x)
{
    return nfi_arith_op(a, NFI_OP_LOG, x, 0.0, 0.0);
}

/* Rounds any binary64 value into the format (a cast between roles). */
static inline double nfi_arith_round(nfi_arith *a, double x)
{
    return nfi_arith_op(a, NFI_OP_CVT, x, 0.0, 0.0);
}

/* A value of format `from` moving into the handle's role: a rounding
 * when the formats differ (it takes a stochastic index then), nothing
 * when they agree.  Kernels pass every operand through this before an
 * operation of another role: the fast engine's operations take values of
 * their own format (its shortcuts, such as binary64 arithmetic followed
 * by one rounding, rely on it), and the design says a cast between roles
 * is a rounding. */
static inline double nfi_arith_cast(nfi_arith *to, const nfi_format *from,
                                    double x)
{
    if (nfi_format_equal(from, &to->fast.format))
        return x;
    return nfi_arith_round(to, x);
}

#endif
