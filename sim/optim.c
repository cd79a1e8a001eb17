/* nfi: optimizers.  See optim.h for the operations, in order. */
#include "optim.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>

#include <mpfr.h>

static const char *const kind_names[] = {"sgd", "adam", "adamw"};

int nfi_optim_kind_parse(const char *name, nfi_optim_kind *out,
                         nfi_error *err)
{
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(name, kind_names[i]) == 0) {
            *out = (nfi_optim_kind)i;
            return 0;
        }
    }
    return nfi_error_set(err, "unknown optimizer '%s': use sgd, adam or "
                         "adamw", name);
}

const char *nfi_optim_kind_name(nfi_optim_kind kind)
{
    return (int)kind >= 0 && (int)kind < 3 ? kind_names[kind] : "?";
}

int nfi_optim_config_check(const nfi_optim_config *c, nfi_error *err)
{
    if (!(c->lr > 0) || isinf(c->lr))
        return nfi_error_set(err, "learning rate %g: must be a finite "
                             "number above 0 (e.g. 1e-2)", c->lr);
    if (!(c->eps >= 0) || isinf(c->eps))
        return nfi_error_set(err, "eps %g: must be finite and >= 0 (e.g. "
                             "1e-8)", c->eps);
    if (!(c->weight_decay >= 0) || isinf(c->weight_decay))
        return nfi_error_set(err, "weight decay %g: must be finite and >= 0",
                             c->weight_decay);
    if (c->kind != NFI_OPTIM_SGD) {
        if (!(c->beta1 >= 0 && c->beta1 < 1))
            return nfi_error_set(err, "beta1 %g: must lie in [0, 1) (e.g. "
                                 "0.9)", c->beta1);
        if (!(c->beta2 >= 0 && c->beta2 < 1))
            return nfi_error_set(err, "beta2 %g: must lie in [0, 1) (e.g. "
                                 "0.999)", c->beta2);
    } else if (!(c->momentum >= 0 && c->momentum < 1)) {
        return nfi_error_set(err, "momentum %g: must lie in [0, 1)",
                             c->momentum);
    }
    return 0;
}

int nfi_optim_state_init(nfi_optim_state *s, size_t n, nfi_error *err)
{
    s->n = n;
    s->step = 0;
    s->m = calloc(n ? n : 1, sizeof *s->m);
    s->v = calloc(n ? n : 1, sizeof *s->v);
    if (s->m == NULL || s->v == NULL) {
        nfi_optim_state_free(s);
        return nfi_error_set(err, "out of memory for the optimizer state "
                             "of %zu parameters", n);
    }
    return 0;
}

void nfi_optim_state_free(nfi_optim_state *s)
{
    free(s->m);
    free(s->v);
    s->m = s->v = NULL;
}

/* RN(1 - RN(beta^t)) in binary64, with beta^t correctly rounded. */
static double bias_correction(double beta, long t)
{
    mpfr_t x;
    mpfr_init2(x, 53);
    mpfr_set_d(x, beta, MPFR_RNDN);
    mpfr_pow_si(x, x, t, MPFR_RNDN);
    double power = mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(x);
    return 1.0 - power;
}

/* A constant cast into a handle's format: round to nearest, whatever the
 * handle's mode (a hyperparameter is not a computed value, so stochastic
 * rounding does not redraw it every step), through the MPFR engine so
 * that the fast kernel and its twin agree. */
static double constant(const nfi_arith *a, double x)
{
    return nfi_mpfr_op_d(NFI_OP_CVT, x, 0.0, 0.0, &a->fast.format,
                         NFI_ROUND_RNE, 0);
}

void nfi_optim_step(const nfi_optim_config *c, nfi_arith *o, nfi_arith *pa,
                    const nfi_format *grads, nfi_optim_state *s, double *p,
                    const double *g)
{
    long t = ++s->step;
    const nfi_format *of = &o->fast.format, *pf = &pa->fast.format;
    double lambda = constant(o, c->weight_decay);

    if (c->kind == NFI_OPTIM_SGD) {
        double lr = constant(o, c->lr);
        double mu = constant(o, c->momentum);
        for (size_t i = 0; i < s->n; i++) {
            double d = nfi_arith_cast(o, grads, g[i]);
            if (c->weight_decay != 0)
                d = nfi_arith_add(o, d, nfi_arith_mul(o, lambda,
                                                      nfi_arith_cast(o, pf,
                                                                     p[i])));
            if (c->momentum != 0) {
                s->m[i] = t == 1 ? d : nfi_arith_add(o, nfi_arith_mul(o, mu,
                                                                  s->m[i]),
                                                     d);
                d = s->m[i];
            }
            double u = nfi_arith_cast(pa, of, nfi_arith_mul(o, lr, d));
            p[i] = nfi_arith_sub(pa, p[i], u);
        }
        return;
    }

    double b1 = constant(o, c->beta1);
    double b2 = constant(o, c->beta2);
    double c1 = constant(o, 1.0 - c->beta1);
    double c2 = constant(o, 1.0 - c->beta2);
    double bc1 = bias_correction(c->beta1, t);
    double bc2 = bias_correction(c->beta2, t);
    double step = constant(o, c->lr / bc1);
    double root = constant(o, sqrt(bc2));
    double eps = constant(o, c->eps);
    bool l2 = c->kind == NFI_OPTIM_ADAM && c->weight_decay != 0;
    bool decoupled = c->kind == NFI_OPTIM_ADAMW && c->weight_decay != 0;
    double decay = constant(pa, 1.0 - c->lr * c->weight_decay);

    for (size_t i = 0; i < s->n; i++) {
        if (decoupled)
            p[i] = nfi_arith_mul(pa, p[i], decay);
        double d = nfi_arith_cast(o, grads, g[i]);
        if (l2)
            d = nfi_arith_add(o, d, nfi_arith_mul(o, lambda,
                                                  nfi_arith_cast(o, pf,
                                                                 p[i])));
        s->m[i] = nfi_arith_add(o, nfi_arith_mul(o, b1, s->m[i]),
                                nfi_arith_mul(o, c1, d));
        s->v[i] = nfi_arith_add(o, nfi_arith_mul(o, b2, s->v[i]),
                                nfi_arith_mul(o, c2,
                                              nfi_arith_mul(o, d, d)));
        double denom = nfi_arith_op(o, NFI_OP_SQRT, s->v[i], 0.0, 0.0);
        denom = nfi_arith_add(o, nfi_arith_div(o, denom, root), eps);
        double u = nfi_arith_mul(o, step, nfi_arith_div(o, s->m[i], denom));
        p[i] = nfi_arith_sub(pa, p[i], nfi_arith_cast(pa, of, u));
    }
}
