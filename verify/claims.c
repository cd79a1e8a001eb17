/* nfi verify: the claims C1 to C7 (claims.h). */
#define _POSIX_C_SOURCE 200809L

#include "claims.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpfr.h>

#include "fit.h"
#include "predicate.h"
#include "runlog.h"
#include "runrec.h"
#include "threshold.h"

const char *nfi_verdict_name(nfi_verdict v)
{
    switch (v) {
    case NFI_VERDICT_PASS: return "PASS";
    case NFI_VERDICT_FAIL: return "FAIL";
    case NFI_VERDICT_NA: return "N/A";
    }
    return "?";
}

/* ---- Figures and evidence ---- */

static void fig_num(nfi_claim *c, const char *name, double v, bool thr)
{
    if (c->nfig == NFI_CLAIM_FIGS)
        return;
    nfi_claim_fig *f = &c->fig[c->nfig++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->value = v;
    f->text[0] = 0;
    f->threshold = thr;
}

static void fig_text(nfi_claim *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fig_text(nfi_claim *c, const char *name, const char *fmt, ...)
{
    if (c->nfig == NFI_CLAIM_FIGS)
        return;
    nfi_claim_fig *f = &c->fig[c->nfig++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->value = NAN;
    f->threshold = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof f->text, fmt, ap);
    va_end(ap);
    if (f->text[0] == 0)
        snprintf(f->text, sizeof f->text, "-");
}

/* Appends to the evidence, separating sentences with "; ". */
static void evid(nfi_claim *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void evid(nfi_claim *c, const char *fmt, ...)
{
    size_t len = strlen(c->evidence);
    if (len > 0 && len + 2 < sizeof c->evidence) {
        memcpy(c->evidence + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->evidence + len, sizeof c->evidence - len, fmt, ap);
    va_end(ap);
}

/* ---- The logged series and its windows ---- */

typedef struct series {
    size_t n;
    double *step, *loss, *absf, *uf, *zsr, *rm, *w, *f;
} series;

static void series_free(series *s)
{
    free(s->step);
    memset(s, 0, sizeof *s);
}

static int series_take(const nfi_runrec *r, series *s, nfi_error *err)
{
    static const char *const cols[8] = {
        "step", "loss", "absorbed_frac", "underflow_frac",
        "zero_sum_residual", "residual_mass", "w_mean_norm",
        "feat_mean_norm",
    };
    size_t n = r->nrows;
    double *all = malloc(8 * n * sizeof *all);
    if (all == NULL)
        return nfi_error_set(err, "out of memory");
    double **dst[8] = {&s->step, &s->loss, &s->absf, &s->uf, &s->zsr,
                       &s->rm, &s->w, &s->f};
    for (int k = 0; k < 8; k++) {
        const double *c = nfi_runrec_col(r, cols[k]);
        *dst[k] = all + (size_t)k * n;
        for (size_t i = 0; i < n; i++)
            (*dst[k])[i] = c[i * r->ncols];
    }
    s->n = n;
    return 0;
}

/* Row of the onset (-1: none) and of the end spike (-1: none). */
static void find_windows(const series *s, long *io, long *is)
{
    *io = *is = -1;
    for (size_t i = 0; i < s->n && *io < 0; i++)
        if (s->absf[i] > NFI_V_ONSET_LEVEL)
            *io = (long)i;
    double m = INFINITY;
    for (size_t i = 0; i < s->n; i++) {
        bool spike = nfi_loss_is_spike(s->loss[i], m);
        if (*io >= 0 && (long)i > *io && spike &&
            s->loss[i] > s->loss[*io]) {
            *is = (long)i;
            break;
        }
        m = nfi_loss_min_update(m, s->loss[i]);
    }
}

/* ---- C1 to C3: the per-sample records against the predicate ---- */

typedef struct sample_pass {
    char na[NFI_ERROR_MAX + 64]; /* why the records cannot be checked */
    size_t steps_with, steps_without;
    size_t total, agree, formula_agree;
    double formula_thr;
    size_t n_disagree;
    long bad_step;           /* the first disagreement */
    size_t bad_sample;
    int bad_rec, bad_pred;
    double bad_margin;
    char refused[NFI_ERROR_MAX + 64];
    /* C2 */
    double thr_c;            /* wrong-class gradients all 0 from here */
    size_t abs_total, abs_nonzero, abs_below, abs_below_nonzero;
    size_t uf_steps, uf_agree;
    /* C3 */
    size_t zs_steps, zs_agree;
    long zs_bad_step;
    size_t rel_steps, rel_ok;
    double worst_rel;        /* max |A - R| / R over absorbed steps */
    long worst_rel_step;
    double max_noise_ratio;  /* max |B| / |A| over absorbed steps */
} sample_pass;

/* The smallest margin at which every wrong-class gradient is 0 for K-1
 * equal competitors and z_y = 0 (verify/threshold.h); +inf when none
 * is found. */
static double underflow_margin(const nfi_pred_spec *spec, size_t k)
{
    if (k < 2)
        return INFINITY;
    mpfr_t zy;
    mpfr_init2(zy, 64);
    mpfr_set_zero(zy, 1);
    nfi_thr_result r;
    nfi_thr_result_init(&r);
    double m = INFINITY;
    if (nfi_thr_search(spec, NFI_THR_WRONG_ZERO, k, NFI_THR_LABEL_LAST, zy,
                       &r, NULL) == 0) {
        if (r.status == NFI_THR_FOUND)
            m = mpfr_get_d(r.yes_margin, MPFR_RNDD);
        else if (r.status == NFI_THR_AT_ZERO)
            m = 0;
    }
    nfi_thr_result_clear(&r);
    mpfr_clear(zy);
    return m;
}

/* One logged step: every sample through the predicate. */
static void pass_step(const nfi_runrec *r, const nfi_pred_spec *spec,
                      long step, size_t row, const series *s,
                      const double *rec, const double *z, double *grad,
                      mpfr_t a, mpfr_t b, sample_pass *p)
{
    size_t n = r->n_train, k = r->classes;
    size_t pred_uf = 0, n_abs = 0;
    double rsum = 0;
    mpfr_set_zero(a, 1);
    mpfr_set_zero(b, 1);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        nfi_pred_outcome o;
        nfi_error e;
        double margin = rec[4 * i];
        bool flag = rec[4 * i + 2] != 0;
        if (nfi_pred_eval_d(spec, k, z + i * k, (size_t)r->labels[i], grad,
                            &o, &e) != 0) {
            if (p->refused[0] == 0)
                snprintf(p->refused, sizeof p->refused, "step %ld sample "
                         "%zu: %s", step, i, e.message);
            p->total++;
            p->n_disagree++;
            ok = false;
            continue;
        }
        p->total++;
        if (o.absorbed == flag) {
            p->agree++;
        } else {
            if (p->n_disagree == 0) {
                p->bad_step = step;
                p->bad_sample = i;
                p->bad_rec = flag;
                p->bad_pred = o.absorbed;
                p->bad_margin = margin;
            }
            p->n_disagree++;
        }
        if ((margin > p->formula_thr) == flag)
            p->formula_agree++;
        if (o.underflow)
            pred_uf++;
        if (flag) {
            p->abs_total++;
            if (!o.wrong_zero)
                p->abs_nonzero++;
            if (margin < p->thr_c) {
                p->abs_below++;
                if (!o.wrong_zero)
                    p->abs_below_nonzero++;
            }
            n_abs++;
            rsum += rec[4 * i + 3];
        }
        /* Exact: the precision of a and b holds every binary64 sum of
         * fewer than 2^100 terms (see the caller). */
        for (size_t j = 0; j < k; j++)
            mpfr_add_d(flag ? a : b, flag ? a : b, grad[j], MPFR_RNDN);
    }
    if (!ok)
        return;

    p->uf_steps++;
    if ((double)pred_uf == nearbyint(s->uf[row] * (double)n))
        p->uf_agree++;

    /* C3: the recomputed exact residual against the recorded one. */
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(a));
    mpfr_add(t, a, b, MPFR_RNDN);
    p->zs_steps++;
    if (mpfr_get_d(t, MPFR_RNDN) == s->zsr[row])
        p->zs_agree++;
    else if (p->zs_bad_step < 0)
        p->zs_bad_step = step;
    mpfr_clear(t);
    if (n_abs > 0) {
        double av = mpfr_get_d(a, MPFR_RNDN);
        double bv = mpfr_get_d(b, MPFR_RNDN);
        double rv = rsum / (double)n;
        double rel = fabs(av - rv) / fabs(rv);
        double tol = ldexp(1.0, NFI_V_C3_REL_EXP -
                                (int)r->logits_format.p);
        p->rel_steps++;
        if (rel <= tol)
            p->rel_ok++;
        if (!(rel <= p->worst_rel)) {
            p->worst_rel = rel;
            p->worst_rel_step = step;
        }
        p->max_noise_ratio = fmax(p->max_noise_ratio, fabs(bv / av));
    }
}

static int sample_pass_run(const nfi_runrec *r, const series *s,
                           sample_pass *p, nfi_error *err)
{
    memset(p, 0, sizeof *p);
    p->bad_step = p->zs_bad_step = p->worst_rel_step = -1;
    p->formula_thr = log((double)r->classes - 1) +
                     (double)r->logits_format.p * M_LN2;
    p->thr_c = INFINITY;
    if (r->labels == NULL) {
        snprintf(p->na, sizeof p->na, "the run has no train_labels.npy "
                 "(written by an nfi before the verifier)");
        return 0;
    }
    nfi_pred_spec spec = {
        .format = r->logits_format, .mode = r->mode, .scheme = r->scheme,
        .order = r->order, .batch = (unsigned long)r->n_train,
    };
    nfi_error e;
    if (nfi_pred_spec_check(&spec, &e) != 0) {
        snprintf(p->na, sizeof p->na, "the predicate does not apply: %s",
                 e.message);
        return 0;
    }
    p->thr_c = underflow_margin(&spec, r->classes);

    size_t n = r->n_train, k = r->classes;
    double *grad = malloc((k > 0 ? k : 1) * sizeof *grad);
    if (grad == NULL)
        return nfi_error_set(err, "out of memory");
    /* 2^-1074 to 2^1024 spans 2098 bits; 100 more hold any count of
     * terms below 2^100, so additions at this precision are exact. */
    mpfr_t a, b;
    mpfr_init2(a, 2300);
    mpfr_init2(b, 2300);
    int rc = 0;
    for (size_t row = 0; row < s->n && rc == 0; row++) {
        long step = (long)s->step[row];
        double *rec = NULL, *z = NULL;
        size_t sshape[2] = {n, 4}, zshape[2] = {n, k};
        int r1 = nfi_runrec_step_array(r, step, "samples", 2, sshape, &rec,
                                       err);
        int r2 = r1 < 0 ? -1 : nfi_runrec_step_array(r, step, "logits", 2,
                                                     zshape, &z, err);
        if (r1 < 0 || r2 < 0) {
            rc = -1;
        } else if (r1 == 1 || r2 == 1) {
            p->steps_without++;
        } else {
            p->steps_with++;
            pass_step(r, &spec, step, row, s, rec, z, grad, a, b, p);
        }
        free(rec);
        free(z);
    }
    mpfr_clear(a);
    mpfr_clear(b);
    free(grad);
    if (rc == 0 && p->steps_with == 0)
        snprintf(p->na, sizeof p->na, "no logged step has both "
                 "samples.npy and logits.npy");
    return rc;
}

/* ---- The claims ---- */

static void claim_init(nfi_claim *c, const char *id, const char *name,
                       const char *statement)
{
    memset(c, 0, sizeof *c);
    c->id = id;
    c->name = name;
    c->statement = statement;
    c->verdict = NFI_VERDICT_NA;
}

static void check_c1(nfi_claim *c, const nfi_runrec *r,
                     const sample_pass *p)
{
    claim_init(c, "C1", "threshold",
               "at every logged step and for every training sample, the "
               "recorded absorbed flag (computed correct-class gradient "
               "exactly 0) equals the exact predicate of verify/ "
               "evaluated with MPFR on the sample's recorded logits, for "
               "the run's logits format, rounding, scheme, order, K and "
               "N; the one-number formula margin > ln((K-1) 2^p) is "
               "reported beside it");
    fig_text(c, "logits_format", "%s", r->logits_spell);
    if (p->na[0] != 0) {
        evid(c, "%s", p->na);
        return;
    }
    fig_num(c, "sample_steps", (double)p->total, false);
    fig_num(c, "agree", (double)p->agree, false);
    fig_num(c, "disagree", (double)p->n_disagree, false);
    fig_num(c, "steps_checked", (double)p->steps_with, false);
    fig_num(c, "steps_without_records", (double)p->steps_without, false);
    fig_num(c, "formula_threshold", p->formula_thr, false);
    double share = p->total ? (double)p->formula_agree / (double)p->total
                            : NAN;
    fig_num(c, "formula_share", share, false);
    c->verdict = p->n_disagree == 0 && p->total > 0 ? NFI_VERDICT_PASS
                                                    : NFI_VERDICT_FAIL;
    evid(c, "agreement on %zu of %zu sample-steps (%zu steps)", p->agree,
         p->total, p->steps_with);
    if (p->bad_step >= 0) {
        fig_num(c, "first_disagreement_step", (double)p->bad_step, false);
        fig_num(c, "first_disagreement_sample", (double)p->bad_sample,
                false);
        evid(c, "first disagreement at step %ld, sample %zu: recorded "
             "%s, predicate %s (margin %.9g)", p->bad_step, p->bad_sample,
             p->bad_rec ? "absorbed" : "not absorbed",
             p->bad_pred ? "absorbed" : "not absorbed", p->bad_margin);
    }
    if (p->refused[0] != 0)
        evid(c, "predicate refused %s", p->refused);
    evid(c, "margin > ln((K-1) 2^p) = %.6g explains %.4g%% of them",
         p->formula_thr, 100 * share);
    if (p->steps_without > 0)
        evid(c, "%zu logged steps lack records", p->steps_without);
}

static void check_c2(nfi_claim *c, const nfi_runrec *r,
                     const sample_pass *p)
{
    (void)r;
    claim_init(c, "C2", "window",
               "among absorbed sample-steps, the wrong-class gradients "
               "(computed by the predicate on the recorded logits) are "
               "not all 0 for every sample whose margin is below the "
               "underflow threshold (the smallest margin at which they "
               "all are 0 for K-1 equal competitors, z_y = 0, searched "
               "exactly); the predicate's underflow count matches "
               "underflow_frac at every step");
    if (p->na[0] != 0) {
        evid(c, "%s", p->na);
        return;
    }
    fig_num(c, "underflow_threshold", p->thr_c, true);
    fig_num(c, "absorbed_sample_steps", (double)p->abs_total, false);
    fig_num(c, "absorbed_nonzero_wrong", (double)p->abs_nonzero, false);
    fig_num(c, "absorbed_below_threshold", (double)p->abs_below, false);
    fig_num(c, "below_threshold_nonzero", (double)p->abs_below_nonzero,
            false);
    fig_num(c, "underflow_steps_agree", (double)p->uf_agree, false);
    fig_num(c, "underflow_steps", (double)p->uf_steps, false);
    double share = p->abs_total ? (double)p->abs_nonzero /
                                  (double)p->abs_total : NAN;
    fig_num(c, "nonzero_share", share, false);
    if (p->abs_total == 0) {
        c->verdict = NFI_VERDICT_FAIL;
        evid(c, "no absorbed sample-step: no window to look into");
        return;
    }
    bool ok = p->abs_below_nonzero == p->abs_below &&
              p->uf_agree == p->uf_steps;
    c->verdict = ok ? NFI_VERDICT_PASS : NFI_VERDICT_FAIL;
    evid(c, "%zu absorbed sample-steps, wrong-class gradients non-zero "
         "in %zu (%.4g%%)", p->abs_total, p->abs_nonzero, 100 * share);
    evid(c, "below the underflow threshold %.6g: %zu of %zu non-zero",
         p->thr_c, p->abs_below_nonzero, p->abs_below);
    evid(c, "underflow counts agree with underflow_frac at %zu of %zu "
         "steps", p->uf_agree, p->uf_steps);
}

static void check_c3(nfi_claim *c, const nfi_runrec *r, const series *s,
                     long io, const sample_pass *p)
{
    claim_init(c, "C3", "zero-sum",
               "zero_sum_residual (the exact sum of all computed logit "
               "gradients) is exactly 0 at every logged step before the "
               "onset, and at every logged step with absorbed samples "
               "equals the summed residual masses of the absorbed "
               "samples divided by N (residual_mass * absorbed_frac) "
               "within a relative 2^(3-p); with records, the residual is "
               "also split exactly into the absorbed samples' part and "
               "the rounding noise of the others");
    double tol = ldexp(1.0, NFI_V_C3_REL_EXP - (int)r->logits_format.p);
    fig_num(c, "rel_tol", tol, true);

    size_t pre = 0, pre_zero = 0, post = 0, post_ok = 0;
    double pre_max = 0, post_worst = 0;
    long post_worst_step = -1;
    for (size_t i = 0; i < s->n; i++) {
        if (io < 0 || (long)i < io) {
            pre++;
            if (s->zsr[i] == 0)
                pre_zero++;
            pre_max = fmax(pre_max, fabs(s->zsr[i]));
        }
        if (s->absf[i] > 0) {
            double pred = s->rm[i] * s->absf[i];
            double rel = fabs(s->zsr[i] - pred) / fabs(pred);
            post++;
            if (rel <= tol)
                post_ok++;
            if (!(rel <= post_worst)) {
                post_worst = rel;
                post_worst_step = (long)s->step[i];
            }
        }
    }
    fig_num(c, "steps_before_onset", (double)pre, false);
    fig_num(c, "before_onset_exact_zero", (double)pre_zero, false);
    fig_num(c, "before_onset_max_abs", pre_max, false);
    fig_num(c, "absorbed_steps", (double)post, false);
    fig_num(c, "absorbed_steps_within_tol", (double)post_ok, false);
    fig_num(c, "worst_rel_diff", post_worst, false);
    evid(c, "before the onset: exactly 0 at %zu of %zu logged steps "
         "(largest |residual| %.3g)", pre_zero, pre, pre_max);
    if (post > 0)
        evid(c, "with absorbed samples: within %.3g of the summed "
             "residual masses at %zu of %zu steps (worst relative "
             "difference %.3g at step %ld)", tol, post_ok, post,
             post_worst, post_worst_step);
    else
        evid(c, "no logged step has absorbed samples");
    if (p->na[0] == 0) {
        fig_num(c, "recomputed_equal_steps", (double)p->zs_agree, false);
        fig_num(c, "recomputed_steps", (double)p->zs_steps, false);
        fig_num(c, "absorbed_part_worst_rel", p->worst_rel, false);
        fig_num(c, "noise_to_absorbed_max", p->max_noise_ratio, false);
        evid(c, "the predicate's gradients, summed exactly, give the "
             "recorded residual at %zu of %zu steps", p->zs_agree,
             p->zs_steps);
        if (p->rel_steps > 0)
            evid(c, "their absorbed samples' part matches the summed "
                 "residual masses within %.3g at %zu of %zu steps (worst "
                 "%.3g); the other samples' rounding noise reaches %.3g "
                 "times that part", tol, p->rel_ok, p->rel_steps,
                 p->worst_rel, p->max_noise_ratio);
    }
    bool ok = pre_zero == pre && post_ok == post &&
              (p->na[0] != 0 || p->zs_agree == p->zs_steps);
    c->verdict = post == 0 && pre == 0 ? NFI_VERDICT_NA
                 : ok ? NFI_VERDICT_PASS : NFI_VERDICT_FAIL;
}

/* Growth figures of one series over rows [i0, i1]. */
typedef struct growth {
    double factor;          /* y[i1] / y[i0] */
    nfi_fit_line exp_fit;   /* log y against step */
    nfi_fit_line pow_fit;   /* log y against log step */
    double quad_r2;         /* log y quadratic in step */
    double rate_first, rate_last;  /* per 1000 steps, first and last
                                      third of the rows */
} growth;

static void growth_of(const series *s, const double *y, size_t i0,
                      size_t i1, growth *g)
{
    size_t n = i1 - i0 + 1;
    double *ly = calloc(3 * n, sizeof *ly);
    memset(g, 0, sizeof *g);
    g->factor = y[i1] / y[i0];
    g->exp_fit.r2 = g->pow_fit.r2 = g->quad_r2 = NAN;
    g->exp_fit.b = g->rate_first = g->rate_last = NAN;
    if (ly == NULL)
        return;
    double *x = ly + n, *lx = ly + 2 * n;
    for (size_t i = 0; i < n; i++) {
        ly[i] = log(y[i0 + i]);
        x[i] = s->step[i0 + i];
        lx[i] = log(s->step[i0 + i]);
    }
    nfi_fit_line_xy(x, ly, n, &g->exp_fit);
    nfi_fit_line_xy(lx, ly, n, &g->pow_fit);
    double q[3], xm;
    nfi_fit_quadratic(x, ly, n, q, &xm, &g->quad_r2);
    if (n >= 6) {
        size_t third = n / 3;
        nfi_fit_line a, b;
        if (nfi_fit_line_xy(x, ly, third, &a) == 0)
            g->rate_first = 1000 * a.b;
        if (nfi_fit_line_xy(x + n - third, ly + n - third, third, &b) == 0)
            g->rate_last = 1000 * b.b;
    }
    free(ly);
}

static const char *rate_trend(const growth *g)
{
    if (!isfinite(g->rate_first) || !isfinite(g->rate_last))
        return "unknown (fewer than 6 logged steps)";
    if (g->rate_first <= 0)
        return g->rate_last > 0 ? "rises (from none)" : "none";
    double q = g->rate_last / g->rate_first;
    return q >= NFI_V_RATE_CHANGE ? "rises"
           : q <= 1 / NFI_V_RATE_CHANGE ? "falls" : "constant";
}

static void growth_figs(nfi_claim *c, const char *tag, const growth *g)
{
    char name[48];
    snprintf(name, sizeof name, "%s_factor", tag);
    fig_num(c, name, g->factor, false);
    snprintf(name, sizeof name, "%s_rate_per_1000", tag);
    fig_num(c, name, 1000 * g->exp_fit.b, false);
    snprintf(name, sizeof name, "%s_exp_r2", tag);
    fig_num(c, name, g->exp_fit.r2, false);
    snprintf(name, sizeof name, "%s_power_r2", tag);
    fig_num(c, name, g->pow_fit.r2, false);
    snprintf(name, sizeof name, "%s_power_exponent", tag);
    fig_num(c, name, g->pow_fit.b, false);
    snprintf(name, sizeof name, "%s_quadratic_r2", tag);
    fig_num(c, name, g->quad_r2, false);
    snprintf(name, sizeof name, "%s_rate_first_third", tag);
    fig_num(c, name, g->rate_first, false);
    snprintf(name, sizeof name, "%s_rate_last_third", tag);
    fig_num(c, name, g->rate_last, false);
    snprintf(name, sizeof name, "%s_local_rate", tag);
    fig_text(c, name, "%s", rate_trend(g));
}

static void check_c5(nfi_claim *c, const series *s, long io, long iend)
{
    claim_init(c, "C5", "growth",
               "|w_bar| (w_mean_norm) and |mu_G| (feat_mean_norm) each "
               "grow by at least the growth factor over the growth "
               "window (onset to end spike, or to the last logged step) "
               "and by less than it from the first logged step to the "
               "onset; reported: exponential fit of the log against the "
               "step (rate per 1000 steps, R^2), a power-law fit (log "
               "against log step) and a quadratic in the step for "
               "comparison, and the local rate in the first and last "
               "third of the window");
    fig_num(c, "growth_min_factor", NFI_V_GROWTH_MIN, true);
    fig_num(c, "onset_level", NFI_V_ONSET_LEVEL, true);
    fig_num(c, "rate_change", NFI_V_RATE_CHANGE, true);
    if (io < 0) {
        c->verdict = NFI_VERDICT_FAIL;
        evid(c, "no logged step has absorbed_frac above %g: no growth "
             "window", NFI_V_ONSET_LEVEL);
        return;
    }
    fig_num(c, "window_start", s->step[io], false);
    fig_num(c, "window_end", s->step[iend], false);
    if (iend - io + 1 < 3) {
        c->verdict = NFI_VERDICT_NA;
        evid(c, "the window %g..%g has fewer than 3 logged steps",
             s->step[io], s->step[iend]);
        return;
    }
    growth gw, gf, pw, pf;
    growth_of(s, s->w, (size_t)io, (size_t)iend, &gw);
    growth_of(s, s->f, (size_t)io, (size_t)iend, &gf);
    growth_figs(c, "w", &gw);
    growth_figs(c, "feat", &gf);
    growth_of(s, s->w, 0, (size_t)io, &pw);
    growth_of(s, s->f, 0, (size_t)io, &pf);
    fig_num(c, "w_factor_before_onset", pw.factor, false);
    fig_num(c, "feat_factor_before_onset", pf.factor, false);
    fig_num(c, "w_rate_before_onset", 1000 * pw.exp_fit.b, false);
    fig_num(c, "feat_rate_before_onset", 1000 * pf.exp_fit.b, false);

    bool grows = gw.factor >= NFI_V_GROWTH_MIN &&
                 gf.factor >= NFI_V_GROWTH_MIN;
    bool before = pw.factor < NFI_V_GROWTH_MIN &&
                  pf.factor < NFI_V_GROWTH_MIN;
    c->verdict = grows && before ? NFI_VERDICT_PASS : NFI_VERDICT_FAIL;
    const growth *g[2] = {&gw, &gf};
    const char *tag[2] = {"|w_bar|", "|mu_G|"};
    evid(c, "window steps %g..%g", s->step[io], s->step[iend]);
    for (int k = 0; k < 2; k++)
        evid(c, "%s x%.3g, rate %.3g per 1000 steps, R^2 %.3f "
             "(power law R^2 %.3f, exponent %.3g; quadratic R^2 %.3f), "
             "local rate %.3g -> %.3g: %s", tag[k], g[k]->factor,
             1000 * g[k]->exp_fit.b, g[k]->exp_fit.r2, g[k]->pow_fit.r2,
             g[k]->pow_fit.b, g[k]->quad_r2, g[k]->rate_first,
             g[k]->rate_last, rate_trend(g[k]));
    evid(c, "before the onset: |w_bar| x%.3g, |mu_G| x%.3g", pw.factor,
         pf.factor);
}

static void check_c6(nfi_claim *c, const series *s, long io, long is)
{
    claim_init(c, "C6", "spike",
               "after the onset a logged step is a spike (loss above the "
               "running minimum M of the earlier logged losses and at "
               "least 10 max(M, 0), train/runlog.h) with a loss above the "
               "loss at the onset, and gradients reappear: absorbed_frac "
               "at the spike or the next logged step is lower than at "
               "the logged step before the spike by at least the drop");
    fig_num(c, "spike_factor", 10, true);
    fig_num(c, "reappear_drop", NFI_V_REAPPEAR_DROP, true);
    if (io < 0) {
        c->verdict = NFI_VERDICT_FAIL;
        evid(c, "no absorption onset, so no spike after a growth window");
        return;
    }
    fig_num(c, "loss_at_onset", s->loss[io], true);
    if (is < 0) {
        c->verdict = NFI_VERDICT_FAIL;
        evid(c, "no spike above the loss at the onset (%.6g) in the "
             "logged steps %g..%g", s->loss[io], s->step[io],
             s->step[s->n - 1]);
        return;
    }
    double m = INFINITY;
    for (long i = 0; i < is; i++)
        m = nfi_loss_min_update(m, s->loss[i]);
    double before = s->absf[is - 1];
    double after = s->absf[is];
    if ((size_t)is + 1 < s->n)
        after = fmin(after, s->absf[is + 1]);
    fig_num(c, "spike_step", s->step[is], false);
    fig_num(c, "spike_loss", s->loss[is], false);
    fig_num(c, "running_min", m, false);
    fig_num(c, "absorbed_before", before, false);
    fig_num(c, "absorbed_at_spike", after, false);
    bool reappear = after <= before - NFI_V_REAPPEAR_DROP;
    c->verdict = reappear ? NFI_VERDICT_PASS : NFI_VERDICT_FAIL;
    evid(c, "spike at step %g: loss %.6g after a minimum of %.6g",
         s->step[is], s->loss[is], m);
    evid(c, "absorbed_frac %.4g before it, %.4g at it or next: gradients "
         "%s", before, after, reappear ? "reappear" : "do not reappear");
}

/* C7 for one control over the steps [lo, hi] of the run. */
static void control_check(nfi_claim *c, size_t idx, const nfi_runrec *run,
                          const nfi_runrec *ctl, double lo, double hi,
                          bool *ok, bool *comparable)
{
    series s = {0};
    if (series_take(ctl, &s, NULL) != 0) {
        *ok = false;
        return;
    }
    bool same = ctl->seed == run->seed && strcmp(ctl->task, run->task) == 0
                && strcmp(ctl->model, run->model) == 0 &&
                ctl->n_train == run->n_train &&
                ctl->classes == run->classes;
    double maxabs = 0, m = INFINITY, last = s.step[s.n - 1];
    long first = -1, lastrow = -1, spike = -1;
    for (size_t i = 0; i < s.n; i++) {
        if (s.step[i] > hi)
            break;
        maxabs = fmax(maxabs, s.absf[i]);
        if (s.step[i] >= lo) {
            if (first < 0)
                first = (long)i;
            lastrow = (long)i;
            if (spike < 0 && nfi_loss_is_spike(s.loss[i], m) &&
                s.loss[i] > s.loss[first])
                spike = (long)i;
        }
        m = nfi_loss_min_update(m, s.loss[i]);
    }
    double fw = NAN, ff = NAN;
    if (first >= 0) {
        fw = s.w[lastrow] / s.w[first];
        ff = s.f[lastrow] / s.f[first];
    }
    char name[48];
    snprintf(name, sizeof name, "control%zu_max_absorbed", idx);
    fig_num(c, name, maxabs, false);
    snprintf(name, sizeof name, "control%zu_w_factor", idx);
    fig_num(c, name, fw, false);
    snprintf(name, sizeof name, "control%zu_feat_factor", idx);
    fig_num(c, name, ff, false);
    snprintf(name, sizeof name, "control%zu_spike_step", idx);
    fig_num(c, name, spike >= 0 ? s.step[spike] : NAN, false);
    snprintf(name, sizeof name, "control%zu_last_step", idx);
    fig_num(c, name, last, false);
    snprintf(name, sizeof name, "control%zu", idx);
    fig_text(c, name, "%s (logits %s, %s)", ctl->dir, ctl->logits_spell,
             same ? "same start" : "NOT the same start");
    bool none = maxabs <= NFI_V_CONTROL_ABSORBED && first >= 0 &&
                !(fw >= NFI_V_GROWTH_MIN) && !(ff >= NFI_V_GROWTH_MIN) &&
                spike < 0 && last >= hi;
    evid(c, "control %zu (%s, logits %s): max absorbed_frac %.4g, "
         "|w_bar| x%.3g, |mu_G| x%.3g over steps %g..%g, %s%s%s", idx,
         ctl->dir, ctl->logits_spell, maxabs, fw, ff, lo, hi,
         spike >= 0 ? "a spike" : "no spike",
         last < hi ? ", ends before the run's last step" : "",
         same ? "" : ", not the same start (seed, task, model, N or K)");
    if (!none)
        *ok = false;
    if (!same)
        *comparable = false;
    series_free(&s);
}

static void check_c7(nfi_claim *c, const nfi_runrec *run, const series *s,
                     long io, long iend, const nfi_runrec *ctl, size_t nc)
{
    claim_init(c, "C7", "control",
               "every control run (the same start in a higher precision, "
               "logits in binary64, or a larger Adam eps) shows, over the "
               "steps of the run's growth window (all its logged steps "
               "when it has none), no absorption window (absorbed_frac at "
               "most the control level up to the window's end), no "
               "growth of |w_bar| or |mu_G| by the growth factor, and no "
               "spike as C6 defines it (above the control's loss at the "
               "window's start)");
    fig_num(c, "control_absorbed_level", NFI_V_CONTROL_ABSORBED, true);
    fig_num(c, "growth_min_factor", NFI_V_GROWTH_MIN, true);
    fig_num(c, "controls", (double)nc, false);
    if (nc == 0) {
        evid(c, "no control run given (--control)");
        return;
    }
    double lo = io >= 0 ? s->step[io] : s->step[0];
    double hi = io >= 0 ? s->step[iend] : s->step[s->n - 1];
    fig_num(c, "steps_from", lo, false);
    fig_num(c, "steps_to", hi, false);
    bool ok = true, comparable = true;
    for (size_t i = 0; i < nc; i++)
        control_check(c, i, run, &ctl[i], lo, hi, &ok, &comparable);
    c->verdict = !comparable ? NFI_VERDICT_NA
                 : ok ? NFI_VERDICT_PASS : NFI_VERDICT_FAIL;
    if (!comparable)
        evid(c, "a control does not start from the same point");
}

/* ---- C4: the drift of w_bar ---- */

/* A logged step's drift figures, each a vector of the feature width. */
typedef struct drift {
    size_t width;
    double *obs;   /* the change of w_bar in the step */
    double *pred;  /* SGD: -(lr/K) sum_i r_i h_i - lr lambda w_bar */
    double *mu;    /* the feature mean mu_G of the forward pass */
    double *wb0;   /* w_bar before the update */
    double *wb1;   /* w_bar after it */
} drift;

static void drift_free(drift *d)
{
    free(d->obs);
    memset(d, 0, sizeof *d);
}

/* Products of two binary64 values lie between 2^-2148 and 2^2048; sums
 * of fewer than 2^100 of them are exact at this precision. */
enum { EXACT_PREC = 4400 };

/* Loads a step's records and computes its drift figures.  Every sum is
 * exact (MPFR at EXACT_PREC bits) and each figure is rounded once to
 * binary64 at the end, except r_i, the exact sum of sample i's computed
 * logit gradients, which is rounded to binary64 before it multiplies
 * h_i (a relative error of at most 2^-53 in each term).  Returns 0, 1
 * when a record is missing, -1 with err on a damaged one. */
static int drift_load(const nfi_runrec *r, const nfi_pred_spec *spec,
                      bool sgd, long step, drift *d, nfi_error *err)
{
    size_t n = r->n_train, k = r->classes;
    size_t zs[2] = {n, k}, fs[2] = {n, 0}, ws[3] = {2, k, 0};
    double *z = NULL, *h = NULL, *w = NULL, *res = NULL, *grad = NULL;
    int rc = nfi_runrec_step_array(r, step, "features", 2, fs, &h, err);
    if (rc == 0)
        rc = nfi_runrec_step_array(r, step, "classifier", 3, ws, &w, err);
    if (rc == 0 && sgd)
        rc = nfi_runrec_step_array(r, step, "logits", 2, zs, &z, err);
    if (rc == 0 && ws[2] != fs[1])
        rc = nfi_error_set(err, "step %ld of '%s': features.npy and "
                           "classifier.npy differ in width", step, r->dir);
    size_t m = fs[1];
    memset(d, 0, sizeof *d);
    if (rc == 0) {
        d->width = m;
        d->obs = calloc(5 * (m > 0 ? m : 1), sizeof *d->obs);
        res = calloc(n > 0 ? n : 1, sizeof *res);
        grad = calloc(k > 0 ? k : 1, sizeof *grad);
        if (d->obs == NULL || res == NULL || grad == NULL)
            rc = nfi_error_set(err, "out of memory");
    }
    if (rc != 0)
        goto out;
    d->pred = d->obs + m;
    d->mu = d->obs + 2 * m;
    d->wb0 = d->obs + 3 * m;
    d->wb1 = d->obs + 4 * m;

    /* Sums of binary64 values alone need only 2300 bits (see
     * sample_pass_run); products of two need EXACT_PREC. */
    mpfr_t acc, t;
    mpfr_init2(acc, 2300);
    mpfr_init2(t, 2300);
    for (size_t i = 0; sgd && i < n; i++) {
        nfi_pred_outcome o;
        nfi_error e;
        if (nfi_pred_eval_d(spec, k, z + i * k, (size_t)r->labels[i], grad,
                            &o, &e) != 0) {
            rc = nfi_error_set(err, "step %ld sample %zu of '%s': %s",
                               step, i, r->dir, e.message);
            break;
        }
        mpfr_set_zero(acc, 1);
        for (size_t j = 0; j < k; j++)
            mpfr_add_d(acc, acc, grad[j], MPFR_RNDN);
        res[i] = mpfr_get_d(acc, MPFR_RNDN);
    }
    for (size_t c = 0; rc == 0 && c < m; c++) {
        /* mu_G, w_bar before and after, and their difference. */
        mpfr_set_zero(acc, 1);
        for (size_t i = 0; i < n; i++)
            mpfr_add_d(acc, acc, h[i * m + c], MPFR_RNDN);
        mpfr_div_ui(t, acc, (unsigned long)n, MPFR_RNDN);
        d->mu[c] = mpfr_get_d(t, MPFR_RNDN);
        for (int b = 0; b < 2; b++) {
            mpfr_set_zero(acc, 1);
            for (size_t q = 0; q < k; q++)
                mpfr_add_d(acc, acc, w[(b * k + q) * m + c], MPFR_RNDN);
            mpfr_div_ui(t, acc, (unsigned long)k, MPFR_RNDN);
            (b == 0 ? d->wb0 : d->wb1)[c] = mpfr_get_d(t, MPFR_RNDN);
        }
        mpfr_set_zero(acc, 1);
        for (size_t q = 0; q < k; q++) {
            mpfr_add_d(acc, acc, w[(k + q) * m + c], MPFR_RNDN);
            mpfr_sub_d(acc, acc, w[q * m + c], MPFR_RNDN);
        }
        mpfr_div_ui(acc, acc, (unsigned long)k, MPFR_RNDN);
        d->obs[c] = mpfr_get_d(acc, MPFR_RNDN);
        if (!sgd)
            continue;
        /* -(lr/K) (sum_i r_i h_i + lambda sum_k w_k) */
        mpfr_set_prec(acc, EXACT_PREC);
        mpfr_set_prec(t, EXACT_PREC);
        mpfr_set_zero(acc, 1);
        for (size_t i = 0; i < n; i++) {
            mpfr_set_d(t, res[i], MPFR_RNDN);
            mpfr_mul_d(t, t, h[i * m + c], MPFR_RNDN);
            mpfr_add(acc, acc, t, MPFR_RNDN);
        }
        if (r->weight_decay != 0) {
            for (size_t q = 0; q < k; q++) {
                mpfr_set_d(t, w[q * m + c], MPFR_RNDN);
                mpfr_mul_d(t, t, r->weight_decay, MPFR_RNDN);
                mpfr_add(acc, acc, t, MPFR_RNDN);
            }
        }
        mpfr_mul_d(acc, acc, -r->lr, MPFR_RNDN);
        mpfr_div_ui(acc, acc, (unsigned long)k, MPFR_RNDN);
        d->pred[c] = mpfr_get_d(acc, MPFR_RNDN);
        mpfr_set_prec(acc, 2300);
        mpfr_set_prec(t, 2300);
    }
    mpfr_clear(acc);
    mpfr_clear(t);
out:
    if (rc != 0)
        drift_free(d);
    free(z);
    free(h);
    free(w);
    free(res);
    free(grad);
    return rc;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* The cosine of a and b (sign s applied to b); NaN for a zero vector. */
static double cosine(const double *a, const double *b, double s, size_t n)
{
    double na = sqrt(dot(a, a, n)), nb = sqrt(dot(b, b, n));
    return na > 0 && nb > 0 ? s * dot(a, b, n) / (na * nb) : NAN;
}

static int check_c4(nfi_claim *c, const nfi_runrec *r, const series *s,
                    long io, long iend, nfi_error *err)
{
    claim_init(c, "C4", "drift",
               "SGD: at every logged step of the growth window (every "
               "logged step without one) the observed change of w_bar in "
               "the step equals -(lr/K) sum_i r_i h_i (- lr lambda w_bar "
               "with weight decay) within the relative tolerance, r_i the "
               "exact sum of sample i's computed logit gradients (the "
               "predicate on the recorded logits), h_i its recorded "
               "features; Adam: the drift of w_bar over the growth window "
               "has at least the minimum cosine with minus the mean of "
               "the feature means mu_G over the window");
    bool sgd = strcmp(r->optimizer, "sgd") == 0;
    fig_text(c, "optimizer", "%s", r->optimizer);
    if (sgd)
        fig_num(c, "rel_tol", NFI_V_C4_REL_TOL, true);
    else
        fig_num(c, "cos_min", NFI_V_C4_COS_MIN, true);
    if (sgd && r->momentum != 0) {
        evid(c, "SGD with momentum %g: a step's update depends on the "
             "earlier gradients", r->momentum);
        return 0;
    }
    if (!sgd && io < 0) {
        evid(c, "no growth window to measure the drift over");
        return 0;
    }
    if (sgd && r->labels == NULL) {
        evid(c, "the run has no train_labels.npy");
        return 0;
    }
    nfi_pred_spec spec = {
        .format = r->logits_format, .mode = r->mode, .scheme = r->scheme,
        .order = r->order, .batch = (unsigned long)r->n_train,
    };
    nfi_error e;
    if (sgd && nfi_pred_spec_check(&spec, &e) != 0) {
        evid(c, "the predicate does not apply: %s", e.message);
        return 0;
    }
    size_t i0 = io >= 0 ? (size_t)io : 0;
    size_t i1 = io >= 0 ? (size_t)iend : s->n - 1;
    fig_num(c, "steps_from", s->step[i0], false);
    fig_num(c, "steps_to", s->step[i1], false);

    size_t used = 0, missing = 0, ok = 0, pos = 0;
    double worst = 0, worst_cos = INFINITY;
    long worst_step = -1;
    drift first = {0}, last = {0};
    double *musum = NULL;
    int rc = 0;
    for (size_t i = i0; i <= i1 && rc == 0; i++) {
        drift d;
        long step = (long)s->step[i];
        int q = drift_load(r, &spec, sgd, step, &d, err);
        if (q < 0) {
            rc = -1;
            break;
        }
        if (q == 1) {
            missing++;
            continue;
        }
        size_t m = d.width;
        if (musum == NULL && (musum = calloc(m + 1, sizeof *musum)) ==
            NULL) {
            drift_free(&d);
            rc = nfi_error_set(err, "out of memory");
            break;
        }
        used++;
        for (size_t t = 0; t < m; t++)
            musum[t] += d.mu[t];
        if (sgd) {
            double diff[m > 0 ? m : 1];
            for (size_t t = 0; t < m; t++)
                diff[t] = d.obs[t] - d.pred[t];
            double dn = sqrt(dot(diff, diff, m));
            double rel = dn == 0 ? 0 : dn / sqrt(dot(d.pred, d.pred, m));
            double cs = cosine(d.obs, d.pred, 1, m);
            if (rel <= NFI_V_C4_REL_TOL)
                ok++;
            if (!(rel <= worst)) {
                worst = rel;
                worst_step = step;
            }
            if (!(cs >= worst_cos))
                worst_cos = cs;
        } else if (cosine(d.obs, d.mu, -1, m) > 0) {
            pos++;
        }
        if (first.obs == NULL) {
            first = d;
        } else {
            drift_free(&last);
            last = d;
        }
    }
    fig_num(c, "steps_with_records", (double)used, false);
    fig_num(c, "steps_without_records", (double)missing, false);
    if (rc == 0 && used == 0)
        evid(c, "no logged step in the window has features.npy and "
             "classifier.npy (written by an nfi before the verifier)");
    if (rc == 0 && used > 0 && sgd) {
        fig_num(c, "steps_within_tol", (double)ok, false);
        fig_num(c, "worst_rel_diff", worst, false);
        fig_num(c, "worst_rel_diff_step", (double)worst_step, false);
        fig_num(c, "worst_cosine", worst_cos, false);
        c->verdict = ok == used ? NFI_VERDICT_PASS : NFI_VERDICT_FAIL;
        evid(c, "steps %g..%g: the observed change of w_bar is within "
             "%g of -(lr/K) sum_i r_i h_i at %zu of %zu logged steps "
             "(worst relative difference %.3g at step %ld; smallest "
             "cosine %.3g)", s->step[i0], s->step[i1], NFI_V_C4_REL_TOL,
             ok, used, worst, worst_step, worst_cos);
    } else if (rc == 0 && used > 0) {
        size_t m = first.width;
        const drift *end = last.obs != NULL ? &last : &first;
        double total[m > 0 ? m : 1];
        for (size_t t = 0; t < m; t++) {
            total[t] = end->wb1[t] - first.wb0[t];
            musum[t] /= (double)used;
        }
        double cs = cosine(total, musum, -1, m);
        fig_num(c, "cosine", cs, false);
        fig_num(c, "drift_norm", sqrt(dot(total, total, m)), false);
        fig_num(c, "steps_positive_cosine", (double)pos, false);
        c->verdict = cs >= NFI_V_C4_COS_MIN ? NFI_VERDICT_PASS
                                            : NFI_VERDICT_FAIL;
        evid(c, "steps %g..%g: the drift of w_bar (norm %.3g) has cosine "
             "%.3f with -mu_G (mean over %zu logged steps); a single "
             "step's drift points within 90 degrees of -mu_G at %zu of "
             "%zu", s->step[i0], s->step[i1],
             sqrt(dot(total, total, m)), cs, used, pos, used);
    }
    if (missing > 0)
        evid(c, "%zu logged steps lack records", missing);
    drift_free(&first);
    drift_free(&last);
    free(musum);
    return rc;
}

int nfi_verify_claims(const char *dir, const char *const *controls,
                      size_t ncontrols, nfi_verify_report *out,
                      nfi_error *err)
{
    memset(out, 0, sizeof *out);
    nfi_runrec r;
    if (nfi_runrec_open(dir, &r, err) != 0)
        return -1;
    nfi_runrec *ctl = calloc(ncontrols + 1, sizeof *ctl);
    series s = {0};
    sample_pass p;
    int rc = -1;
    size_t opened = 0;
    if (ctl == NULL) {
        nfi_error_set(err, "out of memory");
        goto out;
    }
    for (; opened < ncontrols; opened++)
        if (nfi_runrec_open(controls[opened], &ctl[opened], err) != 0)
            goto out;
    if (series_take(&r, &s, err) != 0 ||
        sample_pass_run(&r, &s, &p, err) != 0)
        goto out;

    long io, is;
    find_windows(&s, &io, &is);
    long iend = io < 0 ? -1 : is >= 0 ? is : (long)s.n - 1;
    out->onset = io >= 0 ? (long)s.step[io] : -1;
    out->window_end = iend >= 0 ? (long)s.step[iend] : -1;
    out->spike = is >= 0 ? (long)s.step[is] : -1;
    out->logged_steps = s.n;

    check_c1(&out->claim[0], &r, &p);
    check_c2(&out->claim[1], &r, &p);
    check_c3(&out->claim[2], &r, &s, io, &p);
    if (check_c4(&out->claim[3], &r, &s, io, iend, err) != 0)
        goto out;
    check_c5(&out->claim[4], &s, io, iend);
    check_c6(&out->claim[5], &s, io, is);
    check_c7(&out->claim[6], &r, &s, io, iend, ctl, ncontrols);
    rc = 0;
out:
    for (size_t i = 0; i < opened; i++)
        nfi_runrec_free(&ctl[i]);
    free(ctl);
    series_free(&s);
    nfi_runrec_free(&r);
    return rc;
}
