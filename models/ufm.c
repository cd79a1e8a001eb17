/* nfi: the unconstrained features model.  See ufm.h for the roles, the
 * layout and the initialisation. */
#include "ufm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "gaussian.h"
#include "matmul.h"

int nfi_ufm_init(nfi_ufm *m, size_t n, size_t d, size_t classes, bool bias,
                 nfi_error *err)
{
    memset(m, 0, sizeof *m);
    if (n == 0 || d == 0 || classes == 0)
        return nfi_error_set(err, "UFM shape n=%zu d=%zu classes=%zu: "
                             "sizes must be >= 1", n, d, classes);
    size_t limit = SIZE_MAX / sizeof(double);
    if (n > limit / d || classes > limit / d ||
        n * d > limit - classes * d ||
        n * d + classes * d > limit - classes)
        return nfi_error_set(err, "UFM shape n=%zu d=%zu classes=%zu: too "
                             "many parameters", n, d, classes);
    m->n = n;
    m->d = d;
    m->classes = classes;
    m->bias = bias;
    m->offset_h = 0;
    m->offset_w = n * d;
    m->offset_b = m->offset_w + classes * d;
    m->n_params = m->offset_b + (bias ? classes : 0);
    m->params = calloc(m->n_params, sizeof *m->params);
    if (m->params == NULL)
        return nfi_error_set(err, "out of memory for %zu parameters",
                             m->n_params);
    return 0;
}

void nfi_ufm_free(nfi_ufm *m)
{
    free(m->params);
    m->params = NULL;
}


int nfi_ufm_init_params(nfi_ufm *m, nfi_roles *r, uint64_t seed,
                        nfi_error *err)
{
    const nfi_format *f = &r->arith[NFI_ROLE_PARAMS].fast.format;
    double *h = m->params + m->offset_h;
    size_t nh = m->n * m->d;
    if (nfi_gaussian_normals(nfi_draw_key(seed, NFI_UFM_TAG_FEATURES), 0,
                             nh, h, err) != 0)
        return -1;
    for (size_t i = 0; i < nh; i++)
        h[i] = nfi_mpfr_op_d(NFI_OP_CVT, h[i], 0.0, 0.0, f, NFI_ROUND_RNE,
                             0);
    double bound = 1.0 / sqrt((double)m->d);
    size_t nc = m->n_params - m->offset_w; /* W, then b */
    for (size_t j = 0; j < nc; j++) {
        double v = (2.0 * nfi_mlp_uniform(seed, j) - 1.0) * bound;
        m->params[m->offset_w + j] = nfi_mpfr_op_d(NFI_OP_CVT, v, 0.0, 0.0,
                                                   f, NFI_ROUND_RNE, 0);
    }
    return 0;
}

int nfi_ufm_forward(const nfi_ufm *m, nfi_roles *r, double *logits)
{
    const nfi_format *params = &r->arith[NFI_ROLE_PARAMS].fast.format;
    nfi_matrix_view h = {m->params + m->offset_h, (ptrdiff_t)m->d, 1,
                         params};
    nfi_matrix_view w = {m->params + m->offset_w, (ptrdiff_t)m->d, 1,
                         params};
    return nfi_matmul(&r->arith[NFI_ROLE_ACCUM], &r->arith[NFI_ROLE_LOGITS],
                      &r->order, m->n, m->classes, m->d, h, w,
                      m->bias ? m->params + m->offset_b : NULL, params,
                      logits);
}

int nfi_ufm_backward(const nfi_ufm *m, nfi_roles *r, const double *dlogits,
                     double *grad, double *scratch)
{
    nfi_arith *acc = &r->arith[NFI_ROLE_ACCUM];
    nfi_arith *grads = &r->arith[NFI_ROLE_GRADS];
    const nfi_format *params = &r->arith[NFI_ROLE_PARAMS].fast.format;
    size_t n = m->n, k = m->classes, d = m->d;

    /* The logit gradients as values of the accum format. */
    const double *dy = dlogits;
    if (!nfi_format_equal(&r->arith[NFI_ROLE_LOGITS].fast.format,
                          &acc->fast.format)) {
        for (size_t i = 0; i < n * k; i++)
            scratch[i] = nfi_arith_round(acc, dlogits[i]);
        dy = scratch;
    }
    /* dW[c][t] = sum_i dY[i][c] H[i][t] */
    nfi_matrix_view dyt = {dy, 1, (ptrdiff_t)k, NULL};
    nfi_matrix_view ht = {m->params + m->offset_h, 1, (ptrdiff_t)d, params};
    if (nfi_matmul(acc, grads, &r->order, k, d, n, dyt, ht, NULL, NULL,
                   grad + m->offset_w) != 0)
        return -1;
    if (m->bias)
        nfi_column_sums(acc, grads, &r->order, n, k, dy,
                        grad + m->offset_b);
    /* dH[i][t] = sum_c dY[i][c] W[c][t] */
    nfi_matrix_view dyv = {dy, (ptrdiff_t)k, 1, NULL};
    nfi_matrix_view wt = {m->params + m->offset_w, 1, (ptrdiff_t)d, params};
    return nfi_matmul(acc, grads, &r->order, n, d, k, dyv, wt, NULL, NULL,
                      grad + m->offset_h);
}

const double *nfi_ufm_features(const nfi_ufm *m, size_t i)
{
    return m->params + m->offset_h + i * m->d;
}
