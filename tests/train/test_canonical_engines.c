/* The canonical experiment on the MPFR engine and on the fast engine,
 * bit for bit.
 *
 * The experiment is `nfi train` with its defaults: task div, P = 23,
 * train-frac 0.5, seed 0 (253 training and 253 test pairs), MLP
 * 46 -> 128 -> 23 without classifier bias, Adam (lr 1e-2, betas 0.9 and
 * 0.999, eps 1e-8, no weight decay), logsoftmax cross-entropy,
 * sequential order, RNE; the split and the specification are built here
 * as cli/cmd_train.c builds them.  Two trainers run in lockstep: one with
 * every operation on the MPFR engine (spec.reference, what `--engine
 * mpfr` does) and one on the fast engine (what `--engine auto` picks:
 * native binary32 inside the fast engine where it applies).  After every
 * step all parameters and both Adam moments must be equal bit for bit
 * (NaN-aware: any NaN equals any NaN); at the steps listed in
 * `logged_steps` (and the last) the metrics of the step (loss,
 * accuracies, absorbed and underflow shares, margins, norms, ...) and the
 * per-sample records (margin, z_y, residual mass, absorbed flag) must be
 * equal too.  The first difference is reported with its step and
 * parameter, and the run stops there.
 *
 * Usage: test_canonical_engines FORMAT [--steps=N] [--round=MODE]
 *                               [--order=ORDER]
 * FORMAT is the format of every role (binary32, bfloat16,
 * "p=40,emin=-126,emax=127", ...); 200 steps, RNE and sequential by
 * default.  Each format is its own meson test so that they run in
 * parallel.  The program prints the time each engine took and its steps
 * per second. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "modular.h"
#include "trainer.h"

/* The defaults of nfi train (cli/cmd_train.c). */
#define TASK NFI_MODULAR_OP_DIV
#define MODULUS 23
#define TRAIN_FRAC 0.5
#define HIDDEN 128
#define SEED 0

static const long logged_steps[] = {1, 2, 10, 50, 100, 150, 200};

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The name of parameter i: tensor and index, as nfi train's snapshots
 * name the tensors (W1 b1 W2). */
static void param_name(const nfi_mlp *m, size_t i, char *buf, size_t cap)
{
    size_t w1 = m->offset_w[0], b1 = m->offset_b[0];
    size_t wc = m->offset_w[m->layers];
    if (i >= w1 && i < w1 + m->hidden * m->in)
        snprintf(buf, cap, "W1[%zu][%zu]", (i - w1) / m->in,
                 (i - w1) % m->in);
    else if (i >= b1 && i < b1 + m->hidden)
        snprintf(buf, cap, "b1[%zu]", i - b1);
    else if (i >= wc && i < wc + m->classes * m->hidden)
        snprintf(buf, cap, "W2[%zu][%zu]", (i - wc) / m->hidden,
                 (i - wc) % m->hidden);
    else
        snprintf(buf, cap, "parameter %zu", i);
}

/* The first index where two arrays differ, or n. */
static size_t first_difference(const double *x, const double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!same_double(x[i], y[i]))
            return i;
    return n;
}

static const char *const metric_names[] = {
    "loss", "train_acc", "test_acc", "absorbed_frac", "underflow_frac",
    "zero_sum_residual", "residual_mass", "margin_min", "margin_mean",
    "margin_max", "w_mean_norm", "feat_mean_norm", "w_norm", "param_norm",
    "update_norm", "logit_mean"};

_Static_assert(sizeof metric_names / sizeof metric_names[0] ==
                   (sizeof(nfi_step_metrics) -
                    offsetof(nfi_step_metrics, loss)) / sizeof(double),
               "one name for each double of nfi_step_metrics");

/* Compares the metrics and records of one logged step; true when equal. */
static bool same_diagnostics(long step, const nfi_step_metrics *ma,
                             const nfi_step_metrics *mb,
                             const nfi_sample_record *ra,
                             const nfi_sample_record *rb, size_t n)
{
    const double *x = &ma->loss, *y = &mb->loss;
    size_t count = sizeof metric_names / sizeof metric_names[0];
    for (size_t i = 0; i < count; i++) {
        if (!check_true(same_double(x[i], y[i]), "step %ld: %s: mpfr %a, "
                        "fast %a", step, metric_names[i], x[i], y[i]))
            return false;
    }
    if (!check_true(ma->step == mb->step, "step %ld: step counters %ld "
                    "and %ld", step, ma->step, mb->step))
        return false;
    for (size_t i = 0; i < n; i++) {
        bool same = same_double(ra[i].margin, rb[i].margin) &&
                    same_double(ra[i].z_y, rb[i].z_y) &&
                    same_double(ra[i].residual_mass, rb[i].residual_mass) &&
                    ra[i].absorbed == rb[i].absorbed;
        if (!check_true(same, "step %ld: sample %zu: margin %a / %a, z_y "
                        "%a / %a, residual mass %a / %a, absorbed %d / %d "
                        "(mpfr / fast)", step, i, ra[i].margin,
                        rb[i].margin, ra[i].z_y, rb[i].z_y,
                        ra[i].residual_mass, rb[i].residual_mass,
                        ra[i].absorbed, rb[i].absorbed))
            return false;
    }
    return true;
}

static bool is_logged(long step, long last)
{
    if (step == last)
        return true;
    for (size_t i = 0; i < sizeof logged_steps / sizeof logged_steps[0];
         i++)
        if (logged_steps[i] == step)
            return true;
    return false;
}

static int usage(void)
{
    fputs("usage: test_canonical_engines FORMAT [--steps=N] "
          "[--round=MODE] [--order=ORDER]\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *format = argv[1], *round = "rne", *order = "sequential";
    long steps = 200;
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--steps=", 8) == 0)
            steps = strtol(argv[i] + 8, NULL, 10);
        else if (strncmp(argv[i], "--round=", 8) == 0)
            round = argv[i] + 8;
        else if (strncmp(argv[i], "--order=", 8) == 0)
            order = argv[i] + 8;
        else
            return usage();
    }
    if (steps < 1)
        return usage();
    harness_init("test_canonical_engines", 1);

    nfi_error err;
    nfi_modular_task task;
    nfi_modular_split split;
    if (nfi_modular_task_init(&task, TASK, MODULUS, &err) != 0 ||
        nfi_modular_split_make(&split, &task, TRAIN_FRAC, SEED, &err) != 0) {
        check_true(false, "task: %s", err.message);
        return harness_finish();
    }
    /* The samples as nfi train lays them out: operands a, operands b,
     * labels; the training pairs first. */
    size_t n_all = split.n_train + split.n_test;
    uint32_t *idx = malloc(3 * n_all * sizeof *idx);
    if (idx == NULL) {
        check_true(false, "out of memory");
        return harness_finish();
    }
    for (size_t i = 0; i < n_all; i++) {
        const nfi_modular_sample *s = i < split.n_train ?
            &split.train[i] : &split.test[i - split.n_train];
        idx[i] = s->a;
        idx[n_all + i] = s->b;
        idx[2 * n_all + i] = s->label;
    }
    nfi_samples train = {split.n_train, idx, idx + n_all, idx + 2 * n_all};
    nfi_samples test = {split.n_test, idx + split.n_train,
                        idx + n_all + split.n_train,
                        idx + 2 * n_all + split.n_train};

    nfi_train_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input_width = 2 * (size_t)task.p;
    spec.classes = task.p;
    spec.hidden = HIDDEN;
    spec.layers = 1;
    spec.classifier_bias = false;
    spec.scheme = NFI_CE_LOGSOFTMAX;
    spec.optim = (nfi_optim_config){NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8,
                                    0, 0};
    spec.seed = SEED;
    if (nfi_policy_parse(format, "", &spec.policy, &err) != 0 ||
        nfi_round_parse(round, &spec.mode, &err) != 0 ||
        nfi_reduction_parse(order, &spec.order, &err) != 0) {
        check_true(false, "specification: %s", err.message);
        free(idx);
        nfi_modular_split_free(&split);
        return harness_finish();
    }
    nfi_train_spec spec_mpfr = spec, spec_fast = spec;
    spec_mpfr.reference = true;
    spec_fast.reference = false;

    nfi_trainer tm, tf;
    if (nfi_trainer_init(&tm, &spec_mpfr, train, test, &err) != 0 ||
        nfi_trainer_init(&tf, &spec_fast, train, test, &err) != 0) {
        check_true(false, "trainer: %s", err.message);
        free(idx);
        nfi_modular_split_free(&split);
        return harness_finish();
    }
    size_t n = split.n_train, np = tm.model.n_params;
    nfi_sample_record *rm = calloc(n, sizeof *rm);
    nfi_sample_record *rf = calloc(n, sizeof *rf);
    if (rm == NULL || rf == NULL) {
        check_true(false, "out of memory");
        return harness_finish();
    }
    printf("%s, round %s, order %s: div mod %u, %zu training samples, "
           "MLP %zu -> %zu -> %zu, %zu parameters, %ld steps\n", format,
           round, order, task.p, n, spec.input_width, spec.hidden,
           spec.classes, np, steps);
    fflush(stdout);

    bool same = check_true(first_difference(tm.model.params,
                                            tf.model.params, np) == np,
                           "the initial parameters differ");
    double time_mpfr = 0, time_fast = 0;
    long done = 0;
    for (long step = 1; step <= steps && same; step++) {
        bool logged = is_logged(step, steps);
        nfi_step_metrics mm, mf;
        double t0 = cpu_seconds();
        int sa = nfi_trainer_step(&tm, logged ? &mm : NULL,
                                  logged ? rm : NULL, &err);
        double t1 = cpu_seconds();
        int sb = nfi_trainer_step(&tf, logged ? &mf : NULL,
                                  logged ? rf : NULL, &err);
        double t2 = cpu_seconds();
        time_mpfr += t1 - t0;
        time_fast += t2 - t1;
        if (!check_true(sa == 0 && sb == 0, "step %ld failed: %s", step,
                        err.message))
            break;
        done = step;

        size_t i = first_difference(tm.model.params, tf.model.params, np);
        if (i < np) {
            char name[64];
            param_name(&tm.model, i, name, sizeof name);
            same = check_true(false, "step %ld: first differing parameter "
                              "%s (index %zu): mpfr %a, fast %a", step,
                              name, i, tm.model.params[i],
                              tf.model.params[i]);
            break;
        }
        size_t j = first_difference(tm.optim.m, tf.optim.m, np);
        size_t k = first_difference(tm.optim.v, tf.optim.v, np);
        if (j < np || k < np) {
            size_t at = j < np ? j : k;
            char name[64];
            param_name(&tm.model, at, name, sizeof name);
            same = check_true(false, "step %ld: Adam's %s moment of %s "
                              "differs: mpfr %a, fast %a", step,
                              j < np ? "first" : "second", name,
                              j < np ? tm.optim.m[at] : tm.optim.v[at],
                              j < np ? tf.optim.m[at] : tf.optim.v[at]);
            break;
        }
        if (logged) {
            same = same_diagnostics(step, &mm, &mf, rm, rf, n);
            printf("step %4ld: loss %-24a absorbed %-8.4g margins "
                   "%.4g .. %.4g   (%.1f s mpfr so far)\n", step, mm.loss,
                   mm.absorbed_frac, mm.margin_min, mm.margin_max,
                   time_mpfr);
            fflush(stdout);
        }
    }
    check_true(harness_failures() > 0 || done == steps,
               "only %ld of %ld steps ran", done, steps);
    printf("%s: %ld steps identical; CPU time: mpfr engine %.1f s "
           "(%.3f steps/s), fast engine %.2f s (%.1f steps/s)\n", format,
           same ? done : done - 1, time_mpfr,
           done ? (double)done / time_mpfr : 0.0, time_fast,
           done ? (double)done / time_fast : 0.0);

    free(rm);
    free(rf);
    nfi_trainer_free(&tm);
    nfi_trainer_free(&tf);
    free(idx);
    nfi_modular_split_free(&split);
    return harness_finish();
}
