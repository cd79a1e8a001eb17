/* nfi verify: thresholds by bisection over the values of a format. */
#include "threshold.h"

#include <stdlib.h>

#include <gmp.h>

void nfi_thr_result_init(nfi_thr_result *r)
{
    mpfr_inits2(2, r->yes_margin, r->no_margin, r->yes_comp, r->no_comp,
                (mpfr_ptr)0);
    r->status = NFI_THR_NEVER;
    r->monotone = true;
    r->evaluations = 0;
}

void nfi_thr_result_clear(nfi_thr_result *r)
{
    mpfr_clears(r->yes_margin, r->no_margin, r->yes_comp, r->no_comp,
                (mpfr_ptr)0);
}

/* The values of a format as integers.  With subnormals, index i >= 0
 * is i * 2^(emin-p+1) below h = 2^(p-1) (zero and the subnormals) and
 * (h + i mod h) * 2^(emin + i div h - 1 - p + 1) from h on (the normals,
 * binade after binade), as the bits of an IEEE encoding count them.
 * Without subnormals, index 0 is zero and index i >= 1 is the value of
 * index i + h - 1 above.  Negative values take the negated index of
 * their magnitude (so -0 and +0 share index 0). */
typedef struct value_index {
    const nfi_format *f;
    mpz_t half; /* 2^(p-1) */
} value_index;

static void pos_value(const value_index *v, mpfr_ptr out, const mpz_t i0)
{
    const nfi_format *f = v->f;
    mpz_t i, b, r;
    mpz_inits(i, b, r, (mpz_ptr)0);
    mpz_set(i, i0);
    mpfr_set_prec(out, f->p);
    if (!f->subnormals && mpz_sgn(i) > 0) {
        mpz_add(i, i, v->half);
        mpz_sub_ui(i, i, 1);
    }
    if (mpz_cmp(i, v->half) < 0) {
        /* exact: i < 2^(p-1) fits the precision */
        mpfr_set_z_2exp(out, i, f->emin - f->p + 1, MPFR_RNDN);
    } else {
        mpz_fdiv_qr(b, r, i, v->half);
        mpz_add(r, r, v->half); /* the significand, below 2^p: exact */
        long e = f->emin + (long)mpz_get_si(b) - 1;
        mpfr_set_z_2exp(out, r, e - f->p + 1, MPFR_RNDN);
    }
    mpz_clears(i, b, r, (mpz_ptr)0);
}

static void value_of(const value_index *v, mpfr_ptr out, const mpz_t i)
{
    if (mpz_sgn(i) >= 0) {
        pos_value(v, out, i);
        return;
    }
    mpz_t a;
    mpz_init(a);
    mpz_neg(a, i);
    pos_value(v, out, a);
    mpfr_neg(out, out, MPFR_RNDN);
    mpz_clear(a);
}

/* The index of a finite x; returns -1 when x is not a value of f. */
static int index_of(const value_index *v, mpz_t out, mpfr_srcptr x)
{
    const nfi_format *f = v->f;
    if (!mpfr_number_p(x))
        return -1;
    if (mpfr_zero_p(x)) {
        mpz_set_ui(out, 0);
        return 0;
    }
    mpz_t m;
    mpz_init(m);
    mpfr_exp_t ex = mpfr_get_z_2exp(m, x); /* x = m 2^ex, exactly */
    mpz_abs(m, m);
    long e = (long)mpfr_get_exp(x) - 1;    /* IEEE exponent */
    long base = (e < f->emin ? f->emin : e) - f->p + 1; /* grid step */
    int ok = 1;
    if (e < f->emin && !f->subnormals)
        ok = 0;
    if (ex >= base)
        mpz_mul_2exp(m, m, (mp_bitcnt_t)(ex - base));
    else if (mpz_scan1(m, 0) < (mp_bitcnt_t)(base - ex))
        ok = 0;
    else
        mpz_fdiv_q_2exp(m, m, (mp_bitcnt_t)(base - ex));
    if (ok) {
        /* m: the significand on the grid of x's binade. */
        if (e >= f->emin) {
            mpz_t b;
            mpz_init(b);
            mpz_set_si(b, e - f->emin);
            mpz_addmul(m, b, v->half);
            mpz_clear(b);
            if (!f->subnormals) {
                mpz_sub(m, m, v->half);
                mpz_add_ui(m, m, 1);
            }
        }
        if (mpfr_sgn(x) < 0)
            mpz_neg(m, m);
        mpz_set(out, m);
    }
    mpz_clear(m);
    return ok ? 0 : -1;
}

/* Everything one search needs. */
typedef struct searcher {
    const nfi_pred_spec *s;
    nfi_thr_event event;
    size_t k, y;
    mpfr_t *z;
    value_index vi;
    long evaluations;
} searcher;

/* The predicate at the competitor of index i; -1 with err on error. */
static int holds(searcher *q, const mpz_t i, nfi_error *err)
{
    for (size_t j = 0; j < q->k; j++)
        if (j != q->y)
            value_of(&q->vi, q->z[j], i);
    nfi_pred_outcome o;
    q->evaluations++;
    if (nfi_pred_eval(q->s, q->k, q->z, q->y, NULL, &o, err) != 0)
        return -1;
    return q->event == NFI_THR_ABSORBED ? o.absorbed : o.wrong_zero;
}

/* out = a - b exactly (a, b finite). */
static void exact_sub(mpfr_ptr out, mpfr_srcptr a, mpfr_srcptr b)
{
    mpfr_prec_t prec = mpfr_get_prec(a) > mpfr_get_prec(b) ?
                       mpfr_get_prec(a) : mpfr_get_prec(b);
    if (!mpfr_zero_p(a) && !mpfr_zero_p(b)) {
        /* The bits of a and b lie between the larger exponent and the
         * lower of their last bits; one more for the carry. */
        mpfr_exp_t ea = mpfr_get_exp(a), eb = mpfr_get_exp(b);
        mpfr_exp_t top = ea > eb ? ea : eb;
        mpfr_exp_t la = ea - mpfr_get_prec(a), lb = eb - mpfr_get_prec(b);
        mpfr_exp_t low = la < lb ? la : lb;
        prec = (mpfr_prec_t)(top - low + 1);
    }
    mpfr_set_prec(out, prec);
    mpfr_sub(out, a, b, MPFR_RNDN); /* exact by the choice of prec */
}

static void set_comp(searcher *q, mpfr_ptr comp, mpfr_ptr margin,
                     const mpz_t i, mpfr_srcptr zy)
{
    value_of(&q->vi, comp, i);
    exact_sub(margin, zy, comp);
}

/* The index of the smallest competitor searched: the least value c of
 * the format with c >= z_y - M, so that the margin stays within M and
 * d = c - z_y does not overflow (in a format without infinities an
 * overflowing d would be NaN, and NaN is never absorbed). */
static void first_competitor(const value_index *v, mpz_t out,
                             mpfr_srcptr z_y, mpfr_srcptr max)
{
    const nfi_format *f = v->f;
    mpfr_t t, c;
    mpfr_inits2(2, t, c, (mpfr_ptr)0);
    exact_sub(t, z_y, max);
    mpfr_set_prec(c, f->p);
    if (mpfr_cmpabs(t, max) >= 0) {
        mpfr_neg(c, max, MPFR_RNDN);
    } else if (mpfr_zero_p(t) || mpfr_get_exp(t) - 1 < f->emin) {
        mpfr_set_zero(c, 1); /* z_y within 2^emin of M: margins up to z_y */
    } else {
        mpfr_set(c, t, MPFR_RNDU); /* a normal value of the format */
    }
    index_of(v, out, c);
    mpfr_clears(t, c, (mpfr_ptr)0);
}

int nfi_thr_search(const nfi_pred_spec *s, nfi_thr_event event, size_t k,
                   nfi_thr_label label, mpfr_srcptr z_y,
                   nfi_thr_result *out, nfi_error *err)
{
    if (nfi_pred_spec_check(s, err) != 0)
        return -1;
    if (k < 2)
        return nfi_error_set(err, "a threshold needs at least 2 classes "
                             "(got %zu)", k);
    searcher q = {.s = s, .event = event, .k = k,
                  .y = label == NFI_THR_LABEL_FIRST ? 0 : k - 1};
    q.vi.f = &s->format;
    mpz_init(q.vi.half);
    mpz_setbit(q.vi.half, (mp_bitcnt_t)(s->format.p - 1));

    mpz_t lo, hi, top, mid, t;
    mpz_inits(lo, hi, top, mid, t, (mpz_ptr)0);
    mpfr_t max;
    mpfr_init2(max, 2);
    nfi_format_max_finite(&s->format, max);
    int status = 0;
    if (index_of(&q.vi, top, z_y) != 0 || mpfr_cmpabs(z_y, max) > 0) {
        status = nfi_error_set(err, "the correct logit is not a finite "
                               "value of the format");
        goto done;
    }
    first_competitor(&q.vi, lo, z_y, max);
    mpz_set(hi, top);

    q.z = malloc(k * sizeof *q.z);
    if (q.z == NULL) {
        status = nfi_error_set(err, "out of memory for %zu logits", k);
        goto done;
    }
    for (size_t j = 0; j < k; j++)
        mpfr_init2(q.z[j], s->format.p);
    mpfr_set(q.z[q.y], z_y, MPFR_RNDN); /* exact: a format value */

    out->monotone = true;
    int at_hi = holds(&q, hi, err);
    int at_lo = at_hi < 0 ? -1 : holds(&q, lo, err);
    if (at_hi < 0 || at_lo < 0) {
        status = -1;
    } else if (at_hi) {
        out->status = NFI_THR_AT_ZERO;
        set_comp(&q, out->yes_comp, out->yes_margin, hi, z_y);
        mpfr_set_nan(out->no_comp);
        mpfr_set_nan(out->no_margin);
    } else if (!at_lo) {
        out->status = NFI_THR_NEVER;
        set_comp(&q, out->no_comp, out->no_margin, lo, z_y);
        mpfr_set_nan(out->yes_comp);
        mpfr_set_nan(out->yes_margin);
    } else {
        /* Invariant: the predicate holds at lo and fails at hi. */
        for (;;) {
            mpz_sub(t, hi, lo);
            if (mpz_cmp_ui(t, 1) <= 0)
                break;
            mpz_add(mid, lo, hi);
            mpz_fdiv_q_2exp(mid, mid, 1);
            int h = holds(&q, mid, err);
            if (h < 0) {
                status = -1;
                break;
            }
            mpz_set(h ? lo : hi, mid);
        }
        out->status = NFI_THR_FOUND;
        set_comp(&q, out->yes_comp, out->yes_margin, lo, z_y);
        set_comp(&q, out->no_comp, out->no_margin, hi, z_y);

        /* Monotonicity near the boundary: larger margins (lower
         * indices) must hold, smaller ones (up to margin 0) must fail. */
        mpz_t floor_index;
        mpz_init(floor_index);
        first_competitor(&q.vi, floor_index, z_y, max);
        for (int d = 1; d <= NFI_THR_SCAN && status == 0; d++) {
            mpz_sub_ui(t, lo, (unsigned long)d);
            if (mpz_cmp(t, floor_index) >= 0) {
                int h = holds(&q, t, err);
                if (h < 0)
                    status = -1;
                else if (!h)
                    out->monotone = false;
            }
            mpz_add_ui(t, hi, (unsigned long)d);
            if (status == 0 && mpz_cmp(t, top) <= 0) {
                int h = holds(&q, t, err);
                if (h < 0)
                    status = -1;
                else if (h)
                    out->monotone = false;
            }
        }
        mpz_clear(floor_index);
    }
    out->evaluations = q.evaluations;

    for (size_t j = 0; j < k; j++)
        mpfr_clear(q.z[j]);
    free(q.z);
done:
    mpfr_clear(max);
    mpz_clears(lo, hi, top, mid, t, q.vi.half, (mpz_ptr)0);
    return status;
}
