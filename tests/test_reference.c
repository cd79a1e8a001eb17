/* An independent check of the MPFR engine: for IEEE formats (overflow to
 * infinity, no reserved values) and the directed and nearest-even modes,
 * the textbook emulation of the MPFR manual gives the correctly rounded
 * result by another route: set MPFR's exponent range to [emin - p + 2,
 * emax + 1] (emin + 1 without subnormals), compute the operation directly
 * at precision p in the mode, then mpfr_check_range and (with subnormals)
 * mpfr_subnormalize with the ternary value.  MPFR's own overflow rules
 * (infinity, or the largest finite value toward zero) are IEEE's.  The
 * engine instead rounds a round-to-odd intermediate; both must agree bit
 * for bit, for random operands weighted toward ties, cancellation, the
 * overflow threshold and the subnormal range, in formats from p = 2 to
 * binary128, p = 200 and p = 1000.  RNA and SR have no MPFR mode; for
 * them the exact result of add, sub, mul, div, fma and cvt is computed
 * as a rational and rounded by the definitions of sim/round.h (the
 * neighbours toward and away from zero on the grid without a top, the
 * midpoint for RNA, the threshold q (2^32 - u) / 2^32 for SR).
 *
 * Also checked: results are the same when the result variable is also an
 * operand (as MPFR allows); and the engine's result does not depend on
 * the MPFR exponent range the caller happens to have in force, including
 * formats whose exponents exceed MPFR's default range (nfi allows |emin|,
 * emax up to 2^40, MPFR's default range is about +-2^30).
 *
 * Why: every other engine is tested against the MPFR engine; this is
 * what makes it the ground truth rather than one more implementation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_mpfr.h"
#include "harness.h"

static const nfi_round modes[] = {NFI_ROUND_RNE, NFI_ROUND_RZ, NFI_ROUND_RU,
                                  NFI_ROUND_RD};
static const mpfr_rnd_t mpfr_modes[] = {MPFR_RNDN, MPFR_RNDZ, MPFR_RNDU,
                                        MPFR_RNDD};

/* The textbook result of op in f with MPFR mode rnd.  For cvt, a is split
 * into an integer and a power of two first, so that no operand needs to
 * lie in the format's exponent range. */
static void textbook(nfi_op op, mpfr_t rop, mpfr_srcptr a, mpfr_srcptr b,
                     mpfr_srcptr c, const nfi_format *f, mpfr_rnd_t rnd)
{
    mpz_t m;
    mpfr_exp_t e = 0;
    mpz_init(m);
    if (op == NFI_OP_CVT && mpfr_regular_p(a))
        e = mpfr_get_z_2exp(m, a);

    mpfr_exp_t saved_emin = mpfr_get_emin(), saved_emax = mpfr_get_emax();
    mpfr_set_emin(f->subnormals ? f->emin - f->p + 2 : f->emin + 1);
    mpfr_set_emax(f->emax + 1);
    mpfr_set_prec(rop, f->p);
    int t = 0;
    switch (op) {
    case NFI_OP_ADD: t = mpfr_add(rop, a, b, rnd); break;
    case NFI_OP_SUB: t = mpfr_sub(rop, a, b, rnd); break;
    case NFI_OP_MUL: t = mpfr_mul(rop, a, b, rnd); break;
    case NFI_OP_DIV: t = mpfr_div(rop, a, b, rnd); break;
    case NFI_OP_SQRT: t = mpfr_sqrt(rop, a, rnd); break;
    case NFI_OP_FMA: t = mpfr_fma(rop, a, b, c, rnd); break;
    case NFI_OP_EXP: t = mpfr_exp(rop, a, rnd); break;
    case NFI_OP_LOG: t = mpfr_log(rop, a, rnd); break;
    case NFI_OP_CVT:
        if (mpfr_regular_p(a))
            t = mpfr_set_z_2exp(rop, m, e, rnd);
        else
            mpfr_set(rop, a, rnd);
        break;
    default:
        break;
    }
    t = mpfr_check_range(rop, t, rnd);
    if (f->subnormals)
        mpfr_subnormalize(rop, t, rnd);
    mpfr_set_emin(saved_emin);
    mpfr_set_emax(saved_emax);
    mpz_clear(m);
}

/* A random integer of exactly `bits` bits (top bit set). */
static void random_significand(test_rng *rng, mpz_t m, long bits)
{
    mpz_set_ui(m, 0);
    for (long have = 0; have < bits; have += 64) {
        mpz_mul_2exp(m, m, 64);
        mpz_add_ui(m, m, rng_next(rng));
    }
    mpz_fdiv_r_2exp(m, m, (mp_bitcnt_t)bits);
    mpz_setbit(m, (mp_bitcnt_t)bits - 1);
}

/* x = a random value of f (precision p), of one of several kinds. */
static void random_value(test_rng *rng, const nfi_format *f, mpfr_t x)
{
    long p = f->p;
    mpz_t m;
    mpz_init(m);
    mpfr_set_prec(x, p);
    int kind = (int)rng_below(rng, 16);
    long e;
    if (kind < 8) {
        e = rng_range(rng, f->emin, f->emax);
        random_significand(rng, m, p);
    } else if (kind < 10) {
        /* The top of the range, significand near all ones. */
        e = f->emax;
        mpz_set_ui(m, 1);
        mpz_mul_2exp(m, m, (mp_bitcnt_t)p);
        mpz_sub_ui(m, m, 1 + rng_below(rng, 4));
    } else if (kind < 12) {
        /* The bottom: subnormals, or the smallest normals. */
        e = f->emin;
        if (f->subnormals && rng_below(rng, 2)) {
            long bits = rng_range(rng, 1, p - 1);
            random_significand(rng, m, bits);
        } else {
            random_significand(rng, m, p);
            if (rng_below(rng, 2))
                mpz_set_ui(m, 1), mpz_mul_2exp(m, m, (mp_bitcnt_t)p - 1);
        }
    } else if (kind < 14 && p >= 4) {
        /* Few significant bits, so that products and sums land on
         * midpoints. */
        e = rng_range(rng, f->emin, f->emax);
        mpz_set_ui(m, 1 + 2 * rng_below(rng, 4));
        mpz_mul_2exp(m, m, (mp_bitcnt_t)p - 3);
        if (mpz_sizeinbase(m, 2) > (size_t)p)
            mpz_fdiv_q_2exp(m, m, 1);
    } else if (kind == 14) {
        e = rng_range(rng, -3, 3);
        random_significand(rng, m, p);
    } else {
        static const int specials[] = {0, 1, 2, 3};
        int s = specials[rng_below(rng, 4)];
        if (s == 0)
            mpfr_set_zero(x, 1);
        else if (s == 1)
            mpfr_set_zero(x, -1);
        else if (s == 2)
            mpfr_set_inf(x, rng_below(rng, 2) ? 1 : -1);
        else
            mpfr_set_nan(x);
        mpz_clear(m);
        return;
    }
    /* m has at most p bits: m * 2^(e - p + 1) is a value of f. */
    mpfr_set_z_2exp(x, m, e - p + 1, MPFR_RNDN);
    if (rng_below(rng, 2))
        mpfr_neg(x, x, MPFR_RNDN);
    mpz_clear(m);
}

/* b = a value that makes a + b or a - b interesting: half a unit of a in
 * the last place (a tie), a few units (cancellation in a - b), or a
 * random value. */
static void partner_value(test_rng *rng, const nfi_format *f, mpfr_srcptr a,
                          mpfr_t b)
{
    mpfr_set_prec(b, f->p);
    if (!mpfr_regular_p(a) || rng_below(rng, 3) == 0) {
        random_value(rng, f, b);
        return;
    }
    long ea = mpfr_get_exp(a) - 1; /* a in [2^ea, 2^(ea+1)) */
    long min_exp = f->subnormals ? f->emin - f->p + 1 : f->emin;
    if (rng_below(rng, 2)) {
        long e = ea - f->p - (long)rng_below(rng, 2);
        if (e < min_exp)
            e = min_exp;
        mpfr_set_ui_2exp(b, 1 + 2 * rng_below(rng, 2), e, MPFR_RNDN);
        if (rng_below(rng, 2))
            mpfr_neg(b, b, MPFR_RNDN);
    } else {
        /* a plus or minus a few units, then onto f's grid toward zero. */
        mpfr_t t;
        mpfr_init2(t, f->p + 64);
        long ulp_exp = (ea < f->emin ? f->emin : ea) - f->p + 1;
        if (ulp_exp < min_exp)
            ulp_exp = min_exp;
        mpfr_set_si_2exp(t, rng_range(rng, -4, 4), ulp_exp, MPFR_RNDN);
        mpfr_add(t, t, a, MPFR_RNDN);
        textbook(NFI_OP_CVT, b, t, NULL, NULL, f, MPFR_RNDZ);
        mpfr_clear(t);
    }
}

/* A cvt operand: a wide value near f's grid, its midpoints, the overflow
 * threshold or the bottom of the range. */
static void cvt_operand(test_rng *rng, const nfi_format *f, mpfr_t x)
{
    long p = f->p;
    mpfr_t g;
    mpfr_init2(g, p);
    random_value(rng, f, g);
    mpfr_set_prec(x, p + 40);
    if (!mpfr_regular_p(g)) {
        mpfr_set(x, g, MPFR_RNDN);
        mpfr_clear(g);
        return;
    }
    long eg = mpfr_get_exp(g) - 1;
    long ulp_exp = (eg < f->emin ? f->emin : eg) - p + 1;
    if (f->subnormals == false && eg < f->emin)
        ulp_exp = f->emin;
    mpfr_t d;
    mpfr_init2(d, 64);
    switch (rng_below(rng, 4)) {
    case 0: /* exact midpoint */
        mpfr_set_si_2exp(d, rng_below(rng, 2) ? 1 : -1, ulp_exp - 1,
                         MPFR_RNDN);
        break;
    case 1: /* midpoint plus or minus a little */
        mpfr_set_si_2exp(d, (rng_below(rng, 2) ? 1 : -1) *
                         ((1L << 20) + rng_range(rng, -3, 3)), ulp_exp - 21,
                         MPFR_RNDN);
        break;
    case 2: /* random fraction of a unit */
        mpfr_set_si_2exp(d, (long)(rng_next(rng) >> 25) - (1L << 38),
                         ulp_exp - 38, MPFR_RNDN);
        break;
    default: /* far below or above: underflow and overflow */
        mpfr_set_si_2exp(d, rng_range(rng, -7, 7), rng_below(rng, 2) ?
                         f->emax - 2 + (long)rng_below(rng, 4) :
                         f->emin - p - 2 + (long)rng_below(rng, 4),
                         MPFR_RNDN);
        mpfr_set(x, d, MPFR_RNDN);
        mpfr_clears(g, d, (mpfr_ptr)0);
        return;
    }
    mpfr_add(x, g, d, MPFR_RNDN); /* exact at p + 40 bits in most cases;
                                     when not, x is simply another value */
    mpfr_clears(g, d, (mpfr_ptr)0);
}

/* One format: for every rounding op, n random tuples in each mode. */
static void check_format(test_rng *rng, const char *spec, long n)
{
    static const nfi_op ops[] = {NFI_OP_ADD, NFI_OP_SUB, NFI_OP_MUL,
                                 NFI_OP_DIV, NFI_OP_SQRT, NFI_OP_FMA,
                                 NFI_OP_EXP, NFI_OP_LOG, NFI_OP_CVT};
    nfi_format f = harness_format(spec);
    mpfr_t a, b, c, want, got;
    mpfr_inits2(f.p, a, b, c, want, got, (mpfr_ptr)0);
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        nfi_op op = ops[k];
        for (long i = 0; i < n; i++) {
            switch (op) {
            case NFI_OP_CVT:
                cvt_operand(rng, &f, a);
                break;
            case NFI_OP_EXP: {
                /* Arguments across the range where exp is finite and
                 * non-zero, and beyond it. */
                mpfr_t t;
                mpfr_init2(t, f.p + 20);
                mpfr_set_d(t, (2.4 * rng_unit(rng) - 1.2) * 0.6931471805599453,
                           MPFR_RNDN);
                mpfr_mul_si(t, t, i % 2 ? f.emax + 1 : f.emin - f.p,
                            MPFR_RNDN);
                if (i % 7 == 0)
                    mpfr_div_2si(t, t, rng_range(rng, 4, 60), MPFR_RNDN);
                textbook(NFI_OP_CVT, a, t, NULL, NULL, &f, MPFR_RNDN);
                mpfr_clear(t);
                if (i % 13 == 0)
                    random_value(rng, &f, a);
                break;
            }
            case NFI_OP_LOG:
                random_value(rng, &f, a);
                if (i % 4 != 0)
                    mpfr_abs(a, a, MPFR_RNDN);
                break;
            default:
                random_value(rng, &f, a);
                break;
            }
            partner_value(rng, &f, a, b);
            random_value(rng, &f, c);
            if (op == NFI_OP_FMA && i % 2) {
                /* c near -a b: the rounding error of a b decides. */
                mpfr_t t;
                mpfr_init2(t, 2 * f.p);
                mpfr_mul(t, a, b, MPFR_RNDN);
                mpfr_neg(t, t, MPFR_RNDN);
                textbook(NFI_OP_CVT, c, t, NULL, NULL, &f,
                         i % 4 == 1 ? MPFR_RNDN : MPFR_RNDZ);
                mpfr_clear(t);
            }
            for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
                textbook(op, want, a, b, c, &f, mpfr_modes[m]);
                nfi_mpfr_op(op, got, a, b, c, &f, modes[m], 0);
                mpfr_srcptr operands[3] = {a, b, c};
                check_op_mpfr("textbook MPFR vs nfi_mpfr_op", &f, modes[m],
                              op, operands, want, got);
            }
        }
    }
    mpfr_clears(a, b, c, want, got, (mpfr_ptr)0);
}

/* The value of a format value (finite) as a rational. */
static void get_q(mpq_t q, mpfr_srcptr x)
{
    mpfr_get_q(q, x);
}

/* rop = the rational z rounded into f by MPFR in mode rnd, the textbook
 * way (z need not lie in any exponent range). */
static void textbook_q(mpfr_t rop, const mpq_t z, const nfi_format *f,
                       mpfr_rnd_t rnd)
{
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mpfr_set_emin(f->subnormals ? f->emin - f->p + 2 : f->emin + 1);
    mpfr_set_emax(f->emax + 1);
    mpfr_set_prec(rop, f->p);
    int t = mpfr_set_q(rop, z, rnd);
    t = mpfr_check_range(rop, t, rnd);
    if (f->subnormals)
        mpfr_subnormalize(rop, t, rnd);
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
}

/* RNA and SR of an exact rational z by their definitions (sim/round.h),
 * for an IEEE format with overflow to infinity: lo = RZ(z) on the grid
 * without a top, q the grid step above |lo|, hi = lo + q (signed); RNA
 * takes hi at the midpoint and the nearest otherwise; SR takes hi when
 * (|z| - |lo|) 2^32 >= q (2^32 - u); a result beyond the largest finite
 * value is an infinity. */
static void reference_rna_sr(mpfr_t rop, const mpq_t z, const nfi_format *f,
                             nfi_round mode, uint32_t u)
{
    mpfr_set_prec(rop, f->p);
    if (mpq_sgn(z) == 0) {
        mpfr_set_zero(rop, 1);
        return;
    }
    int sign = mpq_sgn(z);
    mpq_t a, lo_q, step, d, t;
    mpq_inits(a, lo_q, step, d, t, NULL);
    mpq_abs(a, z);

    /* |z| >= 2^(emax+1): both neighbours on the grid without a top lie
     * beyond the largest finite value. */
    mpq_set_ui(t, 1, 1);
    mpq_mul_2exp(t, t, (mp_bitcnt_t)(f->emax + 1));
    if (mpq_cmp(a, t) >= 0) {
        mpfr_set_inf(rop, sign);
        goto done;
    }
    mpfr_t lo;
    mpfr_init2(lo, f->p);
    textbook_q(lo, a, f, MPFR_RNDZ);
    get_q(lo_q, lo);
    /* The step above lo: its binade's, or the step below 2^emin. */
    long qe;
    if (mpfr_zero_p(lo) || mpfr_get_exp(lo) - 1 < f->emin)
        qe = f->subnormals ? f->emin - f->p + 1 : f->emin;
    else
        qe = mpfr_get_exp(lo) - f->p;
    mpfr_clear(lo);
    mpq_set_ui(step, 1, 1);
    if (qe >= 0)
        mpq_mul_2exp(step, step, (mp_bitcnt_t)qe);
    else
        mpq_div_2exp(step, step, (mp_bitcnt_t)-qe);

    mpq_sub(d, a, lo_q); /* 0 <= d < step */
    bool away;
    if (mpq_sgn(d) == 0) {
        away = false;
    } else if (mode == NFI_ROUND_RNA) {
        mpq_mul_2exp(t, d, 1);
        away = mpq_cmp(t, step) >= 0;
    } else {
        mpq_mul_2exp(t, d, 32);
        mpq_set_ui(a, 0x100000000UL - (unsigned long)u, 1);
        mpq_mul(a, a, step);
        away = mpq_cmp(t, a) >= 0;
    }
    if (away)
        mpq_add(lo_q, lo_q, step);
    /* lo_q now holds the magnitude of the result, exact in p bits. */
    mpfr_t max;
    mpfr_init2(max, f->p);
    nfi_format_max_finite(f, max);
    mpq_set_ui(t, 0, 1);
    get_q(t, max);
    if (mpq_cmp(lo_q, t) > 0)
        mpfr_set_inf(rop, 1);
    else
        mpfr_set_q(rop, lo_q, MPFR_RNDN); /* exact */
    mpfr_clear(max);
    if (sign < 0)
        mpfr_neg(rop, rop, MPFR_RNDN);
done:
    mpq_clears(a, lo_q, step, d, t, NULL);
}

/* RNA and SR on the MPFR engine against their definitions, for the
 * operations whose exact result is a rational the test can compute:
 * add, sub, mul, div, fma and cvt. */
static void check_exact_modes(test_rng *rng, const char *spec, long n)
{
    static const nfi_op ops[] = {NFI_OP_ADD, NFI_OP_SUB, NFI_OP_MUL,
                                 NFI_OP_DIV, NFI_OP_FMA, NFI_OP_CVT};
    nfi_format f = harness_format(spec);
    mpfr_t a, b, c, want, got;
    mpfr_inits2(f.p, a, b, c, want, got, (mpfr_ptr)0);
    mpq_t qa, qb, qc, z;
    mpq_inits(qa, qb, qc, z, NULL);
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        nfi_op op = ops[k];
        for (long i = 0; i < n; i++) {
            if (op == NFI_OP_CVT)
                cvt_operand(rng, &f, a);
            else
                random_value(rng, &f, a);
            partner_value(rng, &f, a, b);
            random_value(rng, &f, c);
            if (op == NFI_OP_FMA && i % 2 && mpfr_number_p(a) &&
                mpfr_number_p(b)) {
                mpfr_t t;
                mpfr_init2(t, 2 * f.p);
                mpfr_mul(t, a, b, MPFR_RNDN);
                mpfr_neg(t, t, MPFR_RNDN);
                textbook(NFI_OP_CVT, c, t, NULL, NULL, &f, MPFR_RNDN);
                mpfr_clear(t);
            }
            /* Only finite operands and results with a rational value. */
            int arity = nfi_op_arity(op);
            if (!mpfr_number_p(a) || (arity > 1 && !mpfr_number_p(b)) ||
                (arity > 2 && !mpfr_number_p(c)) ||
                (op == NFI_OP_DIV && mpfr_zero_p(b)))
                continue;
            get_q(qa, a);
            get_q(qb, b);
            get_q(qc, c);
            switch (op) {
            case NFI_OP_ADD: mpq_add(z, qa, qb); break;
            case NFI_OP_SUB: mpq_sub(z, qa, qb); break;
            case NFI_OP_MUL: mpq_mul(z, qa, qb); break;
            case NFI_OP_DIV: mpq_div(z, qa, qb); break;
            case NFI_OP_FMA: mpq_mul(z, qa, qb); mpq_add(z, z, qc); break;
            default: mpq_set(z, qa); break;
            }
            /* A zero product or quotient keeps the operands' sign rules;
             * those are the special-case table's business. */
            if (mpq_sgn(z) == 0)
                continue;
            mpfr_srcptr operands[3] = {a, b, c};
            reference_rna_sr(want, z, &f, NFI_ROUND_RNA, 0);
            nfi_mpfr_op(op, got, a, b, c, &f, NFI_ROUND_RNA, 0);
            check_op_mpfr("RNA by its definition vs nfi_mpfr_op", &f,
                          NFI_ROUND_RNA, op, operands, want, got);
            uint32_t u = (uint32_t)rng_next(rng);
            reference_rna_sr(want, z, &f, NFI_ROUND_SR, u);
            nfi_mpfr_op(op, got, a, b, c, &f, NFI_ROUND_SR, u);
            bool ok = check_op_mpfr("SR by its definition vs nfi_mpfr_op",
                                    &f, NFI_ROUND_SR, op, operands, want,
                                    got);
            if (!ok && harness_failures() <= HARNESS_MAX_PRINTED)
                printf("  (u = %u)\n", u);
        }
    }
    mpq_clears(qa, qb, qc, z, NULL);
    mpfr_clears(a, b, c, want, got, (mpfr_ptr)0);
}

/* Exact rationals through nfi_mpfr_round_q against mpfr_set_q. */
static void check_rationals(test_rng *rng)
{
    static const char *const specs[] = {"binary16", "binary32,subnormals=off",
                                        "binary128", "p=200,emin=-50,emax=50"};
    mpq_t q;
    mpq_init(q);
    mpfr_t want, got;
    mpfr_inits2(64, want, got, (mpfr_ptr)0);
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        nfi_format f = harness_format(specs[s]);
        for (int i = 0; i < 3000; i++) {
            mpz_set_ui(mpq_numref(q), rng_next(rng) >> rng_below(rng, 64));
            mpz_set_ui(mpq_denref(q), 1 + (rng_next(rng) >>
                                           rng_below(rng, 64)));
            if (mpz_sgn(mpq_denref(q)) == 0)
                mpz_set_ui(mpq_denref(q), 3);
            long shift = rng_range(rng, -f.emax - 40, f.emax + 40);
            if (shift >= 0)
                mpz_mul_2exp(mpq_numref(q), mpq_numref(q), shift);
            else
                mpz_mul_2exp(mpq_denref(q), mpq_denref(q), -shift);
            mpq_canonicalize(q);
            if (rng_below(rng, 2))
                mpq_neg(q, q);
            for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
                mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
                mpfr_set_emin(f.subnormals ? f.emin - f.p + 2 : f.emin + 1);
                mpfr_set_emax(f.emax + 1);
                mpfr_set_prec(want, f.p);
                int t = mpfr_set_q(want, q, mpfr_modes[m]);
                t = mpfr_check_range(want, t, mpfr_modes[m]);
                if (f.subnormals)
                    mpfr_subnormalize(want, t, mpfr_modes[m]);
                mpfr_set_emin(emin);
                mpfr_set_emax(emax);
                nfi_mpfr_round_q(got, q, &f, modes[m], 0);
                bool ok = same_mpfr(want, got);
                if (!ok)
                    gmp_printf("rational %Qd\n", q);
                check_true(ok, "nfi_mpfr_round_q in %s, mode %s", specs[s],
                           nfi_round_name(modes[m]));
            }
        }
    }
    mpfr_clears(want, got, (mpfr_ptr)0);
    mpq_clear(q);
}

/* The engine's result must not depend on the exponent range the caller
 * has set, even for formats whose range is wider than MPFR's default:
 * each case is computed with MPFR's default range in force and with the
 * widest range, and compared with the textbook result (and, for SR, with
 * the rule of sim/round.h applied to the exact value). */
static void check_caller_range(void)
{
    static const struct {
        const char *spec;
        nfi_op op;
        double a;
    } cases[] = {
        /* exp(1e11) ~ 2^(1.44e11), above the largest finite value
         * ~ 2^(2^35): an overflow. */
        {"p=24,emin=-34359738368,emax=34359738368", NFI_OP_EXP, 1e11},
        {"p=24,emin=-34359738368,emax=34359738368", NFI_OP_EXP, -1e11},
        /* exp(+-1e9) ~ 2^(+-1.44e9): inside the format, outside MPFR's
         * default exponent range. */
        {"p=24,emin=-34359738368,emax=34359738368", NFI_OP_EXP, 1e9},
        {"p=24,emin=-34359738368,emax=34359738368", NFI_OP_EXP, -1e9},
        {"p=113,emin=-1099511627776,emax=1099511627776", NFI_OP_EXP, -3e11},
        {"p=113,emin=-1099511627776,emax=1099511627776", NFI_OP_EXP, 1e12},
        /* An ordinary format: the caller's range must not matter either. */
        {"binary32", NFI_OP_EXP, 80.5},
        {"binary32", NFI_OP_EXP, -100.25},
    };
    mpfr_t a, r_default, r_wide, want, exact, lo, d;
    mpfr_inits2(64, a, r_default, r_wide, want, (mpfr_ptr)0);
    mpfr_inits2(300, exact, lo, d, (mpfr_ptr)0);
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nfi_format f = harness_format(cases[i].spec);
        mpfr_set_d(a, cases[i].a, MPFR_RNDN);
        for (int m = 0; m < NFI_ROUND_COUNT; m++) {
            if (m == NFI_ROUND_RNA)
                continue;
            for (uint32_t k = 0; k < (m == NFI_ROUND_SR ? 8u : 1u); k++) {
                uint32_t u = k * 0x20000000u + 0x1234567u;
                mpfr_set_emin(emin);
                mpfr_set_emax(emax);
                nfi_mpfr_op(cases[i].op, r_default, a, NULL, NULL, &f,
                            (nfi_round)m, u);
                mpfr_set_emin(mpfr_get_emin_min());
                mpfr_set_emax(mpfr_get_emax_max());
                nfi_mpfr_op(cases[i].op, r_wide, a, NULL, NULL, &f,
                            (nfi_round)m, u);
                if (m != NFI_ROUND_SR) {
                    size_t j = m == NFI_ROUND_RNE ? 0 : (size_t)m - 1;
                    textbook(cases[i].op, want, a, NULL, NULL, &f,
                             mpfr_modes[j]);
                } else {
                    /* SR by the rule: lo = RZ(exact), q its step, away
                     * iff exact - lo >= q (2^32 - u) / 2^32. */
                    mpfr_exp(exact, a, MPFR_RNDN);
                    textbook(NFI_OP_CVT, lo, exact, NULL, NULL, &f,
                             MPFR_RNDZ);
                    textbook(NFI_OP_CVT, want, exact, NULL, NULL, &f,
                             MPFR_RNDA);
                    if (mpfr_number_p(want) && !mpfr_equal_p(lo, want)) {
                        mpfr_sub(d, want, lo, MPFR_RNDN);
                        mpfr_mul_ui(d, d, 0x100000000UL - u, MPFR_RNDN);
                        mpfr_div_2ui(d, d, 32, MPFR_RNDN);
                        mpfr_add(d, d, lo, MPFR_RNDN);
                        if (mpfr_cmp(exact, d) < 0)
                            mpfr_set(want, lo, MPFR_RNDN);
                    }
                }
                mpfr_srcptr operands[1] = {a};
                char label[96];
                snprintf(label, sizeof label, "caller's range default%s",
                         m == NFI_ROUND_SR ? " (SR by the rule)" : "");
                check_op_mpfr(label, &f, (nfi_round)m, cases[i].op,
                              operands, want, r_default);
                check_op_mpfr("caller's range widest", &f, (nfi_round)m,
                              cases[i].op, operands, want, r_wide);
            }
        }
    }
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
    mpfr_clears(a, r_default, r_wide, want, exact, lo, d, (mpfr_ptr)0);
}

/* MPFR's convention, which the engine's interface follows (result first,
 * ternary value returned), lets the result be one of the operands.  The
 * result of an aliased call must equal that of a separate one. */
static void check_aliasing(test_rng *rng)
{
    static const char *const specs[] = {"binary16", "binary128",
                                        "p=200,emin=-5000,emax=5000"};
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        nfi_format f = harness_format(specs[s]);
        mpfr_t a, b, c, x, want, alias;
        mpfr_inits2(f.p, a, b, c, want, alias, (mpfr_ptr)0);
        mpfr_init2(x, f.p + 50);
        int in_place_wrong = 0;
        for (int i = 0; i < 200; i++) {
            nfi_op op = (nfi_op)rng_below(rng, NFI_OP_COUNT);
            nfi_round mode = (nfi_round)rng_below(rng, NFI_ROUND_COUNT);
            uint32_t u = (uint32_t)rng_next(rng);
            random_value(rng, &f, a);
            partner_value(rng, &f, a, b);
            random_value(rng, &f, c);
            nfi_mpfr_op(op, want, a, b, c, &f, mode, u);
            mpfr_set_prec(alias, f.p);
            mpfr_set(alias, a, MPFR_RNDN);
            nfi_mpfr_op(op, alias, alias, b, c, &f, mode, u);
            mpfr_srcptr operands[3] = {a, b, c};
            check_op_mpfr("nfi_mpfr_op with the result aliasing the first "
                          "operand", &f, mode, op, operands, want, alias);

            /* nfi_mpfr_round in place, on an exact wide value. */
            cvt_operand(rng, &f, x);
            mpfr_set_prec(alias, mpfr_get_prec(x));
            mpfr_set(alias, x, MPFR_RNDN);
            nfi_mpfr_round(want, x, 0, &f, mode, u);
            nfi_mpfr_round(alias, alias, 0, &f, mode, u);
            if (!same_mpfr(want, alias) && in_place_wrong++ == 0)
                mpfr_printf("nfi_mpfr_round in place, %s, mode %s: x = %Ra "
                            "gave %Ra, expected %Ra\n", specs[s],
                            nfi_round_name(mode), x, alias, want);
        }
        check_true(in_place_wrong == 0, "%s: nfi_mpfr_round(x, x, ...) "
                   "differs from nfi_mpfr_round(y, x, ...) in %d of 200 "
                   "cases", specs[s], in_place_wrong);
        mpfr_clears(a, b, c, x, want, alias, (mpfr_ptr)0);
    }
}

int main(void)
{
    harness_init("test_reference", 1);
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    static const struct {
        const char *spec;
        long n;
    } formats[] = {
        {"p=2,emin=-4,emax=4", 300},
        {"p=3,emin=-10,emax=10,subnormals=off", 300},
        {"e5m2", 300},
        {"binary16", 400},
        {"binary16,subnormals=off", 300},
        {"bfloat16", 300},
        {"binary32", 400},
        {"binary32,subnormals=off", 300},
        {"p=40,emin=-300,emax=300", 300},
        {"binary64", 400},
        {"binary64,subnormals=off", 300},
        {"p=60,emin=-2000,emax=2000", 300},
        {"binary128", 300},
        {"binary128,subnormals=off", 200},
        {"p=200,emin=-5000,emax=5000", 200},
        {"p=1000,emin=-100000,emax=100000", 60},
        {"p=1000,emin=-100000,emax=100000,subnormals=off", 40},
    };
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        check_format(&rng, formats[i].spec, 6 * formats[i].n);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        check_exact_modes(&rng, formats[i].spec, 4 * formats[i].n);
    check_rationals(&rng);
    check_aliasing(&rng);
    check_caller_range();
    mpfr_free_cache();
    return harness_finish();
}
