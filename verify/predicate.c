/* nfi verify: the absorption predicates, on MPFR numbers with their own
 * rounding (see predicate.h).  Nothing here calls sim/'s arithmetic. */
#include "predicate.h"

#include <stdlib.h>

/* How one operation is rounded into the format. */
typedef struct rounder {
    const nfi_format *f;
    mpfr_rnd_t rnd;
    mpfr_t max; /* the largest finite value of f */
    mpfr_exp_t saved_emin, saved_emax;
} rounder;

typedef enum pred_op {
    PRED_ADD, PRED_SUB, PRED_MUL, PRED_DIV, PRED_EXP, PRED_LOG, PRED_SET
} pred_op;

static int rounder_init(rounder *c, const nfi_format *f, nfi_round mode,
                        nfi_error *err)
{
    c->f = f;
    switch (mode) {
    case NFI_ROUND_RNE: c->rnd = MPFR_RNDN; break;
    case NFI_ROUND_RZ: c->rnd = MPFR_RNDZ; break;
    case NFI_ROUND_RU: c->rnd = MPFR_RNDU; break;
    case NFI_ROUND_RD: c->rnd = MPFR_RNDD; break;
    default:
        return nfi_error_set(err, "rounding mode '%s' is not supported by "
                             "the predicates; use rne, rz, ru or rd",
                             nfi_round_name(mode));
    }
    mpfr_init2(c->max, 2);
    nfi_format_max_finite(f, c->max);
    return 0;
}

static void rounder_clear(rounder *c)
{
    mpfr_clear(c->max);
}

/* The exponent range of MPFR (whose exponent E is the IEEE exponent plus
 * 1) is narrowed to the format's: the smallest positive value is
 * 2^(emin - p + 1) with subnormals (MPFR rounds at p bits and
 * mpfr_subnormalize then rounds again with the ternary value, which
 * gives the correctly rounded subnormal) and 2^emin without (MPFR's
 * underflow rule rounds into {0, 2^emin}; under RNE the half-way point
 * 2^(emin-1) goes to 0, as sim/round.h asks).  The top is left one
 * binade above 2^(emax+1): a result is rounded as if the range had no
 * top and compared with the largest finite value afterwards, which also
 * covers formats whose top significands are reserved (e4m3). */
static void range_enter(rounder *c)
{
    const nfi_format *f = c->f;
    c->saved_emin = mpfr_get_emin();
    c->saved_emax = mpfr_get_emax();
    mpfr_set_emin(f->subnormals ? f->emin - f->p + 2 : f->emin + 1);
    mpfr_set_emax(f->emax + 2);
    mpfr_clear_flags();
}

static void range_leave(rounder *c, mpfr_ptr r, int t)
{
    t = mpfr_check_range(r, t, c->rnd);
    if (c->f->subnormals)
        mpfr_subnormalize(r, t, c->rnd);
    int overflowed = mpfr_overflow_p();
    mpfr_set_emin(c->saved_emin);
    mpfr_set_emax(c->saved_emax);

    const nfi_format *f = c->f;
    if (mpfr_nan_p(r))
        return;
    int neg = mpfr_signbit(r);
    if (mpfr_inf_p(r) && !overflowed) {
        /* An exact infinity (log 0, an infinite operand). */
        if (!f->has_inf) {
            if (f->overflow == NFI_OVERFLOW_SATURATE)
                mpfr_set(r, c->max, MPFR_RNDN);
            else
                mpfr_set_nan(r);
            if (neg && !mpfr_nan_p(r))
                mpfr_neg(r, r, MPFR_RNDN);
        }
        return;
    }
    if (mpfr_cmpabs(r, c->max) <= 0)
        return;
    /* Overflow, IEEE 754 7.4, with nfi's saturate option. */
    int to_max;
    if (f->overflow == NFI_OVERFLOW_SATURATE || c->rnd == MPFR_RNDZ)
        to_max = 1;
    else if (c->rnd == MPFR_RNDU)
        to_max = neg;
    else if (c->rnd == MPFR_RNDD)
        to_max = !neg;
    else
        to_max = 0;
    if (to_max)
        mpfr_set(r, c->max, MPFR_RNDN);
    else if (f->has_inf)
        mpfr_set_inf(r, 1);
    else
        mpfr_set_nan(r);
    if (neg && !mpfr_nan_p(r))
        mpfr_neg(r, r, MPFR_RNDN);
}

/* r = op(a, b) rounded once into the format; r has precision p (it may
 * alias a or b). */
static void fop(rounder *c, pred_op op, mpfr_ptr r, mpfr_srcptr a,
                mpfr_srcptr b)
{
    range_enter(c);
    int t = 0;
    switch (op) {
    case PRED_ADD: t = mpfr_add(r, a, b, c->rnd); break;
    case PRED_SUB: t = mpfr_sub(r, a, b, c->rnd); break;
    case PRED_MUL: t = mpfr_mul(r, a, b, c->rnd); break;
    case PRED_DIV: t = mpfr_div(r, a, b, c->rnd); break;
    case PRED_EXP: t = mpfr_exp(r, a, c->rnd); break;
    case PRED_LOG: t = mpfr_log(r, a, c->rnd); break;
    case PRED_SET: t = mpfr_set(r, a, c->rnd); break;
    }
    range_leave(c, r, t);
}

/* The exact sum of x[0..n-1], rounded once. */
static void fsum_exact(rounder *c, mpfr_ptr r, size_t n, mpfr_t *x)
{
    mpfr_ptr *tab = malloc((n ? n : 1) * sizeof *tab);
    if (tab == NULL) {
        mpfr_set_nan(r);
        return;
    }
    for (size_t i = 0; i < n; i++)
        tab[i] = x[i];
    range_enter(c);
    int t = mpfr_sum(r, tab, (unsigned long)n, c->rnd);
    range_leave(c, r, t);
    free(tab);
}

/* Left to right; one term is the term itself, no term is +0. */
static void fsum_sequential(rounder *c, mpfr_ptr r, size_t n, mpfr_t *x)
{
    if (n == 0) {
        mpfr_set_zero(r, 1);
        return;
    }
    mpfr_set(r, x[0], MPFR_RNDN); /* exact: a value of the format */
    for (size_t i = 1; i < n; i++)
        fop(c, PRED_ADD, r, r, x[i]);
}

static void fsum_pairwise(rounder *c, mpfr_ptr r, size_t n, mpfr_t *x)
{
    if (n <= 1) {
        fsum_sequential(c, r, n, x);
        return;
    }
    size_t h = n / 2;
    mpfr_t right;
    mpfr_init2(right, c->f->p);
    fsum_pairwise(c, r, h, x);
    fsum_pairwise(c, right, n - h, x + h);
    fop(c, PRED_ADD, r, r, right);
    mpfr_clear(right);
}

static void fsum_blocked(rounder *c, mpfr_ptr r, size_t block, size_t n,
                         mpfr_t *x)
{
    if (n <= block) {
        fsum_sequential(c, r, n, x);
        return;
    }
    mpfr_t part;
    mpfr_init2(part, c->f->p);
    fsum_sequential(c, r, block, x);
    for (size_t start = block; start < n; start += block) {
        size_t len = n - start < block ? n - start : block;
        fsum_sequential(c, part, len, x + start);
        fop(c, PRED_ADD, r, r, part);
    }
    mpfr_clear(part);
}

static void fsum_lanes(rounder *c, mpfr_ptr r, size_t lanes, size_t n,
                       mpfr_t *x)
{
    if (n == 0) {
        mpfr_set_zero(r, 1);
        return;
    }
    size_t used = n < lanes ? n : lanes; /* lanes below `used` have terms */
    mpfr_t *lane = malloc(used * sizeof *lane);
    if (lane == NULL) {
        mpfr_set_nan(r);
        return;
    }
    for (size_t l = 0; l < used; l++) {
        mpfr_init2(lane[l], c->f->p);
        mpfr_set(lane[l], x[l], MPFR_RNDN); /* exact */
    }
    for (size_t j = lanes; j < n; j++)
        fop(c, PRED_ADD, lane[j % lanes], lane[j % lanes], x[j]);
    size_t live = used;
    for (size_t w = lanes / 2; w >= 1; w /= 2) {
        for (size_t l = 0; l < w; l++)
            if (l + w < live)
                fop(c, PRED_ADD, lane[l], lane[l], lane[l + w]);
        if (live > w)
            live = w;
    }
    mpfr_set(r, lane[0], MPFR_RNDN); /* exact: same precision */
    for (size_t l = 0; l < used; l++)
        mpfr_clear(lane[l]);
    free(lane);
}

static void fsum(rounder *c, const nfi_reduction *o, mpfr_ptr r, size_t n,
                 mpfr_t *x)
{
    switch (o->kind) {
    case NFI_REDUCTION_SEQUENTIAL: fsum_sequential(c, r, n, x); break;
    case NFI_REDUCTION_PAIRWISE: fsum_pairwise(c, r, n, x); break;
    case NFI_REDUCTION_BLOCKED:
        fsum_blocked(c, r, (size_t)o->param, n, x);
        break;
    case NFI_REDUCTION_LANES:
        fsum_lanes(c, r, (size_t)o->param, n, x);
        break;
    case NFI_REDUCTION_EXACT: fsum_exact(c, r, n, x); break;
    }
}

int nfi_pred_spec_check(const nfi_pred_spec *s, nfi_error *err)
{
    if (nfi_format_validate(&s->format, err) != 0)
        return -1;
    if (s->mode != NFI_ROUND_RNE && s->mode != NFI_ROUND_RZ &&
        s->mode != NFI_ROUND_RU && s->mode != NFI_ROUND_RD)
        return nfi_error_set(err, "rounding mode '%s' is not supported by "
                             "the predicates; use rne, rz, ru or rd",
                             nfi_round_name(s->mode));
    if (s->batch < 1)
        return nfi_error_set(err, "the batch size must be at least 1");
    const nfi_reduction *o = &s->order;
    if ((o->kind == NFI_REDUCTION_BLOCKED && o->param < 1) ||
        (o->kind == NFI_REDUCTION_LANES &&
         (o->param < 1 || (o->param & (o->param - 1)) != 0)))
        return nfi_error_set(err, "bad reduction parameter %ld", o->param);
    if (s->scheme != NFI_CE_LOGSOFTMAX && s->scheme != NFI_CE_LSE &&
        s->scheme != NFI_CE_SOFTMAX)
        return nfi_error_set(err, "unknown cross-entropy scheme");
    return 0;
}

/* Working storage of one evaluation: k values at precision p each. */
typedef struct work {
    size_t k;
    mpfr_t *d, *e, *q;
    mpfr_t m, s, l, lse, nf, gy, t, one, minus_one;
} work;

static int work_init(work *w, size_t k, long p)
{
    w->k = k;
    w->d = malloc(k * sizeof *w->d);
    w->e = malloc(k * sizeof *w->e);
    w->q = malloc(k * sizeof *w->q);
    if (w->d == NULL || w->e == NULL || w->q == NULL) {
        free(w->d);
        free(w->e);
        free(w->q);
        return -1;
    }
    for (size_t j = 0; j < k; j++) {
        mpfr_init2(w->d[j], p);
        mpfr_init2(w->e[j], p);
        mpfr_init2(w->q[j], p);
    }
    mpfr_inits2(p, w->m, w->s, w->l, w->lse, w->nf, w->gy, w->t,
                (mpfr_ptr)0);
    mpfr_init2(w->one, 2);
    mpfr_init2(w->minus_one, 2);
    mpfr_set_si(w->one, 1, MPFR_RNDN);
    mpfr_set_si(w->minus_one, -1, MPFR_RNDN);
    return 0;
}

static void work_clear(work *w)
{
    for (size_t j = 0; j < w->k; j++) {
        mpfr_clear(w->d[j]);
        mpfr_clear(w->e[j]);
        mpfr_clear(w->q[j]);
    }
    free(w->d);
    free(w->e);
    free(w->q);
    mpfr_clears(w->m, w->s, w->l, w->lse, w->nf, w->gy, w->t, w->one,
                w->minus_one, (mpfr_ptr)0);
}

/* Whether x is a value of the format (NaN counts as one). */
static bool is_value(rounder *c, mpfr_srcptr x, mpfr_ptr tmp)
{
    if (mpfr_nan_p(x))
        return true;
    fop(c, PRED_SET, tmp, x, NULL);
    return !mpfr_nan_p(tmp) && mpfr_equal_p(tmp, x);
}

/* The gradients into g[0..k-1] (precision p), following the scheme. */
static void eval_scheme(rounder *c, const nfi_pred_spec *s, work *w,
                        mpfr_t *z, size_t y, mpfr_t *g)
{
    size_t k = w->k;

    /* m = max z_j, exact; NaN if any z_j is NaN. */
    mpfr_set(w->m, z[0], MPFR_RNDN);
    for (size_t j = 0; j < k && !mpfr_nan_p(w->m); j++) {
        if (mpfr_nan_p(z[j]))
            mpfr_set_nan(w->m);
        else if (mpfr_greater_p(z[j], w->m))
            mpfr_set(w->m, z[j], MPFR_RNDN); /* exact: a format value */
    }
    for (size_t j = 0; j < k; j++)
        fop(c, PRED_SUB, w->d[j], z[j], w->m);
    for (size_t j = 0; j < k; j++)
        fop(c, PRED_EXP, w->e[j], w->d[j], NULL);
    fsum(c, &s->order, w->s, k, w->e);
    range_enter(c);
    int t = mpfr_set_ui(w->nf, s->batch, c->rnd);
    range_leave(c, w->nf, t);

    switch (s->scheme) {
    case NFI_CE_LOGSOFTMAX:
        fop(c, PRED_LOG, w->l, w->s, NULL);
        fop(c, PRED_DIV, w->gy, w->minus_one, w->nf);
        for (size_t j = 0; j < k; j++) {
            /* out_j in q_j, then q_j = exp(out_j), u_j = q_j * g_y. */
            fop(c, PRED_SUB, w->q[j], w->d[j], w->l);
            fop(c, PRED_EXP, w->q[j], w->q[j], NULL);
            fop(c, PRED_MUL, w->q[j], w->q[j], w->gy);
            if (j == y) {
                fop(c, PRED_SUB, g[j], w->gy, w->q[j]);
            } else {
                mpfr_set_zero(w->t, 1);
                fop(c, PRED_SUB, g[j], w->t, w->q[j]);
            }
        }
        break;
    case NFI_CE_LSE:
        fop(c, PRED_LOG, w->l, w->s, NULL);
        fop(c, PRED_ADD, w->lse, w->m, w->l);
        for (size_t j = 0; j < k; j++) {
            fop(c, PRED_SUB, w->q[j], z[j], w->lse);
            fop(c, PRED_EXP, w->q[j], w->q[j], NULL);
        }
        for (size_t j = 0; j < k; j++) {
            if (j == y) {
                fop(c, PRED_SUB, w->t, w->q[j], w->one);
                fop(c, PRED_DIV, g[j], w->t, w->nf);
            } else {
                fop(c, PRED_DIV, g[j], w->q[j], w->nf);
            }
        }
        break;
    case NFI_CE_SOFTMAX:
        for (size_t j = 0; j < k; j++)
            fop(c, PRED_DIV, w->q[j], w->e[j], w->s);
        for (size_t j = 0; j < k; j++) {
            if (j == y) {
                fop(c, PRED_SUB, w->t, w->q[j], w->one);
                fop(c, PRED_DIV, g[j], w->t, w->nf);
            } else {
                fop(c, PRED_DIV, g[j], w->q[j], w->nf);
            }
        }
        break;
    }
}

int nfi_pred_eval(const nfi_pred_spec *s, size_t k, mpfr_t *z, size_t y,
                  mpfr_t *grad, nfi_pred_outcome *out, nfi_error *err)
{
    if (nfi_pred_spec_check(s, err) != 0)
        return -1;
    if (k == 0)
        return nfi_error_set(err, "a sample needs at least one logit");
    if (y >= k)
        return nfi_error_set(err, "label %zu out of range for %zu "
                             "classes", y, k);
    rounder c;
    if (rounder_init(&c, &s->format, s->mode, err) != 0)
        return -1;
    work w;
    mpfr_t *g = malloc(k * sizeof *g);
    if (g == NULL || work_init(&w, k, s->format.p) != 0) {
        free(g);
        rounder_clear(&c);
        return nfi_error_set(err, "out of memory for %zu logits", k);
    }
    for (size_t j = 0; j < k; j++)
        mpfr_init2(g[j], s->format.p);

    int status = 0;
    for (size_t j = 0; j < k && status == 0; j++)
        if (!is_value(&c, z[j], w.t))
            status = nfi_error_set(err, "logit %zu is not a value of the "
                                   "format", j);
    if (status == 0) {
        eval_scheme(&c, s, &w, z, y, g);
        out->absorbed = mpfr_zero_p(g[y]) != 0;
        out->wrong_zero = true;
        for (size_t j = 0; j < k; j++)
            if (j != y && !mpfr_zero_p(g[j]))
                out->wrong_zero = false;
        out->underflow = out->absorbed && out->wrong_zero;
        if (grad != NULL)
            for (size_t j = 0; j < k; j++) {
                mpfr_set_prec(grad[j], s->format.p);
                mpfr_set(grad[j], g[j], MPFR_RNDN); /* exact */
            }
    }

    for (size_t j = 0; j < k; j++)
        mpfr_clear(g[j]);
    free(g);
    work_clear(&w);
    rounder_clear(&c);
    return status;
}

int nfi_pred_eval_d(const nfi_pred_spec *s, size_t k, const double *z,
                    size_t y, double *grad, nfi_pred_outcome *out,
                    nfi_error *err)
{
    if (k == 0)
        return nfi_error_set(err, "a sample needs at least one logit");
    mpfr_t *zm = malloc(k * sizeof *zm);
    mpfr_t *gm = malloc(k * sizeof *gm);
    if (zm == NULL || gm == NULL) {
        free(zm);
        free(gm);
        return nfi_error_set(err, "out of memory for %zu logits", k);
    }
    for (size_t j = 0; j < k; j++) {
        mpfr_init2(zm[j], 53);
        mpfr_set_d(zm[j], z[j], MPFR_RNDN); /* exact */
        mpfr_init2(gm[j], 2);
    }
    int status = nfi_pred_eval(s, k, zm, y, grad ? gm : NULL, out, err);
    if (status == 0 && grad != NULL)
        for (size_t j = 0; j < k; j++)
            grad[j] = mpfr_get_d(gm[j], MPFR_RNDN);
    for (size_t j = 0; j < k; j++) {
        mpfr_clear(zm[j]);
        mpfr_clear(gm[j]);
    }
    free(zm);
    free(gm);
    return status;
}
