/* nfi: the MPFR reference engine.  See engine_mpfr.h for the method. */
#include "engine_mpfr.h"

#include <stdbool.h>

/* Extra bits of the round-to-odd intermediate: 32 for the stochastic
 * threshold, 2 for Boldo-Melquiond, the rest margin. */
#define WORK_EXTRA 40

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

/* Rounds x (exact, or round-to-odd with inexact != 0) onto f's grid in
 * MPFR mode rnd, with no top to the exponent range (overflow is decided
 * afterwards).  MPFR's exponent of 2^e is e + 1, so the smallest normal
 * 2^emin has MPFR exponent emin + 1 and the smallest subnormal
 * 2^(emin - p + 1) has emin - p + 2.  mpfr_set does not check the range,
 * so mpfr_check_range must run before mpfr_subnormalize; both use the
 * ternary value, so the double rounding (to p bits, then to the subnormal
 * grid) is correct.  Without subnormals, mpfr_check_range alone gives 0
 * or 2^emin by the mode, and in RNDN the half-way value 2^(emin-1) goes
 * to 0: the convention of round.h. */
static int round_grid(mpfr_t rop, mpfr_srcptr x, const nfi_format *f,
                      mpfr_rnd_t rnd)
{
    saved_range s = {mpfr_get_emin(), mpfr_get_emax()};
    mpfr_set_emax(mpfr_get_emax_max());
    mpfr_set_emin(f->subnormals ? f->emin - f->p + 2 : f->emin + 1);
    int t = mpfr_set(rop, x, rnd);
    t = mpfr_check_range(rop, t, rnd);
    if (f->subnormals)
        t = mpfr_subnormalize(rop, t, rnd);
    restore_range(s);
    return t;
}

/* The result of an overflow with sign neg, by round.h's rules. */
static void set_overflow(mpfr_t rop, bool neg, const nfi_format *f,
                         nfi_round mode)
{
    bool toward_inf = mode == NFI_ROUND_RNE || mode == NFI_ROUND_RNA ||
                      mode == NFI_ROUND_SR ||
                      (mode == NFI_ROUND_RU && !neg) ||
                      (mode == NFI_ROUND_RD && neg);
    if (f->overflow == NFI_OVERFLOW_SATURATE || !toward_inf) {
        nfi_format_max_finite(f, rop);
        mpfr_prec_round(rop, f->p, MPFR_RNDN);
        if (neg)
            mpfr_neg(rop, rop, MPFR_RNDN);
    } else if (f->has_inf) {
        mpfr_set_inf(rop, neg ? -1 : 1);
    } else {
        mpfr_set_nan(rop);
    }
}

/* Stochastic rounding of x given its neighbours lo (toward zero) and hi
 * (away from zero) on the grid: hi when |x| - |lo| >= q (2^32 - u) / 2^32
 * with q = |hi - lo|, a power of two. */
static bool stochastic_goes_away(mpfr_srcptr x, mpfr_srcptr lo,
                                 mpfr_srcptr hi, uint32_t u)
{
    mpfr_t q, d, threshold;
    mpfr_init2(q, 2);
    /* |x| - |lo| < q is a multiple of x's last place and of lo's, so it
     * fits in prec(x) + prec(lo) bits. */
    mpfr_init2(d, mpfr_get_prec(x) + mpfr_get_prec(lo) + 2);
    mpfr_init2(threshold, 34);

    mpfr_sub(q, hi, lo, MPFR_RNDN); /* exact: a power of two */
    mpfr_abs(q, q, MPFR_RNDN);
    mpfr_sub(d, x, lo, MPFR_RNDN);  /* exact, by the size above */
    mpfr_abs(d, d, MPFR_RNDN);
    mpfr_set_ui(threshold, 0x100000000UL - (unsigned long)u, MPFR_RNDN);
    mpfr_mul_2si(threshold, threshold, mpfr_get_exp(q) - 1 - 32,
                 MPFR_RNDN);
    bool away = mpfr_cmp(d, threshold) >= 0;

    mpfr_clears(q, d, threshold, (mpfr_ptr)0);
    return away;
}

static bool is_midpoint(mpfr_srcptr x, mpfr_srcptr lo, mpfr_srcptr hi)
{
    mpfr_t sum, twice;
    mpfr_init2(sum, mpfr_get_prec(lo) + 2);
    mpfr_init2(twice, mpfr_get_prec(x));
    mpfr_add(sum, lo, hi, MPFR_RNDN); /* exact: neighbours on one grid */
    mpfr_mul_2ui(twice, x, 1, MPFR_RNDN);
    bool mid = mpfr_equal_p(sum, twice);
    mpfr_clears(sum, twice, (mpfr_ptr)0);
    return mid;
}

/* nfi_mpfr_round with rop distinct from x, under MPFR's widest exponent
 * range (the largest finite value, the neighbours and the stochastic
 * threshold of a format with exponents near 2^40 lie outside MPFR's
 * default range). */
static int round_into(mpfr_t rop, mpfr_srcptr x, int inexact,
                      const nfi_format *f, nfi_round mode, uint32_t sr_bits)
{
    mpfr_set_prec(rop, f->p);
    if (mpfr_nan_p(x)) {
        mpfr_set_nan(rop);
        return 0;
    }
    if (mpfr_inf_p(x)) {
        if (f->has_inf)
            mpfr_set_inf(rop, mpfr_sgn(x));
        else if (f->overflow == NFI_OVERFLOW_SATURATE)
            set_overflow(rop, mpfr_sgn(x) < 0, f, NFI_ROUND_RNE);
        else
            mpfr_set_nan(rop);
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
        mpfr_t lo, hi;
        mpfr_inits2(f->p, lo, hi, (mpfr_ptr)0);
        int t = round_grid(lo, x, f, MPFR_RNDZ);
        round_grid(hi, x, f, MPFR_RNDA);
        if (t == 0 && inexact == 0) {
            mpfr_set(rop, lo, MPFR_RNDN);
        } else if (mpfr_inf_p(hi)) {
            /* x beyond even MPFR's widest range: far above every format's
             * largest finite value, so the result overflows either way
             * (SR and RNA overflow to infinity). */
            mpfr_set(rop, hi, MPFR_RNDN);
        } else if (mode == NFI_ROUND_RNA) {
            /* A round-to-odd value is never a midpoint, so only an exact x
             * can be a tie. */
            if (inexact == 0 && is_midpoint(x, lo, hi))
                mpfr_set(rop, hi, MPFR_RNDN);
            else
                round_grid(rop, x, f, MPFR_RNDN);
        } else {
            mpfr_set(rop, stochastic_goes_away(x, lo, hi, sr_bits) ? hi : lo,
                     MPFR_RNDN);
        }
        mpfr_clears(lo, hi, (mpfr_ptr)0);
        break;
    }
    }

    if (!mpfr_zero_p(rop)) {
        mpfr_t max;
        mpfr_init2(max, f->p);
        nfi_format_max_finite(f, max);
        if (mpfr_cmpabs(rop, max) > 0)
            set_overflow(rop, mpfr_sgn(rop) < 0, f, mode);
        mpfr_clear(max);
    }
    return mpfr_nan_p(rop) ? 0 : mpfr_cmp(rop, x);
}

int nfi_mpfr_round(mpfr_t rop, mpfr_srcptr x, int inexact,
                   const nfi_format *f, nfi_round mode, uint32_t sr_bits)
{
    saved_range range = widest_range();
    int ternary;
    if (rop == x) {
        mpfr_t copy;
        mpfr_init2(copy, mpfr_get_prec(x));
        mpfr_set(copy, x, MPFR_RNDN);
        ternary = round_into(rop, copy, inexact, f, mode, sr_bits);
        mpfr_clear(copy);
    } else {
        ternary = round_into(rop, x, inexact, f, mode, sr_bits);
    }
    restore_range(range);
    return ternary;
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

int nfi_mpfr_op(nfi_op op, mpfr_t rop, mpfr_srcptr a, mpfr_srcptr b,
                mpfr_srcptr c, const nfi_format *f, nfi_round mode,
                uint32_t sr_bits)
{
    mpfr_prec_t work = f->p + WORK_EXTRA;
    mpfr_t t;
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
    mpfr_init2(t, work);
    saved_range range = widest_range();
    mpfr_clear_flags();

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
    restore_range(range);

    int ternary = nfi_mpfr_round(rop, t, inex, f, mode, sr_bits);
    mpfr_clear(t);
    return ternary;
}

double nfi_mpfr_op_d(nfi_op op, double a, double b, double c,
                     const nfi_format *f, nfi_round mode, uint32_t sr_bits)
{
    mpfr_t ma, mb, mc, r;
    mpfr_inits2(53, ma, mb, mc, (mpfr_ptr)0);
    mpfr_init2(r, f->p);
    mpfr_set_d(ma, a, MPFR_RNDN);
    mpfr_set_d(mb, b, MPFR_RNDN);
    mpfr_set_d(mc, c, MPFR_RNDN);
    nfi_mpfr_op(op, r, ma, mb, mc, f, mode, sr_bits);
    double out = mpfr_get_d(r, MPFR_RNDN); /* exact: f fits binary64 */
    mpfr_clears(ma, mb, mc, r, (mpfr_ptr)0);
    return out;
}

int nfi_mpfr_round_q(mpfr_t rop, const mpq_t q, const nfi_format *f,
                     nfi_round mode, uint32_t sr_bits)
{
    mpfr_t t;
    mpfr_init2(t, f->p + WORK_EXTRA);
    saved_range range = widest_range();
    int inex = mpfr_set_q(t, q, MPFR_RNDZ);
    make_odd(t, inex);
    restore_range(range);
    int ternary = nfi_mpfr_round(rop, t, inex, f, mode, sr_bits);
    mpfr_clear(t);
    return ternary;
}

int nfi_mpfr_in_format(mpfr_srcptr x, const nfi_format *f)
{
    if (mpfr_nan_p(x))
        return 1;
    if (mpfr_inf_p(x))
        return f->has_inf;
    mpfr_t r;
    mpfr_init2(r, f->p);
    nfi_mpfr_round(r, x, 0, f, NFI_ROUND_RZ, 0);
    int in = mpfr_equal_p(r, x);
    mpfr_clear(r);
    return in;
}

nfi_order nfi_mpfr_compare(mpfr_srcptr a, mpfr_srcptr b)
{
    if (mpfr_nan_p(a) || mpfr_nan_p(b))
        return NFI_ORDER_UNORDERED;
    int c = mpfr_cmp(a, b);
    return c < 0 ? NFI_ORDER_LESS : c > 0 ? NFI_ORDER_GREATER
                                          : NFI_ORDER_EQUAL;
}
