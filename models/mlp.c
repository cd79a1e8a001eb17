/* nfi: the MLP classifier.  See mlp.h for the roles and the layout. */
#include "mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "matmul.h"
#include "onehot.h"

int nfi_roles_init(nfi_roles *r, const nfi_policy *p, nfi_round mode,
                   uint64_t seed, const nfi_reduction *order, bool reference,
                   nfi_error *err)
{
    for (int i = 0; i < NFI_ROLE_COUNT; i++) {
        /* One stochastic stream per role, so that adding work in one role
         * does not shift the draws of another. */
        if (nfi_arith_init(&r->arith[i], &p->format[i], mode,
                           seed * NFI_ROLE_COUNT + (uint64_t)i, reference,
                           err) != 0)
            return -1;
    }
    r->order = *order;
    return 0;
}

int nfi_mlp_init(nfi_mlp *m, size_t in, size_t hidden, size_t layers,
                 size_t classes, bool classifier_bias, nfi_error *err)
{
    memset(m, 0, sizeof *m);
    if (in == 0 || hidden == 0 || classes == 0 || layers == 0 ||
        layers > NFI_MLP_MAX_LAYERS)
        return nfi_error_set(err, "MLP shape in=%zu hidden=%zu layers=%zu "
                             "classes=%zu: sizes must be >= 1 and layers at "
                             "most %d", in, hidden, layers, classes,
                             NFI_MLP_MAX_LAYERS);
    m->in = in;
    m->hidden = hidden;
    m->layers = layers;
    m->classes = classes;
    m->classifier_bias = classifier_bias;
    size_t at = 0, fan_in = in;
    for (size_t l = 0; l < layers; l++) {
        m->offset_w[l] = at;
        at += hidden * fan_in;
        m->offset_b[l] = at;
        at += hidden;
        fan_in = hidden;
    }
    m->offset_w[layers] = at;
    at += classes * hidden;
    m->offset_b[layers] = at;
    if (classifier_bias)
        at += classes;
    m->n_params = at;
    m->params = calloc(at, sizeof *m->params);
    if (m->params == NULL)
        return nfi_error_set(err, "out of memory for %zu parameters", at);
    return 0;
}

void nfi_mlp_free(nfi_mlp *m)
{
    free(m->params);
    m->params = NULL;
}

double nfi_mlp_uniform(uint64_t seed, uint64_t index)
{
    uint64_t hi = nfi_sr_bits(seed, 2 * index);
    uint64_t lo = nfi_sr_bits(seed, 2 * index + 1);
    return (double)(((hi << 32) | lo) >> 11) * 0x1p-53;
}

void nfi_mlp_init_params(nfi_mlp *m, nfi_roles *r, uint64_t seed)
{
    nfi_arith *params = &r->arith[NFI_ROLE_PARAMS];
    size_t fan_in = m->in;
    for (size_t l = 0; l <= m->layers; l++) {
        double bound = 1.0 / sqrt((double)fan_in);
        size_t end = l < m->layers ? m->offset_w[l + 1]
                     : m->classifier_bias ? m->offset_b[l] + m->classes
                                          : m->offset_b[l];
        for (size_t i = m->offset_w[l]; i < end; i++) {
            double u = nfi_mlp_uniform(seed, i);
            double v = (2.0 * u - 1.0) * bound; /* the binary64 draw */
            m->params[i] = nfi_mpfr_op_d(NFI_OP_CVT, v, 0.0, 0.0,
                                         &params->fast.format,
                                         NFI_ROUND_RNE, 0);
        }
        fan_in = m->hidden;
    }
}

int nfi_mlp_cache_init(nfi_mlp_cache *c, const nfi_mlp *m, size_t n,
                       nfi_error *err)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->x = calloc(n * m->in, sizeof *c->x);
    c->logits = calloc(n * m->classes, sizeof *c->logits);
    bool ok = c->x != NULL && c->logits != NULL;
    for (size_t l = 0; l < m->layers && ok; l++) {
        c->h[l] = calloc(n * m->hidden, sizeof *c->h[l]);
        c->z[l] = calloc(n * m->hidden, sizeof *c->z[l]);
        ok = c->h[l] != NULL && c->z[l] != NULL;
    }
    if (!ok) {
        nfi_mlp_cache_free(c);
        return nfi_error_set(err, "out of memory for a batch of %zu", n);
    }
    return 0;
}

void nfi_mlp_cache_free(nfi_mlp_cache *c)
{
    free(c->x);
    free(c->logits);
    for (size_t l = 0; l < NFI_MLP_MAX_LAYERS; l++) {
        free(c->h[l]);
        free(c->z[l]);
    }
    memset(c, 0, sizeof *c);
}

void nfi_mlp_one_hot(nfi_mlp_cache *c, const nfi_mlp *m, const uint32_t *a,
                     const uint32_t *b)
{
    size_t p = m->in / 2;
    c->real_inputs = false;
    memset(c->x, 0, c->n * m->in * sizeof *c->x);
    for (size_t i = 0; i < c->n; i++) {
        c->x[i * m->in + a[i]] = 1.0;
        c->x[i * m->in + p + b[i]] = 1.0;
    }
}

void nfi_mlp_real_inputs(nfi_mlp_cache *c, const nfi_mlp *m,
                         const nfi_roles *r, const double *x)
{
    const nfi_format *acts = &r->arith[NFI_ROLE_ACTIVATIONS].fast.format;
    c->real_inputs = true;
    for (size_t i = 0; i < c->n * m->in; i++)
        c->x[i] = nfi_mpfr_op_d(NFI_OP_CVT, x[i], 0.0, 0.0, acts,
                                NFI_ROUND_RNE, 0);
}

int nfi_mlp_forward(const nfi_mlp *m, nfi_roles *r, nfi_mlp_cache *c)
{
    nfi_arith *acc = &r->arith[NFI_ROLE_ACCUM];
    const nfi_format *params = &r->arith[NFI_ROLE_PARAMS].fast.format;
    const nfi_format *acts = &r->arith[NFI_ROLE_ACTIVATIONS].fast.format;
    const double *input = c->x;
    /* One-hot: 0 and 1, in every format */
    const nfi_format *input_format = c->real_inputs ? acts : NULL;
    size_t width = m->in;
    int status = 0;
    for (size_t l = 0; l < m->layers && status == 0; l++) {
        nfi_matrix_view x = {input, (ptrdiff_t)width, 1, input_format};
        nfi_matrix_view w = {m->params + m->offset_w[l], (ptrdiff_t)width,
                             1, params};
        if (l == 0 && !c->real_inputs)
            status = nfi_onehot_forward(acc,
                                        &r->arith[NFI_ROLE_ACTIVATIONS],
                                        &r->order, c->n, m->hidden, width,
                                        input, w.data,
                                        m->params + m->offset_b[l], params,
                                        c->z[l]);
        else
            status = nfi_matmul(acc, &r->arith[NFI_ROLE_ACTIVATIONS],
                                &r->order, c->n, m->hidden, width, x, w,
                                m->params + m->offset_b[l], params,
                                c->z[l]);
        for (size_t i = 0; i < c->n * m->hidden; i++)
            c->h[l][i] = c->z[l][i] > 0.0 || isnan(c->z[l][i])
                         ? c->z[l][i] : 0.0; /* NaN passes, as in PyTorch */
        input = c->h[l];
        input_format = acts;
        width = m->hidden;
    }
    if (status != 0)
        return status;
    nfi_matrix_view h = {input, (ptrdiff_t)width, 1, input_format};
    nfi_matrix_view w = {m->params + m->offset_w[m->layers],
                         (ptrdiff_t)width, 1, params};
    return nfi_matmul(acc, &r->arith[NFI_ROLE_LOGITS], &r->order, c->n,
                      m->classes, width, h, w,
                      m->classifier_bias ? m->params + m->offset_b[m->layers]
                                         : NULL,
                      params, c->logits);
}

/* dst = src cast from `from` into acc's format when they differ. */
static const double *into_accum(nfi_arith *acc, const nfi_format *from,
                                size_t n, const double *src, double *dst)
{
    if (nfi_format_equal(from, &acc->fast.format))
        return src;
    for (size_t i = 0; i < n; i++)
        dst[i] = nfi_arith_round(acc, src[i]);
    return dst;
}

int nfi_mlp_backward(const nfi_mlp *m, nfi_roles *r,
                     const nfi_mlp_cache *c, const double *dlogits,
                     double *grad, double *scratch)
{
    nfi_arith *acc = &r->arith[NFI_ROLE_ACCUM];
    nfi_arith *grads = &r->arith[NFI_ROLE_GRADS];
    const nfi_format *params = &r->arith[NFI_ROLE_PARAMS].fast.format;
    const nfi_format *acts = &r->arith[NFI_ROLE_ACTIVATIONS].fast.format;
    size_t n = c->n, hw = m->hidden;
    size_t widest = hw > m->classes ? hw : m->classes;
    double *buf[2] = {scratch, scratch + n * widest};

    /* d: the gradient arriving at the current layer's output, in the
     * accum format; first the logit gradient. */
    size_t out = m->classes;
    const double *d = into_accum(acc, &r->arith[NFI_ROLE_LOGITS].fast.format,
                                 n * out, dlogits, buf[0]);
    for (size_t l = m->layers + 1; l-- > 0;) {
        const double *input = l == 0 ? c->x : c->h[l - 1];
        size_t width = l == 0 ? m->in : hw;
        /* weight gradient dW[o][i] = sum_s d[s][o] x[s][i] */
        nfi_matrix_view dt = {d, 1, (ptrdiff_t)out, NULL};
        nfi_matrix_view xt = {input, 1, (ptrdiff_t)width,
                              l == 0 && !c->real_inputs ? NULL : acts};
        int status = l == 0 && !c->real_inputs
            ? nfi_onehot_weight_grad(acc, grads, &r->order, n, out, width,
                                     d, input, grad + m->offset_w[l])
            : nfi_matmul(acc, grads, &r->order, out, width, n, dt, xt, NULL,
                         NULL, grad + m->offset_w[l]);
        if (status != 0)
            return -1;
        if (l < m->layers || m->classifier_bias)
            nfi_column_sums(acc, grads, &r->order, n, out, d,
                            grad + m->offset_b[l]);
        if (l == 0)
            break;
        /* input gradient dX[s][i] = sum_o d[s][o] W[o][i] (grads format),
         * then the ReLU mask of the layer below (exact), then a cast into
         * the accum format for the next products. */
        double *dh = d == buf[0] ? buf[1] : buf[0];
        nfi_matrix_view dv = {d, (ptrdiff_t)out, 1, NULL};
        nfi_matrix_view wt = {m->params + m->offset_w[l], 1,
                              (ptrdiff_t)width, params};
        if (nfi_matmul(acc, grads, &r->order, n, width, out, dv, wt, NULL,
                       NULL, dh) != 0)
            return -1;
        for (size_t i = 0; i < n * width; i++)
            dh[i] = c->z[l - 1][i] > 0.0 ? dh[i] : 0.0;
        double *other = dh == buf[0] ? buf[1] : buf[0];
        d = into_accum(acc, &grads->fast.format, n * width, dh, other);
        out = width;
    }
    return 0;
}

const double *nfi_mlp_features(const nfi_mlp *m, const nfi_mlp_cache *c,
                               size_t i)
{
    return c->h[m->layers - 1] + i * m->hidden;
}
