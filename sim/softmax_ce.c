/* nfi: softmax cross-entropy schemes.  See softmax_ce.h. */
#include "softmax_ce.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "softmax_wide.h"

static const char *const scheme_names[] = {"logsoftmax", "lse", "softmax"};

int nfi_ce_scheme_parse(const char *name, nfi_ce_scheme *out,
                        nfi_error *err)
{
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(name, scheme_names[i]) == 0) {
            *out = (nfi_ce_scheme)i;
            return 0;
        }
    }
    return nfi_error_set(err, "unknown cross-entropy scheme '%s': use "
                         "logsoftmax (PyTorch, JAX), lse or softmax", name);
}

const char *nfi_ce_scheme_name(nfi_ce_scheme scheme)
{
    return (int)scheme >= 0 && (int)scheme < 3 ? scheme_names[scheme] : "?";
}

#define STACK_K 256

/* out[j] = exp(x[j]) for j < k in the handle's format: the fast engine's
 * array exponential (the same roundings with the same stochastic
 * indices, element j taking the j-th) or the twin's scalar ones. */
static void exp_all(nfi_arith *a, size_t k, double *out, const double *x)
{
    if (nfi_ce_wide_exp(a, k, out, x))
        return;
    if (!a->reference) {
        nfi_fast_exp_array(&a->fast, k, out, x);
        return;
    }
    for (size_t j = 0; j < k; j++)
        out[j] = nfi_arith_exp(a, x[j]);
}

static int sample_eval(nfi_arith *a, nfi_ce_scheme scheme,
                       const nfi_reduction *order, size_t k, const double *z,
                       size_t y, size_t n, double *grad, nfi_ce_sample *out,
                       bool mass_wanted, nfi_error *err)
{
    if (k == 0 || y >= k || n == 0)
        return nfi_error_set(err, "cross-entropy needs K >= 1 classes, a "
                             "label below K and a batch of N >= 1 (got "
                             "K=%zu, label %zu, N=%zu)", k, y, n);
    double stack[2 * STACK_K];
    double *d = k <= STACK_K ? stack : malloc(2 * k * sizeof *d);
    if (d == NULL)
        return nfi_error_set(err, "out of memory for %zu classes", k);
    double *e = d + k;

    double m = z[0];
    for (size_t j = 1; j < k; j++)
        m = nfi_fast_max(m, z[j]);
    if (!nfi_ce_wide_sub(a, k, d, z, m))
        for (size_t j = 0; j < k; j++)
            d[j] = nfi_arith_sub(a, z[j], m);
    exp_all(a, k, e, d);
    double s = nfi_reduce_sum(a, order, k, e, 1);
    double n_f = nfi_arith_round(a, (double)n);

    /* grad holds the computed wrong-class probabilities first, for the
     * residual mass, then the gradients. */
    double loss;
    switch (scheme) {
    case NFI_CE_LOGSOFTMAX: {
        double l = nfi_arith_log(a, s);
        double *outv = e; /* e is no longer needed */
        if (!nfi_ce_wide_sub(a, k, outv, d, l))
            for (size_t j = 0; j < k; j++)
                outv[j] = nfi_arith_sub(a, d[j], l);
        loss = -outv[y];
        double g_y = nfi_arith_div(a, -1.0, n_f);
        exp_all(a, k, grad, outv);
        bool wide = nfi_ce_wide_grad(a, k, y, grad, d, g_y);
        for (size_t j = 0; j < k && !wide; j++) {
            double u = nfi_arith_mul(a, grad[j], g_y);
            d[j] = grad[j]; /* keep the probability for the mass */
            grad[j] = nfi_arith_sub(a, j == y ? g_y : 0.0, u);
        }
        break;
    }
    case NFI_CE_LSE: {
        double l = nfi_arith_log(a, s);
        double lse = nfi_arith_add(a, m, l);
        loss = nfi_arith_sub(a, lse, z[y]);
        for (size_t j = 0; j < k; j++)
            d[j] = nfi_arith_exp(a, nfi_arith_sub(a, z[j], lse));
        for (size_t j = 0; j < k; j++) {
            double q = j == y ? nfi_arith_sub(a, d[j], 1.0) : d[j];
            grad[j] = nfi_arith_div(a, q, n_f);
        }
        break;
    }
    default: { /* NFI_CE_SOFTMAX */
        for (size_t j = 0; j < k; j++)
            d[j] = nfi_arith_div(a, e[j], s);
        loss = -nfi_arith_log(a, d[y]);
        for (size_t j = 0; j < k; j++) {
            double q = j == y ? nfi_arith_sub(a, d[j], 1.0) : d[j];
            grad[j] = nfi_arith_div(a, q, n_f);
        }
        break;
    }
    }

    /* Diagnostics: d[j] now holds the computed probabilities. */
    double best_other = -INFINITY;
    bool others_zero = true;
    for (size_t j = 0; j < k; j++) {
        if (j == y)
            continue;
        best_other = nfi_fast_max(best_other, z[j]);
        others_zero = others_zero && grad[j] == 0.0;
    }
    out->loss = loss;
    out->absorbed = grad[y] == 0.0;
    out->underflow = out->absorbed && others_zero;
    out->margin = z[y] - best_other;
    out->residual_mass = NAN;
    if (mass_wanted) {
        nfi_exact_sum mass;
        nfi_exact_sum_init(&mass);
        for (size_t j = 0; j < k; j++) {
            if (j != y)
                nfi_exact_sum_add(&mass, d[j]);
        }
        out->residual_mass = nfi_exact_sum_get_d(&mass);
        nfi_exact_sum_clear(&mass);
    }
    if (d != stack)
        free(d);
    return 0;
}

int nfi_ce_sample_eval(nfi_arith *a, nfi_ce_scheme scheme,
                       const nfi_reduction *order, size_t k, const double *z,
                       size_t y, size_t n, double *grad, nfi_ce_sample *out,
                       nfi_error *err)
{
    return sample_eval(a, scheme, order, k, z, y, n, grad, out, true, err);
}

int nfi_ce_sample_grad(nfi_arith *a, nfi_ce_scheme scheme,
                       const nfi_reduction *order, size_t k, const double *z,
                       size_t y, size_t n, double *grad, nfi_ce_sample *out,
                       nfi_error *err)
{
    return sample_eval(a, scheme, order, k, z, y, n, grad, out, false, err);
}
