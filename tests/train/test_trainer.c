/* Tests of train/trainer: the training step and its measurements.
 *
 * 1. Fast against twin: 6 full-batch steps of a small MLP (P = 7, add,
 *    hidden 16) on the fast engines and on the MPFR engine, for several
 *    policies, orders, schemes and modes; parameters and every
 *    measurement bit for bit.
 * 2. Learning: in binary64 with Adam, 300 steps fit the training set
 *    (accuracy 1) and the loss falls by more than a factor 10.
 * 3. Measurements: in binary64 no sample is absorbed at the start, and
 *    the exact zero-sum residual is tiny; accuracies lie in [0, 1].
 * 4. Bad inputs: labels out of range, an empty training set, a format
 *    wider than binary64. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "trainer.h"

#define P FIXTURE_P

static nfi_samples train_set, test_set;

/* Every pair (a, b) labelled (a + b) mod P; every third pair to test. */
static nfi_train_spec spec_of(const char *base, const char *overrides,
                              const char *order, nfi_ce_scheme scheme,
                              nfi_round mode, bool reference)
{
    nfi_train_spec s;
    memset(&s, 0, sizeof s);
    s.input_width = 2 * P;
    s.hidden = 16;
    s.layers = 1;
    s.classes = P;
    s.classifier_bias = false;
    nfi_error err;
    if (nfi_policy_parse(base, overrides, &s.policy, &err) != 0 ||
        nfi_reduction_parse(order, &s.order, &err) != 0)
        check_true(false, "spec: %s", err.message);
    s.mode = mode;
    s.scheme = scheme;
    s.optim = (nfi_optim_config){NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0,
                                 0};
    s.seed = 3;
    s.reference = reference;
    return s;
}

static void test_twins(void)
{
    static const char *const policies[][2] = {
        {"binary32", ""}, {"bfloat16", "accum=binary32,optim=binary32"},
        {"binary32", "logits=binary64"}, {"p=20,emin=-126,emax=127", ""}};
    static const char *const orders[] = {"sequential", "lanes:8"};
    static const nfi_round modes[] = {NFI_ROUND_RNE, NFI_ROUND_SR};
    for (size_t pi = 0; pi < 4; pi++) {
        for (size_t o = 0; o < 2; o++) {
            for (size_t mi = 0; mi < 2; mi++) {
                nfi_ce_scheme scheme = (nfi_ce_scheme)((pi + 2 * o + mi) % 3);
                nfi_train_spec sa = spec_of(policies[pi][0], policies[pi][1],
                                            orders[o], scheme, modes[mi],
                                            false);
                nfi_train_spec sb = sa;
                sb.reference = true;
                nfi_trainer ta_, tb_;
                nfi_error err;
                if (nfi_trainer_init(&ta_, &sa, train_set, test_set, &err) ||
                    nfi_trainer_init(&tb_, &sb, train_set, test_set, &err)) {
                    check_true(false, "trainer: %s", err.message);
                    continue;
                }
                bool same = true;
                for (int step = 0; step < 6 && same; step++) {
                    nfi_step_metrics ma, mb;
                    nfi_trainer_step(&ta_, &ma, NULL, NULL);
                    nfi_trainer_step(&tb_, &mb, NULL, NULL);
                    same = fixture_same_metrics(&ma, &mb);
                }
                for (size_t i = 0; i < ta_.model.n_params && same; i++)
                    same = same_double(ta_.model.params[i],
                                       tb_.model.params[i]);
                check_true(same, "policy %s/%s order %s scheme %s mode %s: "
                           "fast and twin trainers differ",
                           policies[pi][0], policies[pi][1], orders[o],
                           nfi_ce_scheme_name(scheme),
                           nfi_round_name(modes[mi]));
                nfi_trainer_free(&ta_);
                nfi_trainer_free(&tb_);
            }
        }
    }
}

static void test_learning(void)
{
    nfi_train_spec s = spec_of("binary64", "", "sequential",
                               NFI_CE_LOGSOFTMAX, NFI_ROUND_RNE, false);
    nfi_trainer t;
    nfi_error err;
    if (nfi_trainer_init(&t, &s, train_set, test_set, &err) != 0) {
        check_true(false, "trainer: %s", err.message);
        return;
    }
    nfi_step_metrics first, last;
    nfi_trainer_step(&t, &first, NULL, NULL);
    check_true(first.absorbed_frac == 0 && fabs(first.zero_sum_residual) <
                   1e-15 && first.train_acc >= 0 && first.train_acc <= 1 &&
                   first.test_acc >= 0 && first.test_acc <= 1 &&
                   first.update_norm > 0 && first.param_norm > 0,
               "binary64 first step: absorbed %g, residual %g, accuracies "
               "%g %g, update %g", first.absorbed_frac,
               first.zero_sum_residual, first.train_acc, first.test_acc,
               first.update_norm);
    for (int step = 1; step < 300; step++)
        nfi_trainer_step(&t, step == 299 ? &last : NULL, NULL, NULL);
    check_true(last.step == 300 && last.train_acc == 1.0 &&
                   last.loss < first.loss / 10,
               "binary64 Adam, 300 steps: train accuracy %g, loss %g from "
               "%g", last.train_acc, last.loss, first.loss);
    nfi_trainer_free(&t);
}

/* Under stochastic rounding, measuring (which evaluates the test set)
 * at different steps must not change the run: two trainers that measure
 * every step and every 7th step end with the same parameters and the
 * same stochastic counters. */
static void test_measuring_leaves_run(void)
{
    nfi_train_spec s = spec_of("bfloat16", "accum=binary32", "sequential",
                               NFI_CE_LOGSOFTMAX, NFI_ROUND_SR, false);
    nfi_trainer a, b;
    nfi_error err;
    if (nfi_trainer_init(&a, &s, train_set, test_set, &err) != 0 ||
        nfi_trainer_init(&b, &s, train_set, test_set, &err) != 0) {
        check_true(false, "init: %s", err.message);
        return;
    }
    nfi_step_metrics m;
    for (int step = 1; step <= 30; step++) {
        nfi_trainer_step(&a, &m, NULL, &err);
        nfi_trainer_step(&b, step % 7 == 0 ? &m : NULL, NULL, &err);
    }
    size_t n;
    const double *pa = nfi_trainer_params(&a, &n);
    const double *pb = nfi_trainer_params(&b, NULL);
    bool same = true;
    for (size_t i = 0; i < n; i++)
        same = same && same_double(pa[i], pb[i]);
    for (int r = 0; r < NFI_ROLE_COUNT; r++)
        same = same && a.roles.arith[r].fast.counter ==
                           b.roles.arith[r].fast.counter;
    check_true(same, "SR run changed by measuring at other steps");
    nfi_trainer_free(&a);
    nfi_trainer_free(&b);
}

static void test_errors(void)
{
    nfi_train_spec s = spec_of("binary32", "", "sequential",
                               NFI_CE_LOGSOFTMAX, NFI_ROUND_RNE, false);
    nfi_trainer t;
    nfi_error err = {{0}};
    uint32_t bad_label[1] = {P}, zero[1] = {0};
    nfi_samples bad = {1, zero, zero, bad_label};
    check_true(nfi_trainer_init(&t, &s, bad, test_set, &err) == -1 &&
                   strstr(err.message, "labels below 7") != NULL,
               "label out of range refused: '%s'", err.message);
    nfi_samples empty = {0, zero, zero, zero};
    check_true(nfi_trainer_init(&t, &s, empty, test_set, &err) == -1,
               "empty training set refused");
    s = spec_of("binary128", "", "sequential", NFI_CE_LOGSOFTMAX,
                NFI_ROUND_RNE, false);
    check_true(nfi_trainer_init(&t, &s, train_set, test_set, &err) == -1 &&
                   strstr(err.message, "binary64") != NULL,
               "binary128 roles refused for now: '%s'", err.message);
    s = spec_of("binary32", "logits=p=30,emin=-126,emax=127,round=rz",
                "sequential", NFI_CE_LOGSOFTMAX, NFI_ROUND_RNE, false);
    check_true(nfi_trainer_init(&t, &s, train_set, test_set, &err) == -1 &&
                   strstr(err.message, "round=") != NULL,
               "a role format with round= refused: '%s'", err.message);
}

int main(void)
{
    harness_init("test_trainer", 1);
    fixture_modular_add(&train_set, &test_set);
    test_twins();
    test_learning();
    test_measuring_leaves_run();
    test_errors();
    return harness_finish();
}
