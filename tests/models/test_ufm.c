/* Tests of models/ufm (the unconstrained features model).
 *
 * 1. Fast against twin: forward and backward on the fast engines and on
 *    the MPFR engine (nfi_roles_init with reference = true), with and
 *    without a bias, for several policies (binary32; bfloat16 with a
 *    binary32 accumulator; p = 11 with a small exponent range, where
 *    gradients fall into the subnormals; mixed roles), reduction orders
 *    and every rounding mode (SR among them): logits, gradients and the
 *    stochastic counters of every role, bit for bit.
 * 2. The linear algebra, exactly: in binary64 with the exact order, the
 *    forward pass is RN(RN(exact H W^T) + b) and the backward pass is
 *    RN(exact dY^T H), RN(exact column sums), RN(exact dY W) for any dY,
 *    bit for bit against exact sums (GMP).
 * 3. The derivative: the whole binary64 pipeline (forward, logsoftmax
 *    cross-entropy, backward) against the gradient of the mean
 *    cross-entropy loss computed by MPFR at 256 bits, by central
 *    differences with step 2^-70 (truncation error below 2^-120 relative
 *    to the gradient's scale, far below binary64's), within a bound
 *    derived from the rounding errors of the pipeline (see bound_of).
 * 4. Initialisation: H is the stream's standard normals rounded to
 *    nearest into the params format, W and b lie within +-1/sqrt(d), the
 *    same real point in every format, and neither W nor the first rows
 *    of H depend on N.
 * 5. Layout and shape errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mpfr.h>

#include "draw.h"
#include "gaussian.h"
#include "harness.h"
#include "reduce.h"
#include "softmax_ce.h"
#include "ufm.h"

#define N 6
#define D 5
#define K 4

static const uint32_t labels[N] = {1, 3, 0, 2, 2, 1};

static void setup(nfi_ufm *m, nfi_roles *r, const char *base,
                  const char *overrides, const char *order, nfi_round mode,
                  bool reference, bool bias, size_t n)
{
    nfi_policy pol;
    nfi_reduction red;
    nfi_error err;
    if (nfi_policy_parse(base, overrides, &pol, &err) != 0 ||
        nfi_reduction_parse(order, &red, &err) != 0 ||
        nfi_roles_init(r, &pol, mode, 7, &red, reference, &err) != 0 ||
        nfi_ufm_init(m, n, D, K, bias, &err) != 0 ||
        nfi_ufm_init_params(m, r, 11, &err) != 0) {
        check_true(false, "setup: %s", err.message);
        exit(harness_finish() ? 1 : 1);
    }
}

/* Logits, then the logit gradients of the mean cross-entropy (scheme
 * logsoftmax) into dl; returns the mean loss in binary64. */
static double forward_ce(nfi_ufm *m, nfi_roles *r, double *logits,
                         double *dl)
{
    nfi_ufm_forward(m, r, logits);
    double total = 0.0;
    for (size_t i = 0; i < m->n; i++) {
        nfi_ce_sample s;
        nfi_ce_sample_eval(&r->arith[NFI_ROLE_LOGITS], NFI_CE_LOGSOFTMAX,
                           &r->order, K, logits + i * K, labels[i % N],
                           m->n, dl + i * K, &s, NULL);
        total += s.loss;
    }
    return total / (double)m->n;
}

static void test_twins(void)
{
    static const char *const policies[][2] = {
        {"binary32", ""},
        {"bfloat16", "accum=binary32"},
        {"p=11,emin=-6,emax=3", ""},
        {"binary32", "logits=binary64,grads=bfloat16,accum=binary64"},
        {"bfloat16", "params=binary32,logits=p=11,emin=-6,emax=3"}};
    static const char *const orders[] = {"sequential", "pairwise", "lanes:4",
                                         "exact"};
    size_t np = sizeof policies / sizeof policies[0];
    size_t compared = 0;
    for (size_t pi = 0; pi < np; pi++) {
        for (size_t o = 0; o < 4; o++) {
            for (int mode = 0; mode < NFI_ROUND_COUNT; mode++) {
                for (int bias = 0; bias < 2; bias++) {
                    nfi_ufm ma, mb;
                    nfi_roles ra, rb;
                    setup(&ma, &ra, policies[pi][0], policies[pi][1],
                          orders[o], (nfi_round)mode, false, bias, N);
                    setup(&mb, &rb, policies[pi][0], policies[pi][1],
                          orders[o], (nfi_round)mode, true, bias, N);
                    double za[N * K], zb[N * K], dla[N * K], dlb[N * K];
                    double la = forward_ce(&ma, &ra, za, dla);
                    double lb = forward_ce(&mb, &rb, zb, dlb);
                    double *ga = calloc(ma.n_params, sizeof *ga);
                    double *gb = calloc(mb.n_params, sizeof *gb);
                    double sa[N * K], sb[N * K];
                    nfi_ufm_backward(&ma, &ra, dla, ga, sa);
                    nfi_ufm_backward(&mb, &rb, dlb, gb, sb);
                    bool same = same_double(la, lb);
                    for (size_t i = 0; i < N * K; i++)
                        same = same && same_double(za[i], zb[i]);
                    for (size_t i = 0; i < ma.n_params; i++)
                        same = same && same_double(ga[i], gb[i]) &&
                               same_double(ma.params[i], mb.params[i]);
                    for (int role = 0; role < NFI_ROLE_COUNT; role++)
                        same = same && ra.arith[role].fast.counter ==
                                           rb.arith[role].fast.counter;
                    check_true(same, "policy %s/%s order %s mode %s bias "
                               "%d: fast and twin differ (loss %a vs %a)",
                               policies[pi][0], policies[pi][1], orders[o],
                               nfi_round_name((nfi_round)mode), bias, la,
                               lb);
                    compared++;
                    free(ga);
                    free(gb);
                    nfi_ufm_free(&ma);
                    nfi_ufm_free(&mb);
                }
            }
        }
    }
    check_true(compared == np * 4 * NFI_ROUND_COUNT * 2,
               "twin comparisons: %zu", compared);

    /* The small range is exercised: some gradient is subnormal in
     * p=11,emin=-6 (below 2^-6) in some configuration. */
    nfi_ufm m;
    nfi_roles r;
    setup(&m, &r, "p=11,emin=-6,emax=3", "", "sequential", NFI_ROUND_RNE,
          false, true, N);
    double z[N * K], dl[N * K], s[N * K];
    double *g = calloc(m.n_params, sizeof *g);
    forward_ce(&m, &r, z, dl);
    nfi_ufm_backward(&m, &r, dl, g, s);
    size_t tiny = 0;
    for (size_t i = 0; i < m.n_params; i++)
        tiny += g[i] != 0 && fabs(g[i]) < 0x1p-6;
    check_true(tiny > 0, "p=11,emin=-6: %zu subnormal gradients", tiny);
    free(g);
    nfi_ufm_free(&m);
}

/* RN(sum_i a[i * sa] b[i * sb]) computed exactly. */
static double exact_dot(size_t n, const double *a, size_t sa,
                        const double *b, size_t sb)
{
    nfi_exact_sum s;
    nfi_exact_sum_init(&s);
    for (size_t i = 0; i < n; i++)
        nfi_exact_sum_add_product(&s, a[i * sa], b[i * sb]);
    double r = nfi_exact_sum_get_d(&s);
    nfi_exact_sum_clear(&s);
    return r;
}

static void test_exact_linear_algebra(void)
{
    nfi_ufm m;
    nfi_roles r;
    setup(&m, &r, "binary64", "", "exact", NFI_ROUND_RNE, false, true, N);
    const double *h = m.params + m.offset_h, *w = m.params + m.offset_w;
    const double *b = m.params + m.offset_b;
    double z[N * K];
    nfi_ufm_forward(&m, &r, z);
    bool ok = true;
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < K; k++)
            ok = ok && same_double(z[i * K + k],
                                   exact_dot(D, h + i * D, 1, w + k * D, 1) +
                                       b[k]);
    check_true(ok, "binary64, exact order: logits = RN(RN(H W^T) + b)");

    /* Any dY: values of several magnitudes and signs. */
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    double dy[N * K], s[N * K];
    for (size_t i = 0; i < N * K; i++)
        dy[i] = ldexp(rng_unit(&rng) - 0.5, (int)rng_range(&rng, -30, 5));
    double *g = calloc(m.n_params, sizeof *g);
    nfi_ufm_backward(&m, &r, dy, g, s);
    bool gw = true, gb = true, gh = true;
    for (size_t k = 0; k < K; k++) {
        for (size_t t = 0; t < D; t++)
            gw = gw && same_double(g[m.offset_w + k * D + t],
                                   exact_dot(N, dy + k, K, h + t, D));
        double one = 1.0;
        nfi_exact_sum sum;
        nfi_exact_sum_init(&sum);
        for (size_t i = 0; i < N; i++)
            nfi_exact_sum_add_product(&sum, dy[i * K + k], one);
        gb = gb && same_double(g[m.offset_b + k],
                               nfi_exact_sum_get_d(&sum));
        nfi_exact_sum_clear(&sum);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t t = 0; t < D; t++)
            gh = gh && same_double(g[m.offset_h + i * D + t],
                                   exact_dot(K, dy + i * K, 1, w + t, D));
    check_true(gw, "binary64, exact order: dW = RN(exact dY^T H)");
    check_true(gb, "binary64, exact order: db = RN(exact column sums)");
    check_true(gh, "binary64, exact order: dH = RN(exact dY W)");
    free(g);
    nfi_ufm_free(&m);
}

/* The mean cross-entropy loss of parameters p (MPFR, precision of out),
 * computed at that precision: z = H W^T + b, log sum exp z - z_y. */
static void mpfr_loss(mpfr_t out, const nfi_ufm *m, mpfr_t *p)
{
    mpfr_prec_t prec = mpfr_get_prec(out);
    mpfr_t z[K], t, s;
    for (size_t k = 0; k < K; k++)
        mpfr_init2(z[k], prec);
    mpfr_inits2(prec, t, s, (mpfr_ptr)0);
    mpfr_set_zero(out, 1);
    for (size_t i = 0; i < m->n; i++) {
        for (size_t k = 0; k < K; k++) {
            if (m->bias)
                mpfr_set(z[k], p[m->offset_b + k], MPFR_RNDN);
            else
                mpfr_set_zero(z[k], 1);
            for (size_t c = 0; c < D; c++)
                mpfr_fma(z[k], p[m->offset_h + i * D + c],
                         p[m->offset_w + k * D + c], z[k], MPFR_RNDN);
        }
        mpfr_set_zero(s, 1);
        for (size_t k = 0; k < K; k++) {
            mpfr_exp(t, z[k], MPFR_RNDN);
            mpfr_add(s, s, t, MPFR_RNDN);
        }
        mpfr_log(s, s, MPFR_RNDN);
        mpfr_sub(s, s, z[labels[i]], MPFR_RNDN);
        mpfr_add(out, out, s, MPFR_RNDN);
    }
    mpfr_div_ui(out, out, (unsigned long)m->n, MPFR_RNDN);
    for (size_t k = 0; k < K; k++)
        mpfr_clear(z[k]);
    mpfr_clears(t, s, (mpfr_ptr)0);
}

/* The error bound of the binary64 pipeline (u = 2^-53; exact order, so
 * every dot product and sum rounds once).  For sample s with true
 * logits z*, probabilities p = softmax(z*), Z = max_j (|H_s . W_j| +
 * |b_j|), D = max_j |z_j - max z|, L = |log sum exp(z - max z)|:
 *   logits     |dz_j| <= 2u Z (the dot product, then + b)
 *   d_j        |dd_j| <= 4u Z + u D (both logits, then the subtraction)
 *   p_j = exp(d_j - l) has relative error at most
 *              |dd| + |dl| + u |out_j| + u, with |dl| <= |dd| + 2u + u L,
 *              so rel(p) <= u (8 Z + 3 D + 2 L + 3);
 *   the gradient (p_j - [j = y]) / N, formed as g_j - RN(p_j RN(-1/N)),
 *   adds at most 4u (p_j + [j = y]) / N.  Hence
 *     |grad_sj - G*_sj| <= E_s (p_sj + [j = y_s]) / N,
 *     E_s = u (8 Z + 3 D + 2 L + 7).
 * A parameter gradient sums such terms times parameters (exactly, then
 * one rounding): its error is at most the sum of |term errors| plus
 * u |result|.  The bound is computed with the binary64 logits and
 * probabilities in place of the true ones and then enlarged by 1/4 to
 * cover those second-order differences (relative size ~ 1e-15). */
static void bound_of(const nfi_ufm *m, const double *z, const double *g,
                     double *bound)
{
    const double u = 0x1p-53;
    const double *h = m->params + m->offset_h, *w = m->params + m->offset_w;
    double e[N], p[N * K];
    for (size_t i = 0; i < N; i++) {
        double zmax = -INFINITY, big = 0, s = 0, dmax = 0;
        for (size_t k = 0; k < K; k++) {
            double dot = 0;
            for (size_t c = 0; c < D; c++)
                dot += fabs(h[i * D + c] * w[k * D + c]);
            if (m->bias)
                dot += fabs(m->params[m->offset_b + k]);
            big = fmax(big, dot);
            zmax = fmax(zmax, z[i * K + k]);
        }
        for (size_t k = 0; k < K; k++) {
            dmax = fmax(dmax, zmax - z[i * K + k]);
            s += exp(z[i * K + k] - zmax);
        }
        for (size_t k = 0; k < K; k++)
            p[i * K + k] = exp(z[i * K + k] - zmax) / s;
        e[i] = u * (8 * big + 3 * dmax + 2 * fabs(log(s)) + 7);
    }
    /* a[i][k]: the bound of the logit gradient error, times N */
    double a[N * K];
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < K; k++)
            a[i * K + k] = e[i] * (p[i * K + k] + (labels[i] == k)) / N;
    for (size_t k = 0; k < K; k++) {
        for (size_t c = 0; c < D; c++) {
            double sum = 0;
            for (size_t i = 0; i < N; i++)
                sum += a[i * K + k] * fabs(h[i * D + c]);
            size_t j = m->offset_w + k * D + c;
            bound[j] = sum + u * fabs(g[j]);
        }
        if (m->bias) {
            double sum = 0;
            for (size_t i = 0; i < N; i++)
                sum += a[i * K + k];
            size_t j = m->offset_b + k;
            bound[j] = sum + u * fabs(g[j]);
        }
    }
    for (size_t i = 0; i < N; i++) {
        for (size_t c = 0; c < D; c++) {
            double sum = 0;
            for (size_t k = 0; k < K; k++)
                sum += a[i * K + k] * fabs(w[k * D + c]);
            size_t j = m->offset_h + i * D + c;
            bound[j] = sum + u * fabs(g[j]);
        }
    }
    for (size_t j = 0; j < m->n_params; j++)
        bound[j] *= 1.25;
}

static void test_gradient(bool bias)
{
    nfi_ufm m;
    nfi_roles r;
    setup(&m, &r, "binary64", "", "exact", NFI_ROUND_RNE, false, bias, N);
    /* Spread the logits: larger classifier weights. */
    for (size_t j = m.offset_w; j < m.n_params; j++)
        m.params[j] *= 4;
    double z[N * K], dl[N * K], s[N * K];
    double *g = calloc(m.n_params, sizeof *g);
    double *bound = calloc(m.n_params, sizeof *bound);
    forward_ce(&m, &r, z, dl);
    nfi_ufm_backward(&m, &r, dl, g, s);
    bound_of(&m, z, g, bound);

    const mpfr_prec_t prec = 256;
    mpfr_t *p = malloc(m.n_params * sizeof *p);
    for (size_t j = 0; j < m.n_params; j++) {
        mpfr_init2(p[j], prec);
        mpfr_set_d(p[j], m.params[j], MPFR_RNDN);
    }
    mpfr_t up, down, step;
    mpfr_inits2(prec, up, down, step, (mpfr_ptr)0);
    double worst = 0, worst_scale = 0;
    bool ok = true;
    for (size_t j = 0; j < m.n_params; j++) {
        mpfr_add_d(p[j], p[j], 0x1p-70, MPFR_RNDN); /* exact at 256 bits */
        mpfr_loss(up, &m, p);
        mpfr_set_d(p[j], m.params[j], MPFR_RNDN);
        mpfr_sub_d(p[j], p[j], 0x1p-70, MPFR_RNDN);
        mpfr_loss(down, &m, p);
        mpfr_set_d(p[j], m.params[j], MPFR_RNDN);
        mpfr_sub(step, up, down, MPFR_RNDN);
        mpfr_mul_2si(step, step, 69, MPFR_RNDN); /* / (2 h) */
        double exact = mpfr_get_d(step, MPFR_RNDN);
        double err = fabs(g[j] - exact);
        if (!(err <= bound[j]))
            ok = false;
        worst = fmax(worst, err / bound[j]);
        worst_scale = fmax(worst_scale, fabs(exact));
    }
    check_true(ok, "bias %d: binary64 gradient of %zu parameters against "
               "MPFR's at 256 bits: worst error / bound %g", bias,
               m.n_params, worst);
    /* The check has teeth: the bounds are tiny next to the gradients. */
    double widest = 0;
    for (size_t j = 0; j < m.n_params; j++)
        widest = fmax(widest, bound[j]);
    check_true(widest < 1e-13 * worst_scale, "bias %d: bounds up to %g for "
               "gradients up to %g", bias, widest, worst_scale);
    for (size_t j = 0; j < m.n_params; j++)
        mpfr_clear(p[j]);
    mpfr_clears(up, down, step, (mpfr_ptr)0);
    free(p);
    free(g);
    free(bound);
    nfi_ufm_free(&m);
}

static void test_init_and_layout(void)
{
    nfi_ufm m64, m16, mbig;
    nfi_roles r64, r16, rbig;
    setup(&m64, &r64, "binary64", "", "sequential", NFI_ROUND_RNE, false,
          true, N);
    setup(&m16, &r16, "bfloat16", "", "sequential", NFI_ROUND_SR, false,
          true, N);
    setup(&mbig, &rbig, "binary64", "", "sequential", NFI_ROUND_RNE, false,
          true, 3 * N);
    check_true(m64.n_params == N * D + K * D + K && m64.offset_h == 0 &&
                   m64.offset_w == N * D && m64.offset_b == N * D + K * D,
               "layout H, W, b: %zu parameters", m64.n_params);
    check_true(nfi_ufm_features(&m64, 2) == m64.params + 2 * D,
               "features of sample 2 = row 2 of H");

    double normals[N * D];
    nfi_error err;
    nfi_gaussian_normals(nfi_draw_key(11, NFI_UFM_TAG_FEATURES), 0, N * D,
                         normals, &err);
    bool h_ok = true;
    for (size_t i = 0; i < N * D; i++)
        h_ok = h_ok && same_double(m64.params[i], normals[i]);
    check_true(h_ok, "H = the stream's standard normals (binary64)");

    bool inside = true, same_draw = true, no_n = true, spread = false;
    for (size_t i = 0; i < m64.n_params; i++) {
        if (i >= m64.offset_w)
            inside = inside && fabs(m64.params[i]) <= 1 / sqrt((double)D);
        double want = nfi_mpfr_op_d(NFI_OP_CVT, m64.params[i], 0, 0,
                                    &r16.arith[0].fast.format, NFI_ROUND_RNE,
                                    0);
        same_draw = same_draw && same_double(want, m16.params[i]);
        size_t j = i < m64.offset_w ? i : i - m64.offset_w + mbig.offset_w;
        no_n = no_n && same_double(m64.params[i], mbig.params[j]);
        spread = spread || (i < m64.offset_w && fabs(m64.params[i]) > 1);
    }
    check_true(inside, "W and b within +-1/sqrt(d)");
    check_true(spread, "H is not uniform on +-1/sqrt(d): some |h| > 1");
    check_true(same_draw, "bfloat16 start (SR run) = binary64 start "
               "rounded to nearest");
    check_true(no_n, "W, b and the first N rows of H do not depend on N");
    for (int role = 0; role < NFI_ROLE_COUNT; role++)
        check_true(r16.arith[role].fast.counter == 0,
                   "initialisation takes no stochastic index");
    nfi_ufm_free(&m64);
    nfi_ufm_free(&m16);
    nfi_ufm_free(&mbig);

    nfi_ufm bad;
    err.message[0] = '\0';
    check_true(nfi_ufm_init(&bad, N, 0, K, false, &err) == -1 &&
                   strstr(err.message, "d=0") != NULL,
               "zero feature width refused: '%s'", err.message);
    check_true(nfi_ufm_init(&bad, (size_t)1 << 62, 1 << 10, K, false,
                            &err) == -1 &&
                   strstr(err.message, "too many") != NULL,
               "overflowing shape refused: '%s'", err.message);
}

int main(void)
{
    harness_init("test_ufm", 1);
    test_twins();
    test_exact_linear_algebra();
    test_gradient(false);
    test_gradient(true);
    test_init_and_layout();
    return harness_finish();
}
