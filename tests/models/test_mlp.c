/* Tests of models/mlp.
 *
 * 1. Gradient check in binary64: the backward pass against central
 *    finite differences of the mean cross-entropy loss (logsoftmax
 *    scheme), on a small two-layer MLP with a classifier bias.
 * 2. Forward and backward on the fast engine against the twin (the same
 *    code on the MPFR engine), for several policies, reduction orders and
 *    every mode, bit for bit, with equal stochastic counters per role.
 * 3. Initialisation: inside +-1/sqrt(fan_in), and the same real draw in
 *    every format (the bfloat16 parameters are the binary64 ones rounded
 *    to nearest).
 * 4. The parameter layout follows nn.Linear: W (out, in), then b. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mlp.h"
#include "softmax_ce.h"

#define P 5
#define BATCH 6

static void setup(nfi_mlp *m, nfi_roles *r, const char *base,
                  const char *overrides, const char *order, nfi_round mode,
                  bool reference, size_t layers)
{
    nfi_policy pol;
    nfi_reduction red;
    nfi_error err;
    if (nfi_policy_parse(base, overrides, &pol, &err) != 0 ||
        nfi_reduction_parse(order, &red, &err) != 0 ||
        nfi_roles_init(r, &pol, mode, 7, &red, reference, &err) != 0 ||
        nfi_mlp_init(m, 2 * P, 7, layers, P, true, &err) != 0) {
        check_true(false, "setup: %s", err.message);
        exit(harness_finish() ? 1 : 1);
    }
    nfi_mlp_init_params(m, r, 11);
}

/* Mean loss over the batch, and the logit gradients when dl != NULL. */
static double loss_of(nfi_mlp *m, nfi_roles *r, nfi_mlp_cache *c,
                      const uint32_t *y, double *dl)
{
    nfi_mlp_forward(m, r, c);
    double total = 0.0, g[P];
    for (size_t i = 0; i < BATCH; i++) {
        nfi_ce_sample s;
        nfi_ce_sample_eval(&r->arith[NFI_ROLE_LOGITS], NFI_CE_LOGSOFTMAX,
                           &r->order, P, c->logits + i * P, y[i], BATCH,
                           dl ? dl + i * P : g, &s, NULL);
        total += s.loss;
    }
    return total / BATCH;
}

static void test_gradient(void)
{
    nfi_mlp m;
    nfi_roles r;
    setup(&m, &r, "binary64", "", "sequential", NFI_ROUND_RNE, false, 2);
    nfi_mlp_cache c;
    nfi_mlp_cache_init(&c, &m, BATCH, NULL);
    uint32_t a[BATCH] = {0, 1, 2, 3, 4, 2}, b[BATCH] = {1, 3, 0, 4, 2, 2};
    uint32_t y[BATCH] = {1, 4, 2, 2, 1, 4};
    nfi_mlp_one_hot(&c, &m, a, b);
    double *grad = calloc(m.n_params, sizeof *grad);
    double *scratch = calloc(2 * BATCH * 7, sizeof *scratch);
    double dl[BATCH * P];
    loss_of(&m, &r, &c, y, dl);
    nfi_mlp_backward(&m, &r, &c, dl, grad, scratch);
    double worst = 0.0;
    for (size_t i = 0; i < m.n_params; i++) {
        double keep = m.params[i], h = 1e-6;
        m.params[i] = keep + h;
        double up = loss_of(&m, &r, &c, y, NULL);
        m.params[i] = keep - h;
        double down = loss_of(&m, &r, &c, y, NULL);
        m.params[i] = keep;
        double numeric = (up - down) / (2 * h);
        double err = fabs(numeric - grad[i]) / (1e-6 + fabs(numeric));
        if (err > worst)
            worst = err;
    }
    check_true(worst < 1e-5, "binary64 gradient check over %zu parameters: "
               "worst relative error %g", m.n_params, worst);
    free(grad);
    free(scratch);
    nfi_mlp_cache_free(&c);
    nfi_mlp_free(&m);
}

static void test_twins(void)
{
    static const char *const policies[][2] = {
        {"binary32", ""}, {"bfloat16", "accum=binary32"},
        {"binary16", "logits=binary64,grads=binary32"},
        {"p=20,emin=-126,emax=127", "activations=bfloat16"},
        {"bfloat16", "params=binary64,activations=binary32"}};
    static const char *const orders[] = {"sequential", "pairwise", "lanes:8",
                                         "exact"};
    uint32_t a[BATCH] = {0, 1, 2, 3, 4, 2}, b[BATCH] = {1, 3, 0, 4, 2, 2};
    uint32_t y[BATCH] = {1, 4, 2, 2, 1, 4};
    for (size_t pi = 0; pi < 5; pi++) {
        for (size_t o = 0; o < 4; o++) {
            for (int mode = 0; mode < NFI_ROUND_COUNT; mode += 1) {
                nfi_mlp ma, mb;
                nfi_roles ra, rb;
                setup(&ma, &ra, policies[pi][0], policies[pi][1], orders[o],
                      (nfi_round)mode, false, 2);
                setup(&mb, &rb, policies[pi][0], policies[pi][1], orders[o],
                      (nfi_round)mode, true, 2);
                nfi_mlp_cache ca, cb;
                nfi_mlp_cache_init(&ca, &ma, BATCH, NULL);
                nfi_mlp_cache_init(&cb, &mb, BATCH, NULL);
                nfi_mlp_one_hot(&ca, &ma, a, b);
                nfi_mlp_one_hot(&cb, &mb, a, b);
                double dla[BATCH * P], dlb[BATCH * P];
                double la = loss_of(&ma, &ra, &ca, y, dla);
                double lb = loss_of(&mb, &rb, &cb, y, dlb);
                double *ga = calloc(ma.n_params, sizeof *ga);
                double *gb = calloc(mb.n_params, sizeof *gb);
                double *sa = calloc(2 * BATCH * 7, sizeof *sa);
                double *sb = calloc(2 * BATCH * 7, sizeof *sb);
                nfi_mlp_backward(&ma, &ra, &ca, dla, ga, sa);
                nfi_mlp_backward(&mb, &rb, &cb, dlb, gb, sb);
                bool same = same_double(la, lb);
                for (size_t i = 0; i < BATCH * P; i++)
                    same = same && same_double(ca.logits[i], cb.logits[i]);
                for (size_t i = 0; i < ma.n_params; i++)
                    same = same && same_double(ga[i], gb[i]) &&
                           same_double(ma.params[i], mb.params[i]);
                for (int role = 0; role < NFI_ROLE_COUNT; role++)
                    same = same && ra.arith[role].fast.counter ==
                                       rb.arith[role].fast.counter;
                check_true(same, "policy %s/%s order %s mode %s: fast and "
                           "twin differ (loss %a vs %a)", policies[pi][0],
                           policies[pi][1], orders[o],
                           nfi_round_name((nfi_round)mode), la, lb);
                free(ga);
                free(gb);
                free(sa);
                free(sb);
                nfi_mlp_cache_free(&ca);
                nfi_mlp_cache_free(&cb);
                nfi_mlp_free(&ma);
                nfi_mlp_free(&mb);
            }
        }
    }
}

static void test_init_and_layout(void)
{
    nfi_mlp m64, m16;
    nfi_roles r64, r16;
    setup(&m64, &r64, "binary64", "", "sequential", NFI_ROUND_RNE, false, 1);
    setup(&m16, &r16, "bfloat16", "", "sequential", NFI_ROUND_RNE, false, 1);
    /* in = 10, H = 7, K = 5: W1 70, b1 7, W2 35, b2 5 */
    check_true(m64.n_params == 70 + 7 + 35 + 5 && m64.offset_b[0] == 70 &&
                   m64.offset_w[1] == 77 && m64.offset_b[1] == 112,
               "layout of a one-layer MLP: %zu parameters", m64.n_params);
    bool inside = true, same_draw = true;
    for (size_t i = 0; i < m64.n_params; i++) {
        double bound = i < 77 ? 1 / sqrt(10.0) : 1 / sqrt(7.0);
        inside = inside && fabs(m64.params[i]) <= bound;
        double want = nfi_mpfr_op_d(NFI_OP_CVT, m64.params[i], 0, 0,
                                    &r16.arith[0].fast.format, NFI_ROUND_RNE,
                                    0);
        same_draw = same_draw && same_double(want, m16.params[i]);
    }
    check_true(inside, "initial values within +-1/sqrt(fan_in)");
    check_true(same_draw, "bfloat16 start = binary64 start rounded");
    nfi_mlp_free(&m64);
    nfi_mlp_free(&m16);
    nfi_mlp bad;
    nfi_error err = {{0}};
    check_true(nfi_mlp_init(&bad, 10, 0, 1, 5, false, &err) == -1 &&
                   strstr(err.message, "hidden=0") != NULL,
               "zero hidden width refused: '%s'", err.message);
}

int main(void)
{
    harness_init("test_mlp", 1);
    test_gradient();
    test_twins();
    test_init_and_layout();
    return harness_finish();
}
