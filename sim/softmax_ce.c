/* nfi: softmax cross-entropy schemes.  See softmax_ce.h. */
#include "softmax_ce.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpu.h"
#include "lanes.h"
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

/* RNE with p <= 25 and subnormals (sim/lanes.h), four at a time: op 0
 * out[j] = x[j] * y0, op 1 out[j] = x[j] - y[j] (y NULL: x[j] - y0).
 * Products of two format values by nfi_lanes_round_sub, differences by
 * nfi_lanes_round_grid (both exact below 2^emin); from a block with an
 * overflow, an infinity or a NaN on, and for the tail, the handle's
 * scalar operations themselves (the very calls of the loops they
 * replace, so that even the sign of a NaN made from two NaN operands,
 * which depends on how the compiled code orders them, stays as it was).
 * The lanes' own results are finite, hence unique. */
NFI_FMA_CLONES
static void lanes_op(nfi_arith *a, int op, size_t k, double *out,
                     const double *x, const double *y, double y0)
{
    nfi_fast *f = &a->fast;
    const nfi_lanes_rne cr = nfi_lanes_rne_of(f);
    const nfi_lanes_sub cs = nfi_lanes_sub_of(f);
    const nfi_v4d c = nfi_splat4(y0);
    size_t j = 0;
    for (; j + 4 <= k; j += 4) {
        nfi_v4d v = nfi_load4(x + j);
        v = op == 0 ? v * c : v - (y != NULL ? nfi_load4(y + j) : c);
        nfi_v4u flag = {0, 0, 0, 0};
        nfi_lanes_flag_over(&cs, v, &flag);
        v = op == 0 ? nfi_lanes_round_sub(&cs, v)
                    : nfi_lanes_round_grid(&cr, v);
        if (nfi_lanes_any(flag))
            break;
        nfi_store4(out + j, v);
    }
    for (; j < k; j++)
        out[j] = op == 0 ? nfi_arith_mul(a, x[j], y0)
                         : nfi_arith_sub(a, x[j], y != NULL ? y[j] : y0);
}

/* out[j] = x[j] - y[j] (y NULL: - y0 for every j) and out[j] = x[j] *
 * y0, for j < k, rounded by the handle: in the lanes above where they
 * apply, else by the scalar operations.  out may alias x. */
static void sub_all(nfi_arith *a, size_t k, double *out, const double *x,
                    const double *y, double y0)
{
    if (!a->reference && nfi_lanes_sub_applies(&a->fast)) {
        lanes_op(a, 1, k, out, x, y, y0);
        return;
    }
    if (y == NULL && nfi_ce_wide_sub(a, k, out, x, y0))
        return; /* 26 <= p <= 52: sim/softmax_wide.h */
    for (size_t j = 0; j < k; j++)
        out[j] = nfi_arith_sub(a, x[j], y != NULL ? y[j] : y0);
}

static void mul_all(nfi_arith *a, size_t k, double *out, const double *x,
                    double y0)
{
    if (!a->reference && nfi_lanes_sub_applies(&a->fast)) {
        lanes_op(a, 0, k, out, x, NULL, y0);
        return;
    }
    for (size_t j = 0; j < k; j++)
        out[j] = nfi_arith_mul(a, x[j], y0);
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
    sub_all(a, k, d, z, NULL, m);
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
        sub_all(a, k, outv, d, NULL, l);
        loss = -outv[y];
        double g_y = nfi_arith_div(a, -1.0, n_f);
        exp_all(a, k, grad, outv);
        if (a->reference || !nfi_lanes_sub_applies(&a->fast)) {
            /* The twin, and formats without the lanes (stochastic
             * rounding's indices follow this order: a product, then a
             * difference, per j). */
            if (nfi_ce_wide_grad(a, k, y, grad, d, g_y))
                break; /* 26 <= p <= 52: sim/softmax_wide.h */
            for (size_t j = 0; j < k; j++) {
                double u = nfi_arith_mul(a, grad[j], g_y);
                d[j] = grad[j]; /* keep the probability for the mass */
                grad[j] = nfi_arith_sub(a, j == y ? g_y : 0.0, u);
            }
            break;
        }
        /* The same operations in the lanes (RNE: the order does not
         * matter): d keeps the probabilities for the mass, outv
         * takes the products u[j] = p[j] g_y, then grad[j] = [j = y] g_y
         * - u[j]. */
        memcpy(d, grad, k * sizeof *d);
        mul_all(a, k, outv, grad, g_y);
        for (size_t j = 0; j < k; j++)
            grad[j] = j == y ? g_y : 0.0;
        sub_all(a, k, grad, grad, outv, 0.0);
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
