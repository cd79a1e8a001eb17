/* nfi: engine dispatch.  See engine.h. */
#include "engine.h"

#include <math.h>
#include <stdbool.h>

#include <string.h>
#include <strings.h>

#include "engine_mpfr.h"
#include "engine_native.h"

static const char *const engine_names[] = {"auto", "mpfr", "fast",
                                           "native"};

const char *nfi_engine_name(nfi_engine_kind kind)
{
    return (int)kind >= 0 && (int)kind < 4 ? engine_names[kind] : "?";
}

int nfi_engine_parse(const char *name, nfi_engine_kind *out, nfi_error *err)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, engine_names[i]) == 0) {
            *out = (nfi_engine_kind)i;
            return 0;
        }
    }
    return nfi_error_set(err, "unknown engine '%s': use auto, mpfr, fast or "
                         "native", name);
}

int nfi_engine_init(nfi_engine *e, nfi_engine_kind kind,
                    const nfi_format *f, nfi_round mode, uint64_t seed,
                    nfi_error *err)
{
    if (nfi_format_validate(f, err) != 0)
        return -1;
    memset(e, 0, sizeof *e);
    e->format = *f;
    e->mode = mode;
    e->seed = seed;
    int width = nfi_native_width(f, mode);
    bool fits = nfi_format_fits_binary64(f);

    if (kind == NFI_ENGINE_AUTO)
        kind = width ? NFI_ENGINE_NATIVE
                     : fits ? NFI_ENGINE_FAST : NFI_ENGINE_MPFR;
    if (kind == NFI_ENGINE_NATIVE && width == 0)
        return nfi_error_set(err, "the native engine computes only binary32 "
                             "and binary64 (subnormals on, overflow=inf) in "
                             "round=rne; use --engine fast or mpfr (or "
                             "auto)");
    if (kind == NFI_ENGINE_FAST && !fits)
        return nfi_error_set(err, "the fast engine needs a format inside "
                             "binary64 (p <= 53, -1022 <= emin, emax <= "
                             "1023); use --engine mpfr (or auto)");
    e->kind = kind;
    e->native_width = width;
    if (kind != NFI_ENGINE_MPFR &&
        nfi_fast_init(&e->fast, f, mode, seed, err) != 0)
        return -1;
    return 0;
}

/* Whether x is a binary64 number (so it converts to double exactly). */
static bool is_binary64(mpfr_srcptr x)
{
    if (!mpfr_number_p(x) || mpfr_zero_p(x))
        return true;
    mpfr_t t;
    mpfr_init2(t, 53);
    double d = mpfr_get_d(x, MPFR_RNDN);
    mpfr_set_d(t, d, MPFR_RNDN);
    bool same = mpfr_equal_p(t, x) && !isinf(d);
    mpfr_clear(t);
    return same;
}

/* The stochastic bits of the next operation done through MPFR. */
static uint32_t next_mpfr_bits(nfi_engine *e)
{
    if (e->mode != NFI_ROUND_SR)
        return 0;
    uint64_t *counter = e->kind == NFI_ENGINE_MPFR ? &e->counter
                                                   : &e->fast.counter;
    return nfi_sr_bits(e->seed, (*counter)++);
}

void nfi_engine_round_q(nfi_engine *e, mpfr_t rop, const mpq_t q)
{
    nfi_mpfr_round_q(rop, q, &e->format, e->mode, next_mpfr_bits(e));
}

void nfi_engine_op(nfi_engine *e, nfi_op op, mpfr_t rop, mpfr_srcptr a,
                   mpfr_srcptr b, mpfr_srcptr c)
{
    int arity = nfi_op_arity(op);
    if (e->kind == NFI_ENGINE_MPFR ||
        (op == NFI_OP_CVT && !is_binary64(a))) {
        uint32_t u = nfi_op_rounds(op) ? next_mpfr_bits(e) : 0;
        nfi_mpfr_op(op, rop, a, b, c, &e->format, e->mode, u);
        return;
    }
    double da = mpfr_get_d(a, MPFR_RNDN);
    double db = arity > 1 ? mpfr_get_d(b, MPFR_RNDN) : 0.0;
    double dc = arity > 2 ? mpfr_get_d(c, MPFR_RNDN) : 0.0;
    double r;
    if (e->kind == NFI_ENGINE_NATIVE && op != NFI_OP_EXP &&
        op != NFI_OP_LOG)
        r = nfi_native_op(e->native_width, op, da, db, dc);
    else
        r = nfi_fast_op(&e->fast, op, da, db, dc);
    mpfr_set_prec(rop, e->format.p);
    mpfr_set_d(rop, r, MPFR_RNDN); /* exact: a format value */
}
