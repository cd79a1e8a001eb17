/* Tests of sim/optim and sim/policy.
 *
 * 1. binary64 with RNE: nfi's optimizers against a plain C restatement of
 *    the operation sequence written in sim/optim.h (C double arithmetic
 *    is binary64 RNE, so the results must agree bit for bit) for SGD with
 *    momentum and weight decay, Adam with L2 decay, and AdamW.
 * 2. The optimizers' fast kernels against their twin on the MPFR engine
 *    for several policies (optim and params formats apart) and every mode
 *    incl. stochastic rounding.
 * 2b. Adam's four-lane kernel (no weight decay, one format for optim,
 *    params and grads, RNE) against the twin element by element, over
 *    203 and 207 elements (tails of three; the lanes take two blocks
 *    of four at a time) and 12 steps, with zeros, subnormal
 *    and huge values, infinities and NaNs among the gradients and
 *    parameters, and eps = 0 (so that a zero second moment divides by
 *    zero): the flagged blocks take the scalar route.  Later steps take
 *    gradients near 2^emin, whose moments and updates are subnormal
 *    (rounded in the lanes where the format has subnormals); p from 3 to
 *    25.
 * 3. Adam's first step moves every parameter by about lr (m/sqrt(v) =
 *    sign(g) after bias correction).
 * 4. Hyperparameter checks, and policy parsing: role overrides whose
 *    specifications contain commas, duplicates, unknown roles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mpfr.h>

#include "harness.h"
#include "optim.h"
#include "policy.h"

#define N 64

static double pow_rn(double beta, long t)
{
    mpfr_t x;
    mpfr_init2(x, 53);
    mpfr_set_d(x, beta, MPFR_RNDN);
    mpfr_pow_si(x, x, t, MPFR_RNDN);
    double r = mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(x);
    return r;
}

/* The sequences of sim/optim.h, restated with C doubles. */
static void plain_step(const nfi_optim_config *c, long t, double *p,
                       const double *g, double *m, double *v)
{
    for (size_t i = 0; i < N; i++) {
        if (c->kind == NFI_OPTIM_SGD) {
            double d = g[i];
            if (c->weight_decay != 0)
                d = d + c->weight_decay * p[i];
            if (c->momentum != 0) {
                m[i] = t == 1 ? d : c->momentum * m[i] + d;
                d = m[i];
            }
            p[i] = p[i] - c->lr * d;
            continue;
        }
        if (c->kind == NFI_OPTIM_ADAMW && c->weight_decay != 0)
            p[i] = p[i] * (1.0 - c->lr * c->weight_decay);
        double d = g[i];
        if (c->kind == NFI_OPTIM_ADAM && c->weight_decay != 0)
            d = d + c->weight_decay * p[i];
        m[i] = c->beta1 * m[i] + (1.0 - c->beta1) * d;
        v[i] = c->beta2 * v[i] + (1.0 - c->beta2) * (d * d);
        double bc1 = 1.0 - pow_rn(c->beta1, t);
        double bc2 = 1.0 - pow_rn(c->beta2, t);
        double denom = sqrt(v[i]) / sqrt(bc2) + c->eps;
        p[i] = p[i] - (c->lr / bc1) * (m[i] / denom);
    }
}

static const nfi_optim_config configs[] = {
    {NFI_OPTIM_SGD, 0.1, 0, 0, 0, 0, 0},
    {NFI_OPTIM_SGD, 0.05, 0, 0, 0, 0.01, 0.9},
    {NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0, 0},
    {NFI_OPTIM_ADAM, 1e-3, 0.8, 0.99, 1e-5, 0.1, 0},
    {NFI_OPTIM_ADAMW, 1e-2, 0.9, 0.98, 1e-8, 0.05, 0},
};

#define N_CONFIGS (sizeof configs / sizeof configs[0])

static void test_against_plain(void)
{
    nfi_format f = harness_format("binary64");
    test_rng g;
    rng_init(&g, harness_seed(), 1);
    for (size_t k = 0; k < N_CONFIGS; k++) {
        nfi_arith o, pa;
        nfi_arith_init(&o, &f, NFI_ROUND_RNE, 0, false, NULL);
        nfi_arith_init(&pa, &f, NFI_ROUND_RNE, 0, false, NULL);
        nfi_optim_state s;
        nfi_optim_state_init(&s, N, NULL);
        double p[N], q[N], grad[N], m[N] = {0}, v[N] = {0};
        for (size_t i = 0; i < N; i++)
            p[i] = q[i] = rng_unit(&g) - 0.5;
        for (long t = 1; t <= 12; t++) {
            for (size_t i = 0; i < N; i++)
                grad[i] = ldexp(rng_unit(&g) - 0.5, (int)rng_range(&g, -9, 2));
            nfi_optim_step(&configs[k], &o, &pa, &f, &s, p, grad);
            plain_step(&configs[k], t, q, grad, m, v);
        }
        bool same = true;
        for (size_t i = 0; i < N; i++)
            same = same && same_double(p[i], q[i]);
        check_true(same, "binary64 %s config %zu: nfi and the plain "
                   "restatement differ after 12 steps (p[0] %a vs %a)",
                   nfi_optim_kind_name(configs[k].kind), k, p[0], q[0]);
        nfi_optim_state_free(&s);
    }
}

static void test_twins(void)
{
    static const char *const policies[][2] = {
        {"binary32", ""}, {"bfloat16", "optim=binary32"},
        {"binary16", "optim=p=20,emin=-126,emax=127"},
        {"p=40,emin=-126,emax=127", ""}, {"e5m2", "optim=bfloat16"},
        {"bfloat16", "optim=binary64"}, {"binary64", "optim=bfloat16"}};
    test_rng g;
    rng_init(&g, harness_seed(), 2);
    for (size_t pi = 0; pi < sizeof policies / sizeof policies[0]; pi++) {
        nfi_policy pol;
        nfi_error err;
        if (nfi_policy_parse(policies[pi][0], policies[pi][1], &pol, &err)) {
            check_true(false, "policy: %s", err.message);
            continue;
        }
        for (int mode = 0; mode < NFI_ROUND_COUNT; mode++) {
            for (size_t k = 0; k < N_CONFIGS; k++) {
                uint64_t seed = rng_next(&g);
                nfi_arith of, pf, orf, prf;
                const nfi_format *fo = &pol.format[NFI_ROLE_OPTIM];
                const nfi_format *fp = &pol.format[NFI_ROLE_PARAMS];
                nfi_arith_init(&of, fo, (nfi_round)mode, seed, false, NULL);
                nfi_arith_init(&pf, fp, (nfi_round)mode, seed + 1, false,
                               NULL);
                nfi_arith_init(&orf, fo, (nfi_round)mode, seed, true, NULL);
                nfi_arith_init(&prf, fp, (nfi_round)mode, seed + 1, true,
                               NULL);
                nfi_optim_state sa, sb;
                nfi_optim_state_init(&sa, N, NULL);
                nfi_optim_state_init(&sb, N, NULL);
                double a[N], b[N], grad[N];
                for (size_t i = 0; i < N; i++)
                    a[i] = b[i] = nfi_fast_round(&pf.fast, rng_unit(&g) - 0.5);
                pf.fast.counter = 0;
                for (int t = 0; t < 5; t++) {
                    for (size_t i = 0; i < N; i++)
                        grad[i] = nfi_fast_round(&of.fast, ldexp(
                            rng_unit(&g) - 0.5, (int)rng_range(&g, -6, 1)));
                    of.fast.counter = orf.fast.counter = (uint64_t)t << 20;
                    nfi_optim_step(&configs[k], &of, &pf, fo, &sa, a, grad);
                    nfi_optim_step(&configs[k], &orf, &prf, fo, &sb, b, grad);
                }
                bool same = pf.fast.counter == prf.fast.counter;
                for (size_t i = 0; i < N; i++)
                    same = same && same_double(a[i], b[i]) &&
                           same_double(sa.m[i], sb.m[i]) &&
                           same_double(sa.v[i], sb.v[i]);
                check_true(same, "policy %s/%s %s config %zu: fast and twin "
                           "differ (p[0] %a vs %a)", policies[pi][0],
                           policies[pi][1], nfi_round_name((nfi_round)mode),
                           k, a[0], b[0]);
                nfi_optim_state_free(&sa);
                nfi_optim_state_free(&sb);
            }
        }
    }
}

static void test_adam_lanes(void)
{
    enum { LEN = 207 };
    static const char *const formats[] = {
        "binary32", "bfloat16", "binary16", "p=20,emin=-126,emax=127",
        "e5m2", "binary64", "p=11,emin=-6,emax=7", "p=3,emin=-6,emax=5",
        "p=25,emin=-126,emax=127", "p=16,emin=-30,emax=30",
        "p=20,emin=-126,emax=127,subnormals=off"};
    static const nfi_optim_config adam[] = {
        {NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0, 0},
        {NFI_OPTIM_ADAMW, 0.5, 0.5, 0.75, 0, 0, 0}};
    test_rng g;
    rng_init(&g, harness_seed(), 3);
    for (size_t fi = 0; fi < sizeof formats / sizeof *formats; fi++) {
        nfi_format f = harness_format(formats[fi]);
        for (size_t k = 0; k < 2; k++) {
            nfi_arith o, pa, orf, prf;
            nfi_arith_init(&o, &f, NFI_ROUND_RNE, 0, false, NULL);
            nfi_arith_init(&pa, &f, NFI_ROUND_RNE, 0, false, NULL);
            nfi_arith_init(&orf, &f, NFI_ROUND_RNE, 0, true, NULL);
            nfi_arith_init(&prf, &f, NFI_ROUND_RNE, 0, true, NULL);
            nfi_optim_state sa, sb;
            /* 50 blocks of four and a tail, or 51 (the lanes take two
             * blocks at a time, the last alone) */
            size_t len = k ? LEN : LEN - 4;
            nfi_optim_state_init(&sa, len, NULL);
            nfi_optim_state_init(&sb, len, NULL);
            double a[LEN], b[LEN], grad[LEN];
            for (size_t i = 0; i < len; i++)
                a[i] = b[i] = nfi_fast_round(&pa.fast, rng_unit(&g) - 0.5);
            a[7] = b[7] = 0.0;
            a[50] = b[50] = o.fast.max_finite;
            a[51] = b[51] = -INFINITY;
            int failures = 0;
            for (int t = 0; t < 12; t++) {
                for (size_t i = 0; i < len; i++) {
                    /* from step 7 on, most gradients near 2^emin: the
                     * moments and updates go subnormal */
                    double x = ldexp(rng_unit(&g) - 0.5,
                                     (int)rng_range(&g, -12, 1) +
                                         (t >= 6 ? (int)o.fast.emin : 0));
                    switch (rng_range(&g, 0, 40)) {
                    case 0: x = 0.0; break;
                    case 1: x = -0.0; break;
                    case 2: x = ldexp(x, o.fast.emin); break;
                    case 3: x = o.fast.max_finite; break;
                    case 4: x = t == 5 ? NAN : x; break;
                    case 5: x = t == 7 ? INFINITY : x; break;
                    default: break;
                    }
                    grad[i] = nfi_fast_round(&o.fast, x);
                }
                for (size_t i = 20; i < 24; i++)
                    grad[i] = 0.0; /* a block whose v stays 0 */
                nfi_optim_step(&adam[k], &o, &pa, &f, &sa, a, grad);
                nfi_optim_step(&adam[k], &orf, &prf, &f, &sb, b, grad);
                for (size_t i = 0; i < len && failures < 3; i++) {
                    if (!check_true(same_double(a[i], b[i]) &&
                                    same_double(sa.m[i], sb.m[i]) &&
                                    same_double(sa.v[i], sb.v[i]),
                                    "Adam lanes %s %s step %d element %zu:"
                                    " p %a/%a m %a/%a v %a/%a", formats[fi],
                                    nfi_optim_kind_name(adam[k].kind), t + 1,
                                    i, a[i], b[i], sa.m[i], sb.m[i], sa.v[i],
                                    sb.v[i]))
                        failures++;
                }
            }
            nfi_optim_state_free(&sa);
            nfi_optim_state_free(&sb);
        }
    }
}

static void test_first_adam_step(void)
{
    nfi_format f = harness_format("binary64");
    nfi_arith o, pa;
    nfi_arith_init(&o, &f, NFI_ROUND_RNE, 0, false, NULL);
    nfi_arith_init(&pa, &f, NFI_ROUND_RNE, 0, false, NULL);
    nfi_optim_state s;
    nfi_optim_state_init(&s, N, NULL);
    double p[N], g[N];
    for (size_t i = 0; i < N; i++) {
        p[i] = 1.0;
        g[i] = i % 2 ? 1e-3 : -0.5;
    }
    nfi_optim_step(&configs[2], &o, &pa, &f, &s, p, g);
    bool ok = true;
    for (size_t i = 0; i < N; i++) {
        double moved = 1.0 - p[i], want = g[i] > 0 ? 1e-2 : -1e-2;
        ok = ok && fabs(moved - want) < 1e-7;
    }
    check_true(ok, "Adam's first step moves each parameter by lr*sign(g)");
    nfi_optim_state_free(&s);
}

static void test_checks(void)
{
    nfi_error err = {{0}};
    nfi_optim_config c = configs[2];
    c.lr = NAN;
    check_true(nfi_optim_config_check(&c, &err) == -1 &&
                   strstr(err.message, "learning rate") != NULL,
               "NaN learning rate refused: '%s'", err.message);
    c = configs[2];
    c.beta1 = 1.0;
    check_true(nfi_optim_config_check(&c, &err) == -1 &&
                   strstr(err.message, "beta1") != NULL,
               "beta1 = 1 refused: '%s'", err.message);
    c = configs[1];
    check_true(nfi_optim_config_check(&c, &err) == 0, "SGD config valid");
    nfi_optim_kind kind;
    check_true(nfi_optim_kind_parse("rmsprop", &kind, &err) == -1 &&
                   strstr(err.message, "rmsprop") != NULL,
               "unknown optimizer named");

    nfi_policy p;
    check_true(nfi_policy_parse("binary32",
                                "logits=binary64,optim=p=20,emin=-126,"
                                "emax=127,round=rz", &p, &err) == 0 &&
                   p.format[NFI_ROLE_LOGITS].p == 53 &&
                   p.format[NFI_ROLE_OPTIM].p == 20 &&
                   p.format[NFI_ROLE_OPTIM].round == NFI_ROUND_RZ &&
                   p.format[NFI_ROLE_GRADS].p == 24,
               "policy with a comma-separated role format: %s", err.message);
    char buf[256];
    nfi_policy_spell_overrides(&p, buf, sizeof buf);
    nfi_policy back;
    bool equal = nfi_policy_parse("binary32", buf, &back, &err) == 0;
    for (int role = 0; role < NFI_ROLE_COUNT; role++)
        equal = equal && nfi_format_equal(&back.format[role],
                                          &p.format[role]);
    check_true(equal, "policy overrides '%s' read back", buf);
    check_true(nfi_policy_parse("binary32", "weights=bf16", &p, &err) == -1 &&
                   strstr(err.message, "weights=bf16") != NULL,
               "unknown role named: '%s'", err.message);
    check_true(nfi_policy_parse("binary32", "logits=bf16,logits=fp16", &p,
                                &err) == -1 &&
                   strstr(err.message, "twice") != NULL,
               "a role set twice: '%s'", err.message);
    check_true(nfi_policy_parse("binary32", "grads=e9m9x", &p, &err) == -1 &&
                   strstr(err.message, "grads") != NULL,
               "a bad role format names the role: '%s'", err.message);
}

int main(void)
{
    harness_init("test_optim", 1);
    test_against_plain();
    test_twins();
    test_adam_lanes();
    test_first_adam_step();
    test_checks();
    return harness_finish();
}
