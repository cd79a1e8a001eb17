/* Tests of train/trainer on the ufm and on real inputs (Gaussian
 * classes, IDX images).
 *
 * 1. Gaussian classes + ufm: fast against twin (MPFR engine) over a few
 *    steps, bit for bit, for a few policies and modes; learning in
 *    binary32 (the loss falls by more than 10 and every training sample
 *    is classified); test_acc NaN at every step; the records agree with
 *    the metrics (absorbed share, margins, z_y against the logits);
 *    feat_mean_norm and w_mean_norm are those of the rows of H and W
 *    before the update; nfi_trainer_params is the ufm's vector; two
 *    trainers of the same spec repeat each other bit for bit.
 * 2. Gaussian classes + mlp on real inputs: the inputs are rounded once
 *    to nearest into the activations format (bfloat16 here), fast
 *    against twin, learning, test accuracy in [0, 1].
 * 3. IDX: a tiny image set written with nfi_idx_write, read back with
 *    nfi_idx_load, trained on by the mlp: learning, and a repeat that
 *    matches bit for bit.
 * 4. Bad inputs: non-finite real inputs, missing inputs for the mlp,
 *    labels out of range under the ufm, an unknown model kind. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gaussian.h"
#include "fixture.h"
#include "harness.h"
#include "idx.h"
#include "trainer.h"

#define KC 4     /* classes */
#define PER 12   /* samples per class */
#define DIM 6    /* input dimension */
#define NALL (KC * PER)
#define NTRAIN 32

static nfi_gaussian_data gauss;
static nfi_real_samples g_train, g_test;

static void make_gaussian(void)
{
    nfi_gaussian_spec spec = {KC, PER, DIM, 1.0, 0.5, 9};
    nfi_error err;
    if (nfi_gaussian_make(&gauss, &spec, &err) != 0) {
        check_true(false, "gaussian: %s", err.message);
        exit(harness_finish() ? 1 : 1);
    }
    g_train = (nfi_real_samples){NTRAIN, gauss.x, gauss.label};
    g_test = (nfi_real_samples){NALL - NTRAIN, gauss.x + NTRAIN * DIM,
                                gauss.label + NTRAIN};
}

static nfi_train_spec spec_of(nfi_model_kind model, const char *base,
                              const char *overrides, const char *order,
                              nfi_round mode, bool reference)
{
    nfi_train_spec s;
    memset(&s, 0, sizeof s);
    s.model = model;
    s.input_width = DIM;
    s.hidden = 8;
    s.layers = 1;
    s.classes = KC;
    s.classifier_bias = model == NFI_MODEL_UFM;
    nfi_error err;
    if (nfi_policy_parse(base, overrides, &s.policy, &err) != 0 ||
        nfi_reduction_parse(order, &s.order, &err) != 0)
        check_true(false, "spec: %s", err.message);
    s.mode = mode;
    s.scheme = NFI_CE_LOGSOFTMAX;
    s.optim = (nfi_optim_config){NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0,
                                 0};
    s.seed = 5;
    s.reference = reference;
    return s;
}

static bool same_params(nfi_trainer *a, nfi_trainer *b)
{
    size_t na, nb;
    const double *pa = nfi_trainer_params(a, &na);
    const double *pb = nfi_trainer_params(b, &nb);
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (!same_double(pa[i], pb[i]))
            return false;
    }
    return true;
}

/* Runs `steps` steps of two trainers side by side; whether every metric
 * and the final parameters agree bit for bit. */
static bool run_pair(nfi_trainer *a, nfi_trainer *b, int steps)
{
    bool same = true;
    for (int step = 0; step < steps && same; step++) {
        nfi_step_metrics ma, mb;
        nfi_error err;
        if (nfi_trainer_step(a, &ma, NULL, &err) != 0 ||
            nfi_trainer_step(b, &mb, NULL, &err) != 0)
            return false;
        same = fixture_same_metrics(&ma, &mb);
    }
    return same && same_params(a, b);
}

/* |(1/rows) sum_r x[r][.]| as the trainer defines it. */
static double mean_row_norm(const double *x, size_t rows, size_t cols)
{
    double total = 0.0;
    for (size_t j = 0; j < cols; j++) {
        nfi_exact_sum s;
        nfi_exact_sum_init(&s);
        for (size_t r = 0; r < rows; r++)
            nfi_exact_sum_add(&s, x[r * cols + j]);
        double mean = nfi_exact_sum_get_d(&s) / (double)rows;
        total += mean * mean;
        nfi_exact_sum_clear(&s);
    }
    return sqrt(total);
}

static void test_ufm_twins(void)
{
    static const char *const policies[][2] = {
        {"binary32", ""}, {"bfloat16", "accum=binary32,optim=binary32"},
        {"p=11,emin=-14,emax=15", "logits=binary32"}};
    static const nfi_round modes[] = {NFI_ROUND_RNE, NFI_ROUND_SR};
    for (size_t pi = 0; pi < 3; pi++) {
        for (size_t mi = 0; mi < 2; mi++) {
            nfi_train_spec sa = spec_of(NFI_MODEL_UFM, policies[pi][0],
                                        policies[pi][1],
                                        pi == 1 ? "lanes:8" : "sequential",
                                        modes[mi], false);
            nfi_train_spec sb = sa;
            sb.reference = true;
            nfi_trainer ta, tb;
            nfi_error err;
            if (nfi_trainer_init_real(&ta, &sa, g_train, g_test, &err) ||
                nfi_trainer_init_real(&tb, &sb, g_train, g_test, &err)) {
                check_true(false, "ufm trainer: %s", err.message);
                continue;
            }
            check_true(run_pair(&ta, &tb, 5), "ufm %s/%s mode %s: fast and "
                       "twin trainers differ", policies[pi][0],
                       policies[pi][1], nfi_round_name(modes[mi]));
            nfi_trainer_free(&ta);
            nfi_trainer_free(&tb);
        }
    }
}

static void test_ufm_learning(void)
{
    nfi_train_spec s = spec_of(NFI_MODEL_UFM, "binary32", "", "sequential",
                               NFI_ROUND_RNE, false);
    nfi_trainer t, again;
    nfi_error err;
    /* The ufm reads the labels only: no inputs at all. */
    nfi_real_samples train = {NTRAIN, NULL, gauss.label};
    nfi_real_samples test = {NALL - NTRAIN, NULL, gauss.label + NTRAIN};
    if (nfi_trainer_init_real(&t, &s, train, test, &err) != 0 ||
        nfi_trainer_init_real(&again, &s, g_train, g_test, &err) != 0) {
        check_true(false, "ufm trainer: %s", err.message);
        return;
    }
    size_t n_params;
    double *params = nfi_trainer_params(&t, &n_params);
    check_true(params == t.ufm.params && n_params == NTRAIN * 8 + KC * 8 +
                   KC, "nfi_trainer_params: the ufm's %zu parameters",
               n_params);

    nfi_sample_record rec[NTRAIN];
    nfi_step_metrics first = {0}, m = {0};
    bool nan_test = true, records_ok = true, norms_ok = true;
    double *before = malloc(n_params * sizeof *before);
    for (int step = 0; step < 200; step++) {
        memcpy(before, params, n_params * sizeof *before);
        if (nfi_trainer_step(&t, &m, rec, &err) != 0) {
            check_true(false, "ufm step: %s", err.message);
            break;
        }
        if (step == 0)
            first = m;
        nan_test = nan_test && isnan(m.test_acc);
        /* Records against metrics. */
        size_t absorbed = 0;
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        for (size_t i = 0; i < NTRAIN; i++) {
            absorbed += rec[i].absorbed;
            lo = fmin(lo, rec[i].margin);
            hi = fmax(hi, rec[i].margin);
            sum += rec[i].margin;
            records_ok = records_ok &&
                         same_double(rec[i].z_y,
                                     t.logits[i * KC + gauss.label[i]]);
        }
        records_ok = records_ok &&
                     (double)absorbed / NTRAIN == m.absorbed_frac &&
                     lo == m.margin_min && hi == m.margin_max &&
                     same_double(sum / NTRAIN, m.margin_mean);
        /* The measurements describe the parameters before the update. */
        norms_ok = norms_ok &&
                   same_double(m.feat_mean_norm,
                               mean_row_norm(before, NTRAIN, 8)) &&
                   same_double(m.w_mean_norm,
                               mean_row_norm(before + NTRAIN * 8, KC, 8));
    }
    free(before);
    check_true(nan_test, "ufm: test_acc is NaN at every step");
    check_true(records_ok, "ufm: records agree with the metrics");
    check_true(norms_ok, "ufm: feat_mean_norm and w_mean_norm are those of "
               "H and W before the update");
    check_true(m.step == 200 && m.train_acc == 1.0 &&
                   m.loss < first.loss / 10 && first.loss > 0,
               "ufm, binary32 Adam, 200 steps: train accuracy %g, loss %g "
               "from %g", m.train_acc, m.loss, first.loss);
    /* The same spec again (with the inputs given this time, which the ufm
     * does not read): the same run, bit for bit. */
    nfi_trainer fresh;
    if (nfi_trainer_init_real(&fresh, &s, train, test, &err) == 0) {
        check_true(run_pair(&again, &fresh, 20), "ufm: a repeat matches bit "
                   "for bit");
        nfi_trainer_free(&fresh);
    }
    nfi_trainer_free(&again);
    nfi_trainer_free(&t);

    /* The ufm on one-hot samples (a modular task) reads the labels only
     * too: a and b may be NULL. */
    uint32_t lab[6] = {0, 1, 2, 3, 0, 1};
    nfi_samples oh = {6, NULL, NULL, lab}, none = {0, NULL, NULL, lab};
    check_true(nfi_trainer_init(&t, &s, oh, none, &err) == 0 &&
                   nfi_trainer_step(&t, &m, NULL, &err) == 0 &&
                   isnan(m.test_acc),
               "ufm through nfi_trainer_init on labels alone");
    nfi_trainer_free(&t);
}

static void test_mlp_real(void)
{
    nfi_train_spec s = spec_of(NFI_MODEL_MLP, "binary32",
                               "activations=bfloat16", "sequential",
                               NFI_ROUND_RNE, false);
    nfi_trainer t;
    nfi_error err;
    if (nfi_trainer_init_real(&t, &s, g_train, g_test, &err) != 0) {
        check_true(false, "mlp trainer: %s", err.message);
        return;
    }
    size_t n_params;
    check_true(nfi_trainer_params(&t, &n_params) == t.model.params &&
                   n_params == t.model.n_params,
               "nfi_trainer_params: the mlp's parameters");
    nfi_format bf16 = harness_format("bfloat16");
    bool rounded = true, changed = false;
    for (size_t i = 0; i < NTRAIN * DIM; i++) {
        double want = nfi_mpfr_op_d(NFI_OP_CVT, gauss.x[i], 0, 0, &bf16,
                                    NFI_ROUND_RNE, 0);
        rounded = rounded && same_double(t.train_cache.x[i], want);
        changed = changed || t.train_cache.x[i] != gauss.x[i];
    }
    for (size_t i = 0; i < (NALL - NTRAIN) * DIM; i++)
        rounded = rounded &&
                  same_double(t.test_cache.x[i],
                              nfi_mpfr_op_d(NFI_OP_CVT,
                                            gauss.x[NTRAIN * DIM + i], 0, 0,
                                            &bf16, NFI_ROUND_RNE, 0));
    check_true(rounded && changed, "real inputs rounded once to nearest "
               "into the activations format (bfloat16)");
    nfi_step_metrics first = {0}, m = {0};
    for (int step = 0; step < 150; step++)
        nfi_trainer_step(&t, step == 0 ? &first : &m, NULL, &err);
    check_true(m.train_acc == 1.0 && m.loss < first.loss / 10 &&
                   m.test_acc >= 0 && m.test_acc <= 1 &&
                   first.test_acc >= 0 && first.test_acc <= 1,
               "gaussian mlp: train accuracy %g, test accuracy %g, loss %g "
               "from %g", m.train_acc, m.test_acc, m.loss, first.loss);
    nfi_trainer_free(&t);

    /* Fast against twin with SR and a mixed policy. */
    nfi_train_spec sa = spec_of(NFI_MODEL_MLP, "bfloat16", "accum=binary32",
                                "pairwise", NFI_ROUND_SR, false);
    sa.layers = 2;
    nfi_train_spec sb = sa;
    sb.reference = true;
    nfi_trainer ta, tb;
    if (nfi_trainer_init_real(&ta, &sa, g_train, g_test, &err) ||
        nfi_trainer_init_real(&tb, &sb, g_train, g_test, &err)) {
        check_true(false, "mlp trainer: %s", err.message);
        return;
    }
    check_true(run_pair(&ta, &tb, 4), "gaussian mlp bfloat16 SR: fast and "
               "twin trainers differ");
    nfi_trainer_free(&ta);
    nfi_trainer_free(&tb);
}

static void test_idx(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], images[4200], labels_path[4200];
    snprintf(dir, sizeof dir, "%s/nfi-test-trainer-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        check_true(false, "mkdtemp(%s): %s", dir, strerror(errno));
        return;
    }
    snprintf(images, sizeof images, "%s/images.idx", dir);
    snprintf(labels_path, sizeof labels_path, "%s/labels.idx.gz", dir);
    /* 40 images of 4 x 4 bytes in 3 classes: class c lights row c more,
     * with noise from the test's generator. */
    enum { NI = 40, SIDE = 4, KI = 3 };
    double pix[NI * SIDE * SIDE], lab[NI];
    test_rng rng;
    rng_init(&rng, harness_seed(), 7);
    for (size_t i = 0; i < NI; i++) {
        lab[i] = (double)(i % KI);
        for (size_t p = 0; p < SIDE * SIDE; p++)
            pix[i * SIDE * SIDE + p] =
                (double)(rng_below(&rng, 100) +
                         (p / SIDE == i % KI ? 150 : 0));
    }
    uint32_t idims[3] = {NI, SIDE, SIDE}, ldims[1] = {NI};
    nfi_error err;
    nfi_idx_dataset data;
    if (nfi_idx_write(images, NFI_IDX_TYPE_U8, 3, idims, pix, 0, &err) ||
        nfi_idx_write(labels_path, NFI_IDX_TYPE_U8, 1, ldims, lab, 1,
                      &err) ||
        nfi_idx_load(images, labels_path, KI, 30, &data, &err)) {
        check_true(false, "idx: %s", err.message);
        remove(images);
        remove(labels_path);
        rmdir(dir);
        return;
    }
    check_true(data.n == 30 && data.width == SIDE * SIDE && data.k == KI,
               "idx subset: %zu samples of width %zu", data.n, data.width);
    nfi_train_spec s = spec_of(NFI_MODEL_MLP, "binary32", "", "sequential",
                               NFI_ROUND_RNE, false);
    s.input_width = SIDE * SIDE;
    s.classes = KI;
    s.hidden = 16;
    nfi_real_samples train = {24, data.x, data.label};
    nfi_real_samples test = {6, data.x + 24 * SIDE * SIDE, data.label + 24};
    nfi_trainer t, u;
    if (nfi_trainer_init_real(&t, &s, train, test, &err) != 0 ||
        nfi_trainer_init_real(&u, &s, train, test, &err) != 0) {
        check_true(false, "idx trainer: %s", err.message);
    } else {
        nfi_step_metrics first = {0}, m = {0};
        for (int step = 0; step < 100; step++)
            nfi_trainer_step(&t, step == 0 ? &first : &m, NULL, &err);
        check_true(m.train_acc == 1.0 && m.loss < first.loss / 10 &&
                       m.test_acc >= 0 && m.test_acc <= 1,
                   "idx mlp: train accuracy %g, loss %g from %g",
                   m.train_acc, m.loss, first.loss);
        nfi_trainer_free(&t);
        check_true(nfi_trainer_init_real(&t, &s, train, test, &err) == 0 &&
                       run_pair(&t, &u, 10),
                   "idx mlp: a repeat matches bit for bit");
        nfi_trainer_free(&t);
        nfi_trainer_free(&u);
    }
    nfi_idx_dataset_free(&data);
    remove(images);
    remove(labels_path);
    rmdir(dir);
}

static void test_errors(void)
{
    nfi_train_spec s = spec_of(NFI_MODEL_MLP, "binary32", "", "sequential",
                               NFI_ROUND_RNE, false);
    nfi_trainer t;
    nfi_error err = {{0}};
    double x[2 * DIM] = {0};
    uint32_t lab[2] = {0, 1};
    x[DIM + 3] = NAN;
    nfi_real_samples bad = {2, x, lab}, empty = {0, NULL, lab};
    check_true(nfi_trainer_init_real(&t, &s, bad, empty, &err) == -1 &&
                   strstr(err.message, "finite") != NULL &&
                   strstr(err.message, "sample 1") != NULL,
               "NaN input refused: '%s'", err.message);
    nfi_real_samples no_x = {2, NULL, lab};
    check_true(nfi_trainer_init_real(&t, &s, no_x, empty, &err) == -1,
               "mlp without inputs refused: '%s'", err.message);
    s = spec_of(NFI_MODEL_UFM, "binary32", "", "sequential", NFI_ROUND_RNE,
                false);
    uint32_t high[2] = {0, KC};
    nfi_real_samples bad_label = {2, NULL, high};
    check_true(nfi_trainer_init_real(&t, &s, bad_label, empty, &err) == -1 &&
                   strstr(err.message, "below 4") != NULL,
               "ufm label out of range refused: '%s'", err.message);
    s.model = (nfi_model_kind)7;
    check_true(nfi_trainer_init_real(&t, &s, g_train, g_test, &err) == -1,
               "unknown model kind refused: '%s'", err.message);
    nfi_model_kind k;
    check_true(nfi_model_kind_parse("cnn", &k, &err) == -1 &&
                   strstr(err.message, "mlp or ufm") != NULL &&
                   nfi_model_kind_parse("ufm", &k, &err) == 0 &&
                   k == NFI_MODEL_UFM &&
                   strcmp(nfi_model_kind_name(NFI_MODEL_MLP), "mlp") == 0,
               "model names");
}

int main(void)
{
    harness_init("test_trainer_tasks", 1);
    make_gaussian();
    test_ufm_twins();
    test_ufm_learning();
    test_mlp_real();
    test_idx();
    test_errors();
    nfi_gaussian_free(&gauss);
    return harness_finish();
}
