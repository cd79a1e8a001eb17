/* nfi: the MPFR reference engine.  See engine_mpfr.h for the method. */
#include "engine_mpfr.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/* Extra bits of the round-to-odd intermediate: 32 for the stochastic
 * threshold, 2 for Boldo-Melquiond, the rest margin. */
#define WORK_EXTRA 40

/* ---- scratch numbers --------------------------------------------------
 *
 * MPFR numbers used inside one call are allocated once per thread and
 * reused: mpfr_init2 and mpfr_clear per operation cost more than the
 * operation itself at the precisions of interest.  mpfr_set_prec only
 * reallocates when the precision grows, so a variable settles at the
 * largest precision it has been asked for.  Each function uses its own
 * variables and no function calls itself, so a call never overwrites a
 * scratch number its caller still reads (the chains of calls are
 * nfi_mpfr_op_d or nfi_mpfr_dot_d -> op_in_range -> direct_op, or the
 * round-to-odd route -> round_into -> stochastic_goes_away /
 * is_midpoint; nfi_mpfr_round, nfi_mpfr_round_q and nfi_mpfr_in_format
 * -> round_into).  nfi runs one thread, but _Thread_local keeps the
 * engine correct if a caller runs several.  The numbers live as long as
 * the thread (they hold a few limbs each). */
typedef struct scratch {
    bool ready;
    mpfr_t t;             /* nfi_mpfr_op: the round-to-odd intermediate */
    mpfr_t direct;        /* direct_op: result when rop is an operand */
    mpfr_t copy;          /* nfi_mpfr_round: x when rop is x */
    mpfr_t lo, hi;        /* round_into: the neighbours (RNA, SR) */
    mpfr_t max;           /* the largest finite value, when needed */
    mpfr_t q, d, threshold; /* stochastic_goes_away */
    mpfr_t sum, twice;    /* is_midpoint */
    mpfr_t x[3], r;       /* nfi_mpfr_op_d: operands and result */
    mpfr_t in;            /* nfi_mpfr_in_format */
    mpfr_t rq;            /* nfi_mpfr_round_q */
    mpfr_t dot[3];        /* nfi_mpfr_dot_d: two accumulators, a product */
} scratch;

static _Thread_local scratch tls_scratch;

static scratch *get_scratch(void)
{
    scratch *s = &tls_scratch;
    if (!s->ready) {
        mpfr_inits2(64, s->t, s->direct, s->copy, s->lo, s->hi, s->max,
                    s->q, s->d, s->threshold, s->sum, s->twice, s->x[0],
                    s->x[1], s->x[2], s->r, s->in, s->rq, s->dot[0],
                    s->dot[1], s->dot[2], (mpfr_ptr)0);
        s->ready = true;
    }
    return s;
}

/* ---- exponent ranges ------------------------------------------------ */

typedef struct saved_range {
    mpfr_exp_t emin, emax;
} saved_range;

static saved_range widest_range(void)
{
    saved_range s = {mpfr_get_emin(), mpfr_get_emax()};
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    return s;
}

static void restore_range(saved_range s)
{
    mpfr_set_emin(s.emin);
    mpfr_set_emax(s.emax);
}

/* MPFR's exponent of 2^e is e + 1 (significands in [1/2, 1)), so the
 * smallest normal 2^emin has MPFR exponent emin + 1 and the smallest
 * subnormal 2^(emin - p + 1) has emin - p + 2.  This is the bottom of the
 * format's range for MPFR: its smallest positive number 2^(emin' - 1) is
 * then the format's smallest positive value. */
static mpfr_exp_t format_emin(const nfi_format *f)
{
    return f->subnormals ? f->emin - f->p + 2 : f->emin + 1;
}

/* Sets MPFR's range to the format's bottom and no top (overflow is
 * decided afterwards, by round.h's rules); returns the caller's range. */
static saved_range format_range(const nfi_format *f)
{
    saved_range s = {mpfr_get_emin(), mpfr_get_emax()};
    mpfr_set_emax(mpfr_get_emax_max());
    mpfr_set_emin(format_emin(f));
    return s;
}

/* format_range when the caller's range has been read already. */
static void enter_format_range(const nfi_format *f)
{
    mpfr_set_emax(mpfr_get_emax_max());
    mpfr_set_emin(format_emin(f));
}

/* The largest finite value M of f into the scratch number s->max.  Only
 * needed when a result reaches M's binade (MPFR exponent emax + 1), so
 * callers test the exponent first and compute M rarely. */
static mpfr_srcptr max_finite(scratch *s, const nfi_format *f)
{
    nfi_format_max_finite(f, s->max);
    return s->max;
}

/* Whether the rounded value r (rounded as if the range had no top)
 * overflows: |r| > M, infinities included.  M < 2^(emax+1) and
 * M >= 2^emax (format.c keeps reserved_top below 2^(p-1)), so only values
 * of MPFR exponent >= emax + 1 need the comparison. */
static bool beyond_max(scratch *s, mpfr_srcptr r, const nfi_format *f)
{
    if (mpfr_inf_p(r))
        return true;
    if (!mpfr_regular_p(r) || mpfr_get_exp(r) <= f->emax)
        return false;
    return mpfr_cmpabs(r, max_finite(s, f)) > 0;
}

/* ---- rounding onto the grid ------------------------------------------ */

/* Rounds x (exact, or round-to-odd with inexact != 0) onto f's grid in
 * MPFR mode rnd, under the format's range (format_range: no top to the
 * exponent range, overflow is decided afterwards).  mpfr_set does not
 * check the range, so mpfr_check_range must run before
 * mpfr_subnormalize; both use the ternary value, so the double rounding
 * (to p bits, then to the subnormal grid) is correct.  Without
 * subnormals, mpfr_check_range alone gives 0 or 2^emin by the mode, and
 * in RNDN the half-way value 2^(emin-1) goes to 0: the convention of
 * round.h. */
static int round_grid_here(mpfr_t rop, mpfr_srcptr x, const nfi_format *f,
                           mpfr_rnd_t rnd)
{
    int t = mpfr_set(rop, x, rnd);
    t = mpfr_check_range(rop, t, rnd);
    if (f->subnormals)
        t = mpfr_subnormalize(rop, t, rnd);
    return t;
}

/* round_grid_here under the format's range (format_range), in any
 * range. */
static int round_grid(mpfr_t rop, mpfr_srcptr x, const nfi_format *f,
                      mpfr_rnd_t rnd)
{
    saved_range s = format_range(f);
    int t = round_grid_here(rop, x, f, rnd);
    restore_range(s);
    return t;
}

/* The result of an overflow with sign neg, by round.h's rules. */
static void set_overflow(scratch *s, mpfr_t rop, bool neg,
                         const nfi_format *f, nfi_round mode)
{
    bool toward_inf = mode == NFI_ROUND_RNE || mode == NFI_ROUND_RNA ||
                      mode == NFI_ROUND_SR ||
                      (mode == NFI_ROUND_RU && !neg) ||
                      (mode == NFI_ROUND_RD && neg);
    if (f->overflow == NFI_OVERFLOW_SATURATE || !toward_inf) {
        mpfr_set_prec(rop, f->p);
        mpfr_set(rop, max_finite(s, f), MPFR_RNDN); /* exact: p bits */
        if (neg)
            mpfr_neg(rop, rop, MPFR_RNDN);
    } else if (f->has_inf) {
        mpfr_set_inf(rop, neg ? -1 : 1);
    } else {
        mpfr_set_nan(rop);
    }
}

/* An exact infinite result (an infinite operand, x/0, log 0): infinity,
 * or in a format without infinities NaN, or M with overflow=saturate. */
static void set_exact_inf(scratch *s, mpfr_t rop, bool neg,
                          const nfi_format *f)
{
    if (f->has_inf)
        mpfr_set_inf(rop, neg ? -1 : 1);
    else if (f->overflow == NFI_OVERFLOW_SATURATE)
        set_overflow(s, rop, neg, f, NFI_ROUND_RNE);
    else
        mpfr_set_nan(rop);
}

/* Stochastic rounding of x given its neighbours lo (toward zero) and hi
 * (away from zero) on the grid: hi when |x| - |lo| >= q (2^32 - u) / 2^32
 * with q = |hi - lo|, a power of two. */
static bool stochastic_goes_away(scratch *s, mpfr_srcptr x, mpfr_srcptr lo,
                                 mpfr_srcptr hi, uint32_t u)
{
    mpfr_set_prec(s->q, 2);
    /* |x| - |lo| < q is a multiple of x's last place and of lo's, so it
     * fits in prec(x) + prec(lo) bits. */
    mpfr_set_prec(s->d, mpfr_get_prec(x) + mpfr_get_prec(lo) + 2);
    mpfr_set_prec(s->threshold, 34);

    mpfr_sub(s->q, hi, lo, MPFR_RNDN); /* exact: a power of two */
    mpfr_abs(s->q, s->q, MPFR_RNDN);
    mpfr_sub(s->d, x, lo, MPFR_RNDN);  /* exact, by the size above */
    mpfr_abs(s->d, s->d, MPFR_RNDN);
    mpfr_set_ui(s->threshold, 0x100000000UL - (unsigned long)u, MPFR_RNDN);
    mpfr_mul_2si(s->threshold, s->threshold, mpfr_get_exp(s->q) - 1 - 32,
                 MPFR_RNDN);
    return mpfr_cmp(s->d, s->threshold) >= 0;
}

static bool is_midpoint(scratch *s, mpfr_srcptr x, mpfr_srcptr lo,
                        mpfr_srcptr hi)
{
    mpfr_set_prec(s->sum, mpfr_get_prec(lo) + 2);
    mpfr_set_prec(s->twice, mpfr_get_prec(x));
    mpfr_add(s->sum, lo, hi, MPFR_RNDN); /* exact: neighbours on one grid */
    mpfr_mul_2ui(s->twice, x, 1, MPFR_RNDN);
    return mpfr_equal_p(s->sum, s->twice);
}

/* nfi_mpfr_round with rop distinct from x, under MPFR's widest exponent
 * range (the largest finite value, the neighbours and the stochastic
 * threshold of a format with exponents near 2^40 lie outside MPFR's
 * default range), or under a range that is roomy for f (see roomy) when
 * x is regular with 2^(emin+1) <= |x| < 2^(Emax-2), Emax the top of the
 * range. */
static int round_into(scratch *s, mpfr_t rop, mpfr_srcptr x, int inexact,
                      const nfi_format *f, nfi_round mode, uint32_t sr_bits)
{
    mpfr_set_prec(rop, f->p);
    if (mpfr_nan_p(x)) {
        mpfr_set_nan(rop);
        return 0;
    }
    if (mpfr_inf_p(x)) {
        set_exact_inf(s, rop, mpfr_sgn(x) < 0, f);
        return 0;
    }
    if (mpfr_zero_p(x)) {
        mpfr_set(rop, x, MPFR_RNDN);
        return 0;
    }

    switch (mode) {
    case NFI_ROUND_RNE:
        round_grid(rop, x, f, MPFR_RNDN);
        break;
    case NFI_ROUND_RZ:
        round_grid(rop, x, f, MPFR_RNDZ);
        break;
    case NFI_ROUND_RU:
        round_grid(rop, x, f, MPFR_RNDU);
        break;
    case NFI_ROUND_RD:
        round_grid(rop, x, f, MPFR_RNDD);
        break;
    case NFI_ROUND_RNA:
    case NFI_ROUND_SR: {
        mpfr_set_prec(s->lo, f->p);
        mpfr_set_prec(s->hi, f->p);
        /* From 2^(emin+1) up (MPFR exponent emin + 2) x and both its
         * neighbours lie in the normal range, where the grid is the grid
         * of p-bit numbers: the neighbours are x rounded to p bits toward
         * and away from zero, in any exponent range that holds them (a
         * range reaching one binade above x's). */
        bool normal = mpfr_get_exp(x) >= f->emin + 2;
        int t;
        if (normal) {
            t = mpfr_set(s->lo, x, MPFR_RNDZ);
            mpfr_set(s->hi, x, MPFR_RNDA);
        } else {
            saved_range range = format_range(f);
            t = round_grid_here(s->lo, x, f, MPFR_RNDZ);
            round_grid_here(s->hi, x, f, MPFR_RNDA);
            restore_range(range);
        }
        if (t == 0 && inexact == 0) {
            mpfr_set(rop, s->lo, MPFR_RNDN);
        } else if (mpfr_inf_p(s->hi)) {
            /* x beyond even MPFR's widest range: far above every format's
             * largest finite value, so the result overflows either way
             * (SR and RNA overflow to infinity). */
            mpfr_set(rop, s->hi, MPFR_RNDN);
        } else if (mode == NFI_ROUND_RNA) {
            /* A round-to-odd value is never a midpoint, so only an exact x
             * can be a tie. */
            if (inexact == 0 && is_midpoint(s, x, s->lo, s->hi))
                mpfr_set(rop, s->hi, MPFR_RNDN);
            else if (normal)
                mpfr_set(rop, x, MPFR_RNDN);
            else
                round_grid(rop, x, f, MPFR_RNDN);
        } else {
            mpfr_set(rop, stochastic_goes_away(s, x, s->lo, s->hi, sr_bits)
                              ? s->hi : s->lo,
                     MPFR_RNDN);
        }
        break;
    }
    }

    if (beyond_max(s, rop, f))
        set_overflow(s, rop, mpfr_sgn(rop) < 0, f, mode);
    return mpfr_nan_p(rop) ? 0 : mpfr_cmp(rop, x);
}

int nfi_mpfr_round(mpfr_t rop, mpfr_srcptr x, int inexact,
                   const nfi_format *f, nfi_round mode, uint32_t sr_bits)
{
    scratch *s = get_scratch();
    saved_range range = widest_range();
    int ternary;
    if (rop == x) {
        mpfr_set_prec(s->copy, mpfr_get_prec(x));
        mpfr_set(s->copy, x, MPFR_RNDN);
        ternary = round_into(s, rop, s->copy, inexact, f, mode, sr_bits);
    } else {
        ternary = round_into(s, rop, x, inexact, f, mode, sr_bits);
    }
    restore_range(range);
    return ternary;
}

/* ---- the direct route: RNE, RZ, RU, RD ---------------------------------
 *
 * In these modes an operation is one MPFR operation at the format's
 * precision p, in the mode, under the format's exponent range; this is
 * the textbook use of MPFR to emulate a format (MPFR manual, "Exceptions"
 * and mpfr_subnormalize), the computation tests/test_reference.c and
 * tests/independent_arith.py compare against.  Why it is the format's
 * rounding of the exact result x (sim/round.h):
 *
 *   1. MPFR's operations are correctly rounded: the result is x rounded
 *      to p bits in the mode, as if the exponent range were unbounded,
 *      and then, should that lie outside the current range, the
 *      underflow or overflow of the exact x.  With the bottom of the
 *      range at emin' (format_emin), MPFR's smallest positive number
 *      2^(emin'-1) is the format's smallest positive value m.  Below it
 *      MPFR returns 0 or m by the mode, deciding on x itself: in RNDN,
 *      0 when |x| <= m/2 (the half-way case goes to 0, the even
 *      neighbour, as round.h says), m above.  Without subnormals m is
 *      2^emin and nothing else lies below the normal range, so this is
 *      the whole of round.h's single-step grid [0, 2^emin].
 *   2. Above 2^emin the format's grid is the grid of p-bit numbers, so
 *      step 1 is already the answer (no top: see 4).
 *   3. With subnormals, between m and 2^emin the format's grid (step m)
 *      is coarser than the p-bit grid, and mpfr_subnormalize rounds the
 *      p-bit result r once more onto it.  Rounding twice is wrong only
 *      when the second rounding cannot see where x lay relative to r;
 *      the ternary value of step 1 (the sign of r - x) is passed to
 *      mpfr_subnormalize for that purpose.  Directed modes: the p-bit
 *      grid refines the coarse one, so no coarse point lies strictly
 *      between x and r, and rounding r in the same direction gives the
 *      coarse neighbour of x in that direction (r itself if r is on the
 *      coarse grid, where the ternary keeps the inexact flag).  RNDN:
 *      r differs from the nearest coarse point of x only when r is a
 *      coarse midpoint; then the ternary value tells on which side of it
 *      x lies, and a midpoint x (ternary 0) is a true tie resolved to
 *      even.  mpfr_check_range runs first, as MPFR's examples do; after
 *      a correctly rounded operation it changes nothing but is harmless.
 *   4. The top of the range is left open (mpfr_get_emax_max), so a
 *      result beyond the largest finite value M comes out rounded as if
 *      the range had no top, and round.h's overflow rules (IEEE 754 7.4,
 *      saturation, E4M3's reserved top significand) are applied to it
 *      afterwards, as on the round-to-odd route.  Only exp can exceed
 *      even MPFR's widest range (exp of a number near the largest of a
 *      format with exponents near 2^40); MPFR then returns infinity or
 *      its largest number, both beyond M, and either way the result is
 *      handled as an overflow, not as an exact infinity: the latter
 *      arises only from an infinite operand, x/0 or log 0, which
 *      exact_infinity recognises from the operands.
 *   5. Zeros: MPFR follows IEEE 754 6.3 (an exact zero sum is +0 except
 *      in RNDD, where it is -0; sqrt(-0) = -0; a rounded zero keeps the
 *      sign of x); NaN and infinite operands follow IEEE 754 as on the
 *      round-to-odd route, which calls the same MPFR functions.
 *
 * A shortcut saves the four changes of MPFR's exponent range in the
 * common case.  The operation is first carried out in the caller's range
 * [Emin, Emax] (operands within it).  If the result r is a regular number
 * with Emin < EXP(r) < Emax, MPFR met neither underflow nor overflow (an
 * underflow returns 0 or 2^(Emin-1), of exponent Emin; an overflow an
 * infinity or the largest number, of exponent Emax), so r is x rounded to
 * p bits with an unbounded range.  If moreover EXP(r) >= emin + 2, that
 * is |r| >= 2^(emin+1) > 2^emin, then |x| > 2^emin: 2^emin is a p-bit
 * number and rounding is monotone, so |x| <= 2^emin would give
 * |r| <= 2^emin.  Above 2^emin the format's grid is the p-bit grid
 * (step 2), so r is the format's rounding (overflow aside, as in 4).  An
 * exact zero (ternary 0) and NaN do not depend on the range either.  Any
 * other result is computed again under the format's range as above.
 *
 * MPFR's functions expect operands within the current exponent range, so
 * this route takes only operands whose exponents are at least emin' (every
 * value of the format is); an operand outside the format's range goes
 * the round-to-odd route, which works under MPFR's widest range.  RNA
 * (MPFR has no ties-away mode for arithmetic) and SR always go that way,
 * as do neg, abs, min and max (exact, then rounded). */

static bool direct_mode(nfi_round mode, mpfr_rnd_t *rnd)
{
    switch (mode) {
    case NFI_ROUND_RNE: *rnd = MPFR_RNDN; return true;
    case NFI_ROUND_RZ: *rnd = MPFR_RNDZ; return true;
    case NFI_ROUND_RU: *rnd = MPFR_RNDU; return true;
    case NFI_ROUND_RD: *rnd = MPFR_RNDD; return true;
    default: return false;
    }
}

/* Whether x lies within the exponent range [emin, emax] (NaN, infinities
 * and zeros have no exponent and always qualify). */
static bool in_range(mpfr_srcptr x, mpfr_exp_t emin, mpfr_exp_t emax)
{
    if (!mpfr_regular_p(x))
        return true;
    mpfr_exp_t e = mpfr_get_exp(x);
    return e >= emin && e <= emax;
}

/* The same for the operands of an operation of the given arity. */
static bool operands_in_range(int arity, mpfr_srcptr a, mpfr_srcptr b,
                              mpfr_srcptr c, mpfr_exp_t emin,
                              mpfr_exp_t emax)
{
    return in_range(a, emin, emax) &&
           (arity < 2 || in_range(b, emin, emax)) &&
           (arity < 3 || in_range(c, emin, emax));
}

/* Whether an infinite result of op is exact (rather than an overflow of
 * MPFR's own range): an infinite operand, a division by zero, log 0. */
static bool exact_infinity(nfi_op op, int arity, mpfr_srcptr a,
                           mpfr_srcptr b, mpfr_srcptr c)
{
    mpfr_srcptr x[3] = {a, b, c};
    for (int i = 0; i < arity; i++)
        if (mpfr_inf_p(x[i]))
            return true;
    return (op == NFI_OP_DIV && mpfr_zero_p(b)) ||
           (op == NFI_OP_LOG && mpfr_zero_p(a));
}

/* rop = op(a, b, c) correctly rounded to rop's precision in MPFR mode rnd
 * in the current exponent range; returns the ternary value. */
static int mpfr_apply(nfi_op op, mpfr_t rop, mpfr_srcptr a, mpfr_srcptr b,
                      mpfr_srcptr c, mpfr_rnd_t rnd)
{
    switch (op) {
    case NFI_OP_ADD: return mpfr_add(rop, a, b, rnd);
    case NFI_OP_SUB: return mpfr_sub(rop, a, b, rnd);
    case NFI_OP_MUL: return mpfr_mul(rop, a, b, rnd);
    case NFI_OP_DIV: return mpfr_div(rop, a, b, rnd);
    case NFI_OP_SQRT: return mpfr_sqrt(rop, a, rnd);
    case NFI_OP_FMA: return mpfr_fma(rop, a, b, c, rnd);
    case NFI_OP_EXP: return mpfr_exp(rop, a, rnd);
    case NFI_OP_LOG: return mpfr_log(rop, a, rnd);
    case NFI_OP_CVT: return mpfr_set(rop, a, rnd);
    default: return 0; /* not reached: the callers pass rounding ops */
    }
}

/* The direct route for rounding operation op in mode (not RNA or SR), rop
 * not aliasing an operand, operands of MPFR exponent >= format_emin(f),
 * caller the current exponent range.  Returns the ternary value. */
static int direct_op(scratch *s, nfi_op op, mpfr_t rop, mpfr_srcptr a,
                     mpfr_srcptr b, mpfr_srcptr c, const nfi_format *f,
                     nfi_round mode, mpfr_rnd_t rnd,
                     const saved_range *caller)
{
    int arity = nfi_op_arity(op);
    if (mpfr_get_prec(rop) != f->p)
        mpfr_set_prec(rop, f->p);
    int t;

    /* The shortcut in the caller's range. */
    if (operands_in_range(arity, a, b, c, caller->emin, caller->emax)) {
        t = mpfr_apply(op, rop, a, b, c, rnd);
        if (mpfr_regular_p(rop)) {
            mpfr_exp_t e = mpfr_get_exp(rop);
            if (e > caller->emin && e < caller->emax && e >= f->emin + 2)
                goto rounded;
        } else if (mpfr_nan_p(rop) || (mpfr_zero_p(rop) && t == 0)) {
            return t;
        }
    }

    /* The operation under the format's range. */
    enter_format_range(f);
    t = mpfr_apply(op, rop, a, b, c, rnd);
    t = mpfr_check_range(rop, t, rnd);
    if (f->subnormals)
        t = mpfr_subnormalize(rop, t, rnd);
    restore_range(*caller);

rounded:
    if (mpfr_nan_p(rop))
        return 0;
    bool neg = mpfr_signbit(rop) != 0;
    if (mpfr_inf_p(rop)) {
        if (exact_infinity(op, arity, a, b, c)) {
            set_exact_inf(s, rop, neg, f);
            return 0; /* as round_into: an exact infinity is no rounding */
        }
    } else if (!beyond_max(s, rop, f)) {
        return t;
    }
    /* Overflow: |x| > M.  The result is an infinity of x's sign or +-M
     * (or NaN), and the ternary follows. */
    set_overflow(s, rop, neg, f, mode);
    if (mpfr_nan_p(rop))
        return 0;
    if (mpfr_inf_p(rop))
        return neg ? -1 : 1;
    return neg ? 1 : -1;
}

/* ---- the round-to-odd route ------------------------------------------ */

/* Whether the exponent range r holds every number round_into makes for f
 * from an intermediate x of WORK_EXTRA extra bits with 2^(emin+1) <= |x|
 * and x well inside r: the neighbours lo and hi (p bits, within a binade
 * of x), the largest finite value M (below 2^(emax+1)), |x| - |lo| (a
 * multiple of x's last place, at least 2^(emin+1-p-WORK_EXTRA)), the
 * step q >= 2^(emin+2-p) and the stochastic threshold (at least
 * q 2^-32), and the 32-bit integer 2^32 - u.  The bounds below leave a
 * margin. */
static bool roomy(const saved_range *r, const nfi_format *f)
{
    return r->emin <= f->emin - f->p - 2 * WORK_EXTRA &&
           r->emax >= f->emax + 4 && r->emax >= 64;
}

/* Makes t, the toward-zero result with ternary inex, round-to-odd. */
static void make_odd(mpfr_t t, int inex)
{
    if (inex == 0 || mpfr_nan_p(t) || mpfr_inf_p(t))
        return;
    if (mpfr_zero_p(t)) {
        /* Underflow below MPFR's widest range: any value nearer zero
         * than every format's half smallest value serves. */
        mpfr_set_ui_2exp(t, 1, mpfr_get_emin_min(), MPFR_RNDN);
        if (inex > 0)
            mpfr_neg(t, t, MPFR_RNDN);
        return;
    }
    if (mpfr_min_prec(t) < mpfr_get_prec(t)) {
        if (mpfr_sgn(t) > 0)
            mpfr_nextabove(t);
        else
            mpfr_nextbelow(t);
    }
}

/* max/min with NaN propagation, -0 < +0. */
static void select_extreme(mpfr_t rop, mpfr_srcptr a, mpfr_srcptr b,
                           bool want_max)
{
    if (mpfr_nan_p(a) || mpfr_nan_p(b)) {
        mpfr_set_nan(rop);
        return;
    }
    int c = mpfr_cmp(a, b);
    if (c == 0)
        c = (mpfr_signbit(b) ? 1 : 0) - (mpfr_signbit(a) ? 1 : 0);
    mpfr_srcptr pick = (c >= 0) == want_max ? a : b;
    mpfr_set_prec(rop, mpfr_get_prec(pick));
    mpfr_set(rop, pick, MPFR_RNDN);
}

/* nfi_mpfr_op, the caller's exponent range being `caller`. */
static int op_in_range(scratch *s, nfi_op op, mpfr_t rop, mpfr_srcptr a,
                       mpfr_srcptr b, mpfr_srcptr c, const nfi_format *f,
                       nfi_round mode, uint32_t sr_bits,
                       const saved_range *caller)
{
    mpfr_rnd_t rnd;
    if (nfi_op_rounds(op) && direct_mode(mode, &rnd)) {
        int arity = nfi_op_arity(op);
        if (operands_in_range(arity, a, b, c, format_emin(f),
                              mpfr_get_emax_max())) {
            bool alias = rop == a || (arity >= 2 && rop == b) ||
                         (arity >= 3 && rop == c);
            if (!alias)
                return direct_op(s, op, rop, a, b, c, f, mode, rnd, caller);
            int t = direct_op(s, op, s->direct, a, b, c, f, mode, rnd,
                              caller);
            mpfr_set_prec(rop, f->p);
            mpfr_set(rop, s->direct, MPFR_RNDN); /* exact: p bits */
            return t;
        }
    }

    mpfr_prec_t work = f->p + WORK_EXTRA;
    mpfr_ptr t = s->t;
    int inex = 0;
    bool may_cancel = false;

    if (op == NFI_OP_CVT || op == NFI_OP_NEG || op == NFI_OP_ABS ||
        op == NFI_OP_MIN || op == NFI_OP_MAX) {
        mpfr_prec_t pa = mpfr_get_prec(a);
        if (op == NFI_OP_MIN || op == NFI_OP_MAX) {
            mpfr_prec_t pb = mpfr_get_prec(b);
            pa = pa > pb ? pa : pb;
        }
        if (pa > work)
            work = pa; /* neg, abs, min, max stay exact */
    }
    if (mpfr_get_prec(t) != work)
        mpfr_set_prec(t, work);

    /* The shortcut, as on the direct route: a regular intermediate of
     * exponent strictly inside the caller's range met neither underflow
     * nor overflow, so it is the one MPFR's widest range would give.  If
     * it is at least 2^(emin+1) and the caller's range is roomy for f,
     * round_into may work in the caller's range (see roomy); otherwise
     * everything is done again over the widest range. */
    if (nfi_op_rounds(op) && roomy(caller, f) &&
        operands_in_range(nfi_op_arity(op), a, b, c, caller->emin,
                          caller->emax)) {
        inex = mpfr_apply(op, t, a, b, c, MPFR_RNDZ);
        if (mpfr_regular_p(t)) {
            mpfr_exp_t e = mpfr_get_exp(t);
            if (e > caller->emin && e < caller->emax - 1 &&
                e >= f->emin + 2) {
                make_odd(t, inex); /* stays within the binade */
                return round_into(s, rop, t, inex, f, mode, sr_bits);
            }
        }
    }

    saved_range range = widest_range();

    switch (op) {
    case NFI_OP_ADD:
        inex = mpfr_add(t, a, b, MPFR_RNDZ);
        may_cancel = true;
        break;
    case NFI_OP_SUB:
        inex = mpfr_sub(t, a, b, MPFR_RNDZ);
        may_cancel = true;
        break;
    case NFI_OP_MUL:
        inex = mpfr_mul(t, a, b, MPFR_RNDZ);
        break;
    case NFI_OP_DIV:
        inex = mpfr_div(t, a, b, MPFR_RNDZ);
        break;
    case NFI_OP_SQRT:
        inex = mpfr_sqrt(t, a, MPFR_RNDZ);
        break;
    case NFI_OP_FMA:
        inex = mpfr_fma(t, a, b, c, MPFR_RNDZ);
        may_cancel = true;
        break;
    case NFI_OP_EXP:
        inex = mpfr_exp(t, a, MPFR_RNDZ);
        break;
    case NFI_OP_LOG:
        inex = mpfr_log(t, a, MPFR_RNDZ);
        break;
    case NFI_OP_CVT:
        inex = mpfr_set(t, a, MPFR_RNDZ);
        break;
    case NFI_OP_NEG:
        mpfr_neg(t, a, MPFR_RNDN);
        break;
    case NFI_OP_ABS:
        mpfr_abs(t, a, MPFR_RNDN);
        break;
    case NFI_OP_MIN:
    case NFI_OP_MAX:
        select_extreme(t, a, b, op == NFI_OP_MAX);
        break;
    }

    /* An exact zero sum is -0 only in RD (IEEE 754 6.3); MPFR's RNDZ gave
     * the RNE sign, so redo it in the mode's direction. */
    if (may_cancel && inex == 0 && mpfr_zero_p(t) &&
        mode == NFI_ROUND_RD) {
        if (op == NFI_OP_ADD)
            mpfr_add(t, a, b, MPFR_RNDD);
        else if (op == NFI_OP_SUB)
            mpfr_sub(t, a, b, MPFR_RNDD);
        else
            mpfr_fma(t, a, b, c, MPFR_RNDD);
    }
    make_odd(t, inex);
    /* nfi_mpfr_round without its own change of range (rop is not t). */
    int ternary = round_into(s, rop, t, inex, f, mode, sr_bits);
    restore_range(range);
    return ternary;
}

int nfi_mpfr_op(nfi_op op, mpfr_t rop, mpfr_srcptr a, mpfr_srcptr b,
                mpfr_srcptr c, const nfi_format *f, nfi_round mode,
                uint32_t sr_bits)
{
    saved_range caller = {mpfr_get_emin(), mpfr_get_emax()};
    return op_in_range(get_scratch(), op, rop, a, b, c, f, mode, sr_bits,
                       &caller);
}

/* Binary64 numbers to and from MPFR numbers without allocation or a
 * library call, for nfi_mpfr_op_d, through MPFR's custom interface (one
 * 64-bit limb holds any binary64 significand).
 *
 * load_double: x = v exactly.  *limb receives v's significand,
 * left-aligned (its top bit set, as MPFR requires), and x points to it;
 * MPFR's exponent e puts the value at limb 2^(e - 64).  A normal v with
 * biased exponent E and fraction F is (2^52 + F) 2^(E - 1075): the limb
 * is (2^52 + F) 2^11, so e = E - 1022.  A subnormal v is F 2^-1074: with
 * z the leading zeros of F, the limb is F 2^z and e = 64 - z - 1074.  The
 * precision is p when the significand fits p bits (so that the values of
 * a format come in at the format's precision, where MPFR's operations
 * with all precisions equal take their fastest paths), else 53; either
 * way the bits of the limb beyond the precision are zero, as MPFR
 * requires.  x must not be given to mpfr_set_prec or mpfr_clear. */
#if GMP_NUMB_BITS == 64 && GMP_NAIL_BITS == 0
#define NFI_LIMB_DOUBLES 1
static void load_double(mpfr_ptr x, mp_limb_t *limb, double v,
                        mpfr_prec_t p)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int sign = bits >> 63 ? -1 : 1;
    int biased = (int)(bits >> 52) & 0x7ff;
    uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
    mpfr_exp_t e;
    if (biased == 0x7ff) {
        *limb = 0;
        mpfr_custom_init_set(x, frac ? MPFR_NAN_KIND : sign * MPFR_INF_KIND,
                             0, 53, limb);
        return;
    }
    if (biased == 0) {
        if (frac == 0) {
            *limb = 0;
            mpfr_custom_init_set(x, sign * MPFR_ZERO_KIND, 0, 53, limb);
            return;
        }
        int z = __builtin_clzll(frac);
        *limb = frac << z;
        e = 64 - z - 1074;
    } else {
        *limb = (frac | UINT64_C(1) << 52) << 11;
        e = biased - 1022;
    }
    int used = 64 - __builtin_ctzll(*limb); /* significant bits */
    mpfr_custom_init_set(x, sign * MPFR_REGULAR_KIND, e, used <= p ? p : 53,
                         limb);
}

/* The value of x, a number of at most 53 bits that is a binary64 number
 * (a value of a format that fits binary64, or an infinity or NaN).  A
 * normal binary64 result (MPFR exponent e >= -1021, so x >= 2^-1022) is
 * assembled from its limb by the inverse of load_double: biased exponent
 * e + 1022, fraction the 52 bits below the limb's top bit (the limb's
 * low 11 bits are zero since the precision is at most 53).  Subnormal
 * binary64 results, zeros' signs aside, and specials go through
 * mpfr_get_d, exact for a binary64 number. */
static double get_double(mpfr_srcptr x)
{
    if (mpfr_zero_p(x))
        return mpfr_signbit(x) ? -0.0 : 0.0;
    if (!mpfr_regular_p(x) || mpfr_get_prec(x) > 53 ||
        mpfr_get_exp(x) < -1021 || mpfr_get_exp(x) > 1024)
        return mpfr_get_d(x, MPFR_RNDN);
    const mp_limb_t *limb = mpfr_custom_get_significand(x);
    uint64_t top = limb[0]; /* the only limb: precision <= 53 */
    uint64_t bits = (uint64_t)(mpfr_signbit(x) ? 1 : 0) << 63 |
                    (uint64_t)(mpfr_get_exp(x) + 1022) << 52 |
                    (top >> 11 & ((UINT64_C(1) << 52) - 1));
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}
#endif

double nfi_mpfr_op_d(nfi_op op, double a, double b, double c,
                     const nfi_format *f, nfi_round mode, uint32_t sr_bits)
{
    scratch *s = get_scratch();
    double v[3] = {a, b, c};
#ifdef NFI_LIMB_DOUBLES
    mpfr_t x[3];
    mp_limb_t limb[3];
    for (int i = 0; i < 3; i++)
        load_double(x[i], &limb[i], v[i], f->p);
    nfi_mpfr_op(op, s->r, x[0], x[1], x[2], f, mode, sr_bits);
    return get_double(s->r); /* exact: f fits binary64 */
#else
    /* Operands as MPFR numbers of precision 53: exact (mpfr_set_d at 53
     * bits within MPFR's default range, which holds every binary64
     * number). */
    for (int i = 0; i < 3; i++) {
        mpfr_set_prec(s->x[i], 53);
        mpfr_set_d(s->x[i], v[i], MPFR_RNDN);
    }
    nfi_mpfr_op(op, s->r, s->x[0], s->x[1], s->x[2], f, mode, sr_bits);
    return mpfr_get_d(s->r, MPFR_RNDN); /* exact: f fits binary64 */
#endif
}

int nfi_mpfr_dot_d(const nfi_format *f, nfi_round mode, size_t n,
                   const double *a, ptrdiff_t stride_a, const double *b,
                   ptrdiff_t stride_b, double *out)
{
#ifdef NFI_LIMB_DOUBLES
    mpfr_rnd_t rnd;
    if (n == 0 || !direct_mode(mode, &rnd))
        return -1;
    scratch *s = get_scratch();
    /* Read once: every operation below restores it before returning. */
    saved_range caller = {mpfr_get_emin(), mpfr_get_emax()};
    mpfr_ptr acc = s->dot[0], next = s->dot[1], product = s->dot[2];
    for (size_t i = 0; i < n; i++) {
        mpfr_t x, y;
        mp_limb_t limb_x, limb_y;
        load_double(x, &limb_x, a[(ptrdiff_t)i * stride_a], f->p);
        load_double(y, &limb_y, b[(ptrdiff_t)i * stride_b], f->p);
        if (i == 0) {
            op_in_range(s, NFI_OP_MUL, acc, x, y, NULL, f, mode, 0, &caller);
            continue;
        }
        op_in_range(s, NFI_OP_MUL, product, x, y, NULL, f, mode, 0, &caller);
        op_in_range(s, NFI_OP_ADD, next, acc, product, NULL, f, mode, 0,
                    &caller);
        mpfr_ptr old = acc;
        acc = next;
        next = old;
    }
    *out = get_double(acc); /* exact: f fits binary64 */
    return 0;
#else
    (void)f, (void)mode, (void)n, (void)a, (void)stride_a, (void)b,
        (void)stride_b, (void)out;
    return -1;
#endif
}

int nfi_mpfr_round_q(mpfr_t rop, const mpq_t q, const nfi_format *f,
                     nfi_round mode, uint32_t sr_bits)
{
    scratch *s = get_scratch();
    mpfr_set_prec(s->rq, f->p + WORK_EXTRA);
    saved_range range = widest_range();
    int inex = mpfr_set_q(s->rq, q, MPFR_RNDZ);
    make_odd(s->rq, inex);
    restore_range(range);
    return nfi_mpfr_round(rop, s->rq, inex, f, mode, sr_bits);
}

int nfi_mpfr_in_format(mpfr_srcptr x, const nfi_format *f)
{
    if (mpfr_nan_p(x))
        return 1;
    if (mpfr_inf_p(x))
        return f->has_inf;
    scratch *s = get_scratch();
    nfi_mpfr_round(s->in, x, 0, f, NFI_ROUND_RZ, 0);
    return mpfr_equal_p(s->in, x);
}

nfi_order nfi_mpfr_compare(mpfr_srcptr a, mpfr_srcptr b)
{
    if (mpfr_nan_p(a) || mpfr_nan_p(b))
        return NFI_ORDER_UNORDERED;
    int c = mpfr_cmp(a, b);
    return c < 0 ? NFI_ORDER_LESS : c > 0 ? NFI_ORDER_GREATER
                                          : NFI_ORDER_EQUAL;
}
