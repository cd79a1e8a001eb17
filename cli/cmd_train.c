/* nfi train: trains a model (mlp or ufm) on a task (modular arithmetic,
 * Gaussian classes, IDX images) and writes a run directory.
 *
 * Every option is kept as the text it was given until all of them are
 * known, so that --config can fill them from a config.json and the
 * options after it can still override: the JSON holds the same texts
 * (numbers as written by the JSON writer, which read back to the same
 * binary64 values), and the run is a pure function of them. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "engine.h"
#include "modular.h"
#include "nfi_config.h"
#include "runlog.h"
#include "trace/atomic.h"
#include "trace/csv.h"
#include "trace/json.h"
#include "trace/npy.h"
#include "trace/rundir.h"
#include "train_resume.h"
#include "train_setup.h"
#include "trainer.h"

static const char train_usage[] =
"Usage: nfi train [OPTIONS] --out RUNDIR\n"
"       nfi train --resume RUNDIR\n"
"\n"
"Trains a model (an MLP, or the unconstrained features model) on a task\n"
"(modular arithmetic, Gaussian classes, IDX images) with every operation\n"
"rounded into the chosen formats, on the whole training set as one batch,\n"
"and writes the run directory RUNDIR:\n"
"  status             running, complete, failed or interrupted, and why\n"
"  config.json        every option, the format of each role, the engine,\n"
"                     the nfi version; --config reads it back\n"
"  metrics.csv        one row per logged step (the measurements of\n"
"                     train/trainer.h; exact binary64 values)\n"
"  snapshots/step_N/  the parameters after N updates, one .npy per tensor\n"
"                     (mlp with L hidden layers: W1 b1 ... WL bL, then\n"
"                     the classifier W{L+1} [b{L+1}], PyTorch nn.Linear\n"
"                     layout: weights (out, in); ufm: H (n_train, d),\n"
"                     W (K, d) [b]), NAME.json beside each with its nfi\n"
"                     format; step_0 (the initial parameters) in every\n"
"                     run; at logged steps also\n"
"                     samples.npy, (n_train, 4) float64 with columns\n"
"                     margin, z_y, absorbed (0 or 1), residual_mass of\n"
"                     each training sample in the forward pass of step N\n"
"                     (the parameters after N - 1 updates, as in the\n"
"                     metrics row of step N), samples.json describing it;\n"
"                     logits.npy, (n_train, K) float64, the training\n"
"                     logits of that forward pass (logits format), with\n"
"                     logits.json; logit_grads.npy, (n_train, K), the\n"
"                     gradient of each sample's loss term with respect\n"
"                     to its logits in that forward pass;\n"
"                     features.npy, (n_train, H) float64,\n"
"                     the penultimate features of that forward pass\n"
"                     (the ufm's H before the update), and\n"
"                     classifier.npy, (2, K, H), the classifier weights\n"
"                     before and after the update of step N.\n"
"                     Each snapshot is a checkpoint too: params.npy,\n"
"                     optim_m.npy, optim_v.npy (the parameter vector and\n"
"                     the optimizer's moments, float64, as the optimizer\n"
"                     has them) and state.json (the step, each role's\n"
"                     stochastic-rounding counter, the size and CRC-32 of\n"
"                     each array; written last)\n"
"  train_labels.npy   the label of each training sample, int64 (n_train),\n"
"                     in the order of the split (rows of samples.npy\n"
"                     and logits.npy)\n"
"  summary.json       absorption onset, first spike, final figures\n"
"Step N is the N-th update; its metrics describe its forward pass.  Rows\n"
"are logged at step 1, every --log-every steps and at the last step.\n"
"\n"
"Options (defaults in brackets):\n"
"  --task NAME          add, sub, mul or div: (a OP b) mod P, one-hot\n"
"                       inputs; gaussian: Gaussian classes; idx: images\n"
"                       and labels from IDX files; fashion-mnist: the\n"
"                       training files of Debian's dataset-fashion-mnist\n"
"                       [div]\n"
"  --modulus P          modular tasks: the modulus P, prime for div [23]\n"
"  --classes K          gaussian: classes [10]\n"
"  --per-class N        gaussian: samples per class [50]\n"
"  --input-dim D        gaussian: dimension of the inputs (the mlp's input\n"
"                       width; the ufm reads only the labels) [32]\n"
"  --mean-std X         gaussian: std. deviation of the class means [1]\n"
"  --noise-std X        gaussian: std. deviation of the noise [1]\n"
"  --images FILE        idx: the images, IDX unsigned bytes (gzip or not)\n"
"  --labels FILE        idx: the labels, IDX integers; K = max label + 1\n"
"  --subset N           idx, fashion-mnist: the first N samples [1000]\n"
"  --train-frac F       share of the samples used for training; the rest\n"
"                       is the test set (a shuffle keyed by --seed) [0.5]\n"
"  --model NAME         mlp, or ufm: every training sample owns a\n"
"                       trainable feature vector (no test accuracy) [mlp]\n"
"  --hidden H           mlp: hidden width; ufm: feature width d [128]\n"
"  --layers L           mlp: hidden layers, 1 to 8 [1]\n"
"  --classifier-bias on|off   a bias in the classifier [off]\n"
"  --optimizer NAME     sgd, adam or adamw [adam]\n"
"  --lr X               learning rate [1e-2]\n"
"  --beta1 X, --beta2 X Adam's moment decays [0.9, 0.999]\n"
"  --eps X              Adam's epsilon [1e-8]\n"
"  --weight-decay X     L2 (sgd, adam) or decoupled (adamw) [0]\n"
"  --momentum X         SGD momentum [0]\n"
"  --steps N            updates [30000]\n"
"  --format SPEC        format of every role [binary32]\n"
"  --policy ROLE=SPEC,...  per-role overrides; roles params activations\n"
"                       logits grads accum optim [none]\n"
"  --round MODE         rne rna rz ru rd sr [rne]\n"
"  --engine NAME        auto, fast, native (the fast engine) or mpfr\n"
"                       (every operation through MPFR; slow) [auto]\n"
"  --scheme NAME        cross-entropy: logsoftmax, lse, softmax\n"
"                       [logsoftmax]\n"
"  --order ORDER        summation order: sequential, pairwise,\n"
"                       blocked:B, lanes:L, exact [sequential]\n"
"  --seed S             split, Gaussian data, initialisation, stochastic\n"
"                       rounding; decimal, or hexadecimal with 0x [0]\n"
"  --log-every N        steps between metrics rows [100]\n"
"  --snapshot-every N   steps between snapshots; 0: the final one only [0]\n"
"  --init FILE          the initial parameters from an .npz or safetensors\n"
"                       file, the names and shapes of the snapshots\n"
"                       (float64, float32, float16 or bfloat16; every\n"
"                       tensor present, no other), rounded to nearest\n"
"                       into the params format (standard error says how\n"
"                       many values that changed) [none: seeded]\n"
"  --split FILE         modular tasks: the training and test sets from an\n"
"                       .npz with integer arrays train (n, 3) and test\n"
"                       (m, 3) of rows (a, b, label), trained in the\n"
"                       file's row order (--train-frac is then unused)\n"
"                       [none: the seeded split]\n"
"  --records full|metrics  full: the per-sample tensors of every logged\n"
"                       step (samples, logits, features, classifier .npy;\n"
"                       what nfi verify's per-sample claims read);\n"
"                       metrics: metrics.csv and the checkpoints only,\n"
"                       far smaller (what nfi sweep uses) [full]\n"
"  --out RUNDIR         the run directory (required)\n"
"  --force              replace an existing run directory\n"
"  --resume RUNDIR      continue the run in RUNDIR from its last checkpoint\n"
"                       (below); every option comes from its config.json,\n"
"                       so no other option is allowed (not --out, --force,\n"
"                       --config nor --steps)\n"
"  --config FILE        take the options from a config.json written by an\n"
"                       earlier run (the run repeats bit for bit); options\n"
"                       given after --config override it, those before it\n"
"                       are overridden\n"
"  -h, --help           this text\n"
"\n"
"Task options are accepted for their own tasks and model options for\n"
"their own model (the ufm reads only the labels of a task's samples,\n"
"whose data are made in full all the same); one given on the command\n"
"line for another task or model is refused (exit status 2); when such\n"
"an option comes from --config or the defaults it is recorded in\n"
"config.json and has no effect.\n"
"config.json records --init and --split files by absolute path, size and\n"
"CRC-32: --config and --resume refuse a file that has changed since.\n"
"Real inputs are rounded once, to nearest, into the activations format:\n"
"Gaussian values from binary64, IDX bytes v as the exact v/255.\n"
"\n"
"Snapshots are taken every --snapshot-every steps, at the last step and\n"
"at the step where a run stops.  On a terminal a progress line is shown\n"
"on standard error.  SIGINT or SIGTERM ends the run after the current\n"
"step: the status becomes interrupted, the final snapshot (a checkpoint\n"
"at the step reached) and summary are written and the exit status is 1.\n"
"\n"
"--resume RUNDIR continues an interrupted run, a failed one (from the\n"
"checkpoint before the failure: a failed run's final snapshot is none) or\n"
"one that was killed outright (its status still says running; it goes\n"
"back to the last snapshot it completed): metrics.csv is cut back to the\n"
"rows up to the checkpoint's step, the status says running, and the run\n"
"ends with the files an uninterrupted run writes, byte for byte, but for\n"
"the status reason and summary.json's wall-clock seconds (snapshots taken\n"
"only because the run stopped are removed when it completes).  A complete\n"
"run is not resumed: to train longer, start a new run with --config and\n"
"--steps.\n"
"\n"
"Exit status 2 is a usage error (also for --resume of a path that is not\n"
"a run directory, of a complete run or of one without a checkpoint), 1 a\n"
"failed run (also a damaged checkpoint or metrics.csv).\n"
"\n"
"Example:\n"
"  nfi train --task add --modulus 7 --hidden 16 --steps 30 --log-every 10"
" \\\n"
"            --out runs/add7\n";

/* The options, in the order config.json lists them. */
enum {
    O_TASK, O_MODULUS, O_CLASSES, O_PER_CLASS, O_INPUT_DIM, O_MEAN_STD,
    O_NOISE_STD, O_IMAGES, O_LABELS, O_SUBSET, O_TRAIN_FRAC, O_MODEL,
    O_HIDDEN, O_LAYERS,
    O_CLASSIFIER_BIAS, O_OPTIMIZER, O_LR, O_BETA1, O_BETA2, O_EPS,
    O_WEIGHT_DECAY, O_MOMENTUM, O_STEPS, O_FORMAT, O_POLICY, O_ROUND,
    O_ENGINE, O_SCHEME, O_ORDER, O_SEED, O_LOG_EVERY, O_SNAPSHOT_EVERY,
    O_INIT, O_SPLIT, O_RECORDS, O_OUT, O_COUNT
};

typedef enum { K_STR, K_INT, K_REAL, K_U64 } opt_kind;

typedef struct opt_def {
    const char *flag;  /* command-line name */
    const char *key;   /* config.json name */
    opt_kind kind;
    const char *def;   /* NULL: required */
} opt_def;

static const opt_def defs[O_COUNT] = {
    [O_TASK] = {"task", "task", K_STR, "div"},
    [O_MODULUS] = {"modulus", "modulus", K_INT, "23"},
    [O_CLASSES] = {"classes", "classes", K_INT, "10"},
    [O_PER_CLASS] = {"per-class", "per_class", K_INT, "50"},
    [O_INPUT_DIM] = {"input-dim", "input_dim", K_INT, "32"},
    [O_MEAN_STD] = {"mean-std", "mean_std", K_REAL, "1"},
    [O_NOISE_STD] = {"noise-std", "noise_std", K_REAL, "1"},
    [O_IMAGES] = {"images", "images", K_STR, ""},
    [O_LABELS] = {"labels", "labels", K_STR, ""},
    [O_SUBSET] = {"subset", "subset", K_INT, "1000"},
    [O_TRAIN_FRAC] = {"train-frac", "train_frac", K_REAL, "0.5"},
    [O_MODEL] = {"model", "model", K_STR, "mlp"},
    [O_HIDDEN] = {"hidden", "hidden", K_INT, "128"},
    [O_LAYERS] = {"layers", "layers", K_INT, "1"},
    [O_CLASSIFIER_BIAS] = {"classifier-bias", "classifier_bias", K_STR,
                           "off"},
    [O_OPTIMIZER] = {"optimizer", "optimizer", K_STR, "adam"},
    [O_LR] = {"lr", "lr", K_REAL, "1e-2"},
    [O_BETA1] = {"beta1", "beta1", K_REAL, "0.9"},
    [O_BETA2] = {"beta2", "beta2", K_REAL, "0.999"},
    [O_EPS] = {"eps", "eps", K_REAL, "1e-8"},
    [O_WEIGHT_DECAY] = {"weight-decay", "weight_decay", K_REAL, "0"},
    [O_MOMENTUM] = {"momentum", "momentum", K_REAL, "0"},
    [O_STEPS] = {"steps", "steps", K_INT, "30000"},
    [O_FORMAT] = {"format", "format", K_STR, "binary32"},
    [O_POLICY] = {"policy", "policy", K_STR, ""},
    [O_ROUND] = {"round", "round", K_STR, "rne"},
    [O_ENGINE] = {"engine", "engine", K_STR, "auto"},
    [O_SCHEME] = {"scheme", "scheme", K_STR, "logsoftmax"},
    [O_ORDER] = {"order", "order", K_STR, "sequential"},
    [O_SEED] = {"seed", "seed", K_U64, "0"},
    [O_LOG_EVERY] = {"log-every", "log_every", K_INT, "100"},
    [O_SNAPSHOT_EVERY] = {"snapshot-every", "snapshot_every", K_INT, "0"},
    [O_INIT] = {"init", "init", K_STR, ""},
    [O_SPLIT] = {"split", "split", K_STR, ""},
    [O_RECORDS] = {"records", "records", K_STR, "full"},
    [O_OUT] = {"out", "out", K_STR, NULL},
};

#define OPT_FORCE 1000
#define OPT_CONFIG 1001
#define OPT_RESUME 1002

/* The resolved configuration. */
typedef struct train_config {
    char *text[O_COUNT];   /* malloc'ed copies; NULL for unset */
    bool given[O_COUNT];   /* set on the command line, not by --config */
    nfi_task_config task;
    nfi_model_kind model;
    size_t n_train, n_test;
    const char *images, *labels; /* the IDX files read, or NULL */
    long modulus, hidden, layers, steps, log_every, snapshot_every;
    bool records;          /* --records full: per-sample tensors */
    double train_frac;
    uint64_t seed;
    nfi_modular_op op;
    nfi_engine_kind engine;
    nfi_train_spec spec;
    /* The files of --init and --split (index 0 and 1): their size and
     * CRC-32, and those config.json recorded (expect: the file must not
     * have changed since). */
    bool expect[2];
    uint64_t expect_bytes[2], bytes[2];
    uint32_t expect_crc[2], crc[2];
} train_config;

/* The options naming input files whose checksums config.json keeps. */
static const int input_opts[2] = {O_INIT, O_SPLIT};

/* Prints "nfi train: MESSAGE"; returns 2, a usage error. */
#define usage_error(...) nfi_cli_fail("train", 2, __VA_ARGS__)

static int set_text(train_config *c, int o, const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL) {
        fputs("nfi train: out of memory\n", stderr);
        return 1;
    }
    free(c->text[o]);
    c->text[o] = copy;
    return 0;
}

static void config_free(train_config *c)
{
    for (int o = 0; o < O_COUNT; o++)
        free(c->text[o]);
}

/* Fills the options from the "options" object of a config.json; flag
 * (--config or --resume) starts the messages. */
static int load_config(train_config *c, const char *path, const char *flag)
{
    nfi_error err;
    nfi_json_value *root = nfi_json_parse_file(path, &err);
    if (root == NULL)
        return usage_error("%s: %s", flag, err.message);
    int status = 0;
    const nfi_json_value *opts = nfi_json_member(root, "options", &err);
    if (opts == NULL || nfi_json_type_of(opts) != NFI_JSON_OBJECT) {
        status = usage_error("%s: %s", flag, opts == NULL ? err.message :
                             "$.options is not an object");
        goto done;
    }
    for (size_t i = 0; i < nfi_json_length(opts) && status == 0; i++) {
        const char *key = nfi_json_key_at(opts, i);
        const nfi_json_value *v = nfi_json_at(opts, i);
        int o = 0;
        while (o < O_COUNT && strcmp(defs[o].key, key) != 0)
            o++;
        if (o == O_COUNT) {
            status = usage_error("%s: %s: unknown option '%s' in "
                                 "$.options", flag, path, key);
            break;
        }
        const char *s = NULL;
        if (defs[o].kind == K_STR) {
            if (nfi_json_as_string(v, &s, NULL, &err) != 0)
                status = usage_error("%s: %s", flag, err.message);
        } else if (nfi_json_type_of(v) == NFI_JSON_NUMBER) {
            s = nfi_json_number_text(v);
        } else if (nfi_json_as_string(v, &s, NULL, &err) != 0) {
            /* nan and the infinities are written as strings */
            status = usage_error("%s: %s", flag, err.message);
        }
        if (status == 0)
            status = set_text(c, o, s);
        c->given[o] = false;
    }
    /* The checksums of the input files, which must not have changed. */
    const nfi_json_value *in = nfi_json_get(root, "inputs");
    for (int i = 0; i < 2 && status == 0 && in != NULL; i++) {
        const nfi_json_value *f = nfi_json_get(in, defs[input_opts[i]].key);
        c->expect[i] = false;
        if (f == NULL)
            continue;
        const char *crc = NULL;
        const nfi_json_value *b = nfi_json_get(f, "bytes");
        const nfi_json_value *k = nfi_json_get(f, "crc32");
        if (b == NULL || k == NULL ||
            nfi_json_as_uint64(b, &c->expect_bytes[i], NULL) != 0 ||
            nfi_json_as_string(k, &crc, NULL, NULL) != 0 ||
            strlen(crc) != 8) {
            status = usage_error("%s: %s: $.inputs.%s needs bytes and an "
                                 "8-digit crc32", flag, path,
                                 defs[input_opts[i]].key);
            break;
        }
        c->expect_crc[i] = (uint32_t)strtoul(crc, NULL, 16);
        c->expect[i] = true;
    }
done:
    nfi_json_free(root);
    return status;
}

static int parse_long(const char *flag, const char *s, long lo, long hi,
                      long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
        return usage_error("--%s '%s' is not a whole number from %ld to "
                           "%ld", flag, s, lo, hi);
    *out = v;
    return 0;
}

static int parse_real(const char *flag, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0')
        return usage_error("--%s '%s' is not a number", flag, s);
    *out = v;
    return 0;
}

/* Where an option applies: tasks (bits of nfi_task_kind; 0 for all)
 * and models (NFI_MODEL_MLP, or -1 for all). */
typedef struct opt_scope {
    int o;
    unsigned tasks;
    int model;
} opt_scope;

#define T_MOD (1u << NFI_TASK_MODULAR)
#define T_GAUSS (1u << NFI_TASK_GAUSSIAN)
#define T_IDX (1u << NFI_TASK_IDX)
#define T_FASHION (1u << NFI_TASK_FASHION_MNIST)

static const opt_scope scopes[] = {
    {O_MODULUS, T_MOD, -1},
    {O_CLASSES, T_GAUSS, -1},
    {O_PER_CLASS, T_GAUSS, -1},
    {O_INPUT_DIM, T_GAUSS, -1},
    {O_MEAN_STD, T_GAUSS, -1},
    {O_NOISE_STD, T_GAUSS, -1},
    {O_IMAGES, T_IDX, -1},
    {O_LABELS, T_IDX, -1},
    {O_SUBSET, T_IDX | T_FASHION, -1},
    {O_LAYERS, 0, NFI_MODEL_MLP},
    {O_SPLIT, T_MOD, -1},
};

static const char *task_list(unsigned tasks)
{
    switch (tasks) {
    case T_MOD: return "the modular tasks (add, sub, mul, div)";
    case T_GAUSS: return "--task gaussian";
    case T_IDX: return "--task idx";
    default: return "--task idx and --task fashion-mnist";
    }
}

/* The task, the model and the task's own options; refuses an option of
 * another task or model given on the command line. */
static int resolve_task(train_config *c)
{
    nfi_error err;
    const char *const *t = (const char *const *)c->text;
    nfi_task_config *tc = &c->task;
    memset(tc, 0, sizeof *tc);
    if (nfi_task_parse(t[O_TASK], tc, &err) != 0)
        return usage_error("--task: %s", err.message);
    c->op = tc->op;
    if (nfi_model_kind_parse(t[O_MODEL], &c->model, &err) != 0)
        return usage_error("--model: %s", err.message);
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
        const opt_scope *sc = &scopes[i];
        if (!c->given[sc->o])
            continue;
        if (sc->tasks != 0 && (sc->tasks & (1u << tc->kind)) == 0)
            return usage_error("--%s applies to %s, not to --task %s; "
                               "leave it out", defs[sc->o].flag,
                               task_list(sc->tasks), t[O_TASK]);
        if (sc->model >= 0 && (int)c->model != sc->model)
            return usage_error("--%s applies to --model %s, not to --model "
                               "%s%s; leave it out", defs[sc->o].flag,
                               nfi_model_kind_name(
                                   (nfi_model_kind)sc->model),
                               t[O_MODEL], c->model == NFI_MODEL_UFM ?
                               " (a ufm has no hidden layers)" : "");
    }
    long classes = 0, per_class = 0, input_dim = 0, subset = 0;
    int rc;
    if ((rc = parse_long("classes", t[O_CLASSES], 2, NFI_TASK_MAX_CLASSES,
                         &classes)) ||
        (rc = parse_long("per-class", t[O_PER_CLASS], 1, 1L << 30,
                         &per_class)) ||
        (rc = parse_long("input-dim", t[O_INPUT_DIM], 1, 1L << 24,
                         &input_dim)) ||
        (rc = parse_long("subset", t[O_SUBSET], 1, UINT32_MAX, &subset)) ||
        (rc = parse_real("mean-std", t[O_MEAN_STD], &tc->mean_std)) ||
        (rc = parse_real("noise-std", t[O_NOISE_STD], &tc->noise_std)))
        return rc;
    if (!(isfinite(tc->mean_std) && tc->mean_std >= 0))
        return usage_error("--mean-std '%s' must be a finite number >= 0",
                           t[O_MEAN_STD]);
    if (!(isfinite(tc->noise_std) && tc->noise_std >= 0))
        return usage_error("--noise-std '%s' must be a finite number >= 0",
                           t[O_NOISE_STD]);
    tc->classes = (size_t)classes;
    tc->per_class = (size_t)per_class;
    tc->input_dim = (size_t)input_dim;
    tc->subset = (size_t)subset;
    /* config.json keeps the IDX paths absolute, so that --config and
     * --resume find the files from any working directory. */
    for (int o = O_IMAGES; o <= O_LABELS; o++) {
        if (c->text[o][0] == '\0')
            continue;
        char *absolute = realpath(c->text[o], NULL);
        if (absolute == NULL)
            continue; /* the task setup names the missing file */
        rc = set_text(c, o, absolute);
        free(absolute);
        if (rc != 0)
            return rc;
    }
    tc->images = c->text[O_IMAGES];
    tc->labels = c->text[O_LABELS];
    /* --init and --split likewise; a file given on the command line
     * replaces the one config.json recorded, with its checksum. */
    for (int i = 0; i < 2; i++) {
        int o = input_opts[i];
        if (c->given[o])
            c->expect[i] = false;
        if (c->text[o][0] == '\0')
            continue;
        char *absolute = realpath(c->text[o], NULL);
        if (absolute == NULL)
            return usage_error("--%s '%s': %s", defs[o].flag, c->text[o],
                               strerror(errno));
        rc = set_text(c, o, absolute);
        free(absolute);
        if (rc != 0)
            return rc;
        nfi_error err2;
        size_t len;
        char *bytes = nfi_read_file(c->text[o], &len, &err2);
        if (bytes == NULL)
            return usage_error("--%s: %s", defs[o].flag, err2.message);
        c->bytes[i] = len;
        c->crc[i] = nfi_crc32(0, bytes, len);
        free(bytes);
        if (c->expect[i] && (c->bytes[i] != c->expect_bytes[i] ||
                             c->crc[i] != c->expect_crc[i]))
            return usage_error("--%s '%s' has changed since the run "
                               "recorded it (%" PRIu64 " bytes, CRC-32 %08"
                               PRIx32 "; now %" PRIu64 " bytes, CRC-32 %08"
                               PRIx32 "): the run would not repeat; "
                               "restore the file, or (with --config) give "
                               "--%s FILE on the command line to accept "
                               "the new one", defs[o].flag, c->text[o],
                               c->expect_bytes[i], c->expect_crc[i],
                               c->bytes[i], c->crc[i], defs[o].flag);
    }
    tc->split = c->text[O_SPLIT];
    return 0;
}

/* Checks and converts every option; returns 0 or the exit status. */
static int resolve(train_config *c)
{
    nfi_error err;
    const char *const *t = (const char *const *)c->text;
    for (int o = 0; o < O_COUNT; o++)
        if (t[o] == NULL)
            return usage_error("--%s is required (see 'nfi help train')",
                               defs[o].flag);

    int rc;
    if ((rc = resolve_task(c)) != 0)
        return rc;
    if ((rc = parse_long("modulus", t[O_MODULUS], 0, NFI_MODULAR_P_MAX,
                         &c->modulus)) ||
        (rc = parse_long("hidden", t[O_HIDDEN], 1, 1L << 20,
                         &c->hidden)) ||
        (rc = parse_long("layers", t[O_LAYERS], 1, NFI_MLP_MAX_LAYERS,
                         &c->layers)) ||
        (rc = parse_long("steps", t[O_STEPS], 1, LONG_MAX, &c->steps)) ||
        (rc = parse_long("log-every", t[O_LOG_EVERY], 1, LONG_MAX,
                         &c->log_every)) ||
        (rc = parse_long("snapshot-every", t[O_SNAPSHOT_EVERY], 0, LONG_MAX,
                         &c->snapshot_every)))
        return rc;
    if (strcmp(t[O_RECORDS], "full") == 0)
        c->records = true;
    else if (strcmp(t[O_RECORDS], "metrics") == 0)
        c->records = false;
    else
        return usage_error("--records '%s': write full or metrics",
                           t[O_RECORDS]);
    if ((rc = parse_real("train-frac", t[O_TRAIN_FRAC], &c->train_frac)))
        return rc;
    if (!(c->train_frac > 0.0 && c->train_frac < 1.0))
        return usage_error("--train-frac '%s' must be a number between 0 "
                           "and 1 (exclusive)", t[O_TRAIN_FRAC]);
    {
        const char *s = t[O_SEED];
        char *end;
        errno = 0;
        /* Hexadecimal with 0x; otherwise decimal, never octal. */
        bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        unsigned long long v = strtoull(s, &end, hex ? 16 : 10);
        if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0)
            return usage_error("--seed '%s' is not a whole number from 0 "
                               "to 2^64 - 1", s);
        c->seed = v;
    }

    nfi_train_spec *sp = &c->spec;
    memset(sp, 0, sizeof *sp);
    if (strcmp(t[O_CLASSIFIER_BIAS], "on") == 0)
        sp->classifier_bias = true;
    else if (strcmp(t[O_CLASSIFIER_BIAS], "off") != 0)
        return usage_error("--classifier-bias '%s': write on or off",
                           t[O_CLASSIFIER_BIAS]);
    nfi_format base;
    if (nfi_format_parse(t[O_FORMAT], &base, &err) != 0)
        return usage_error("--format: %s", err.message);
    if (nfi_policy_parse(t[O_FORMAT], t[O_POLICY], &sp->policy, &err) != 0)
        return usage_error("--policy: %s", err.message);
    /* The trainer's own refusal would not say which flag to change. */
    for (int r = 0; r < NFI_ROLE_COUNT; r++) {
        const nfi_format *f = &sp->policy.format[r];
        if (nfi_format_fits_binary64(f))
            continue;
        char spell[256];
        nfi_format_spell(f, spell, sizeof spell);
        bool from_base = !nfi_format_fits_binary64(&base);
        return usage_error("--%s: %s for the %s role is wider than "
                           "binary64; training runs on formats inside "
                           "binary64 (p <= 53, exponents within "
                           "binary64's)", from_base ? "format" : "policy",
                           spell, nfi_role_name((nfi_role)r));
    }
    if (nfi_round_parse(t[O_ROUND], &sp->mode, &err) != 0)
        return usage_error("--round: %s", err.message);
    if (nfi_engine_parse(t[O_ENGINE], &c->engine, &err) != 0)
        return usage_error("--engine: %s", err.message);
    sp->reference = c->engine == NFI_ENGINE_MPFR;
    if (nfi_ce_scheme_parse(t[O_SCHEME], &sp->scheme, &err) != 0)
        return usage_error("--scheme: %s", err.message);
    if (nfi_reduction_parse(t[O_ORDER], &sp->order, &err) != 0)
        return usage_error("--order: %s", err.message);

    nfi_optim_config *oc = &sp->optim;
    if (nfi_optim_kind_parse(t[O_OPTIMIZER], &oc->kind, &err) != 0)
        return usage_error("--optimizer: %s", err.message);
    static const int reals[] = {O_LR, O_BETA1, O_BETA2, O_EPS,
                                O_WEIGHT_DECAY, O_MOMENTUM};
    double *dst[] = {&oc->lr, &oc->beta1, &oc->beta2, &oc->eps,
                     &oc->weight_decay, &oc->momentum};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if ((rc = parse_real(defs[reals[i]].flag, t[reals[i]], dst[i])))
            return rc;
    /* Each value is checked on its own among valid ones, so that the
     * message can name its flag. */
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        nfi_optim_config one = {oc->kind, 1e-2, 0.9, 0.999, 1e-8, 0, 0};
        double *field[] = {&one.lr, &one.beta1, &one.beta2, &one.eps,
                           &one.weight_decay, &one.momentum};
        *field[i] = *dst[i];
        if (nfi_optim_config_check(&one, &err) != 0)
            return usage_error("--%s: %s", defs[reals[i]].flag,
                               err.message);
    }
    if (nfi_optim_config_check(oc, &err) != 0)
        return usage_error("%s", err.message);

    sp->hidden = (size_t)c->hidden;
    sp->layers = (size_t)c->layers;
    sp->seed = c->seed;
    sp->model = c->model;
    c->task.modulus = c->modulus;
    c->task.train_frac = c->train_frac;
    c->task.seed = c->seed;
    return 0;
}

/* ---- Signals and progress ---- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* ---- Writing the run directory ---- */

static const char *const metric_names[] = {
    "step", "loss", "train_acc", "test_acc", "absorbed_frac",
    "underflow_frac", "zero_sum_residual", "residual_mass", "margin_min",
    "margin_mean", "margin_max", "w_mean_norm", "feat_mean_norm", "w_norm",
    "param_norm", "update_norm", "logit_mean",
};
#define N_METRICS (sizeof metric_names / sizeof metric_names[0])

static int write_row(nfi_csv_writer *w, const nfi_step_metrics *m,
                     nfi_error *err)
{
    const double v[] = {
        m->loss, m->train_acc, m->test_acc, m->absorbed_frac,
        m->underflow_frac, m->zero_sum_residual, m->residual_mass,
        m->margin_min, m->margin_mean, m->margin_max, m->w_mean_norm,
        m->feat_mean_norm, m->w_norm, m->param_norm, m->update_norm,
        m->logit_mean,
    };
    nfi_csv_add_int(w, m->step);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        nfi_csv_add_double(w, v[i]);
    return nfi_csv_end_row(w, err);
}

static void json_metrics(nfi_json_writer *j, const nfi_step_metrics *m)
{
    const double v[] = {
        m->loss, m->train_acc, m->test_acc, m->absorbed_frac,
        m->underflow_frac, m->zero_sum_residual, m->residual_mass,
        m->margin_min, m->margin_mean, m->margin_max, m->w_mean_norm,
        m->feat_mean_norm, m->w_norm, m->param_norm, m->update_norm,
        m->logit_mean,
    };
    nfi_json_begin_object(j);
    nfi_json_key(j, "step");
    nfi_json_int(j, m->step);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        nfi_json_key(j, metric_names[i + 1]);
        nfi_json_double(j, v[i]);
    }
    nfi_json_end_object(j);
}

static int save_json(nfi_rundir *rd, nfi_json_writer *j, const char *name,
                     nfi_error *err)
{
    char path[4096];
    if (nfi_rundir_file(rd, name, path, sizeof path, err) != 0)
        return -1;
    return nfi_json_writer_save(j, path, err);
}

static int write_config(nfi_rundir *rd, const train_config *c,
                        nfi_error *err)
{
    nfi_json_writer *j = nfi_json_writer_new();
    if (j == NULL)
        return nfi_error_set(err, "out of memory writing config.json");
    nfi_json_begin_object(j);
    nfi_json_key(j, "nfi_version");
    nfi_json_string(j, NFI_VERSION);
    nfi_json_key(j, "command");
    nfi_json_string(j, "train");
    nfi_json_key(j, "options");
    nfi_json_begin_object(j);
    for (int o = 0; o < O_COUNT; o++) {
        nfi_json_key(j, defs[o].key);
        switch (defs[o].kind) {
        case K_STR: nfi_json_string(j, c->text[o]); break;
        case K_U64: nfi_json_uint(j, c->seed); break;
        case K_INT: nfi_json_int(j, strtol(c->text[o], NULL, 10)); break;
        case K_REAL: nfi_json_double(j, strtod(c->text[o], NULL)); break;
        }
    }
    nfi_json_end_object(j);

    /* What the options resolve to, for readers; --config ignores it. */
    nfi_json_key(j, "resolved");
    nfi_json_begin_object(j);
    nfi_json_key(j, "formats");
    nfi_json_begin_object(j);
    for (int r = 0; r < NFI_ROLE_COUNT; r++) {
        char spell[256];
        nfi_format_spell(&c->spec.policy.format[r], spell, sizeof spell);
        nfi_json_key(j, nfi_role_name((nfi_role)r));
        nfi_json_string(j, spell);
    }
    nfi_json_end_object(j);
    char order[64];
    nfi_reduction_spell(&c->spec.order, order, sizeof order);
    nfi_json_key(j, "engine");
    nfi_json_string(j, c->spec.reference ? "mpfr" : "fast");
    nfi_json_key(j, "round");
    nfi_json_string(j, nfi_round_name(c->spec.mode));
    nfi_json_key(j, "scheme");
    nfi_json_string(j, nfi_ce_scheme_name(c->spec.scheme));
    nfi_json_key(j, "order");
    nfi_json_string(j, order);
    nfi_json_key(j, "optimizer");
    nfi_json_string(j, nfi_optim_kind_name(c->spec.optim.kind));
    nfi_json_key(j, "task");
    nfi_json_string(j, nfi_task_name(&c->task));
    nfi_json_key(j, "model");
    nfi_json_string(j, nfi_model_kind_name(c->spec.model));
    nfi_json_key(j, "n_train");
    nfi_json_uint(j, c->n_train);
    nfi_json_key(j, "n_test");
    nfi_json_uint(j, c->n_test);
    if (c->images != NULL) {
        nfi_json_key(j, "images");
        nfi_json_string(j, c->images);
        nfi_json_key(j, "labels");
        nfi_json_string(j, c->labels);
    }
    nfi_json_key(j, "seed");
    nfi_json_uint(j, c->seed);
    nfi_json_key(j, "input_width");
    nfi_json_uint(j, c->spec.input_width);
    nfi_json_key(j, "classes");
    nfi_json_uint(j, c->spec.classes);
    nfi_json_end_object(j);

    /* The input files, so that --config and --resume refuse changed
     * ones. */
    nfi_json_key(j, "inputs");
    nfi_json_begin_object(j);
    for (int i = 0; i < 2; i++) {
        int o = input_opts[i];
        if (c->text[o][0] == '\0')
            continue;
        char crc[16];
        snprintf(crc, sizeof crc, "%08" PRIx32, c->crc[i]);
        nfi_json_key(j, defs[o].key);
        nfi_json_begin_object(j);
        nfi_json_key(j, "path");
        nfi_json_string(j, c->text[o]);
        nfi_json_key(j, "bytes");
        nfi_json_uint(j, c->bytes[i]);
        nfi_json_key(j, "crc32");
        nfi_json_string(j, crc);
        nfi_json_end_object(j);
    }
    nfi_json_end_object(j);
    nfi_json_end_object(j);
    int rc = save_json(rd, j, NFI_RUNDIR_CONFIG, err);
    nfi_json_writer_free(j);
    return rc;
}

/* Writes an array and NAME.json (its nfi format) into snapshots/step_N. */
static int write_tensor(nfi_rundir *rd, long step, const char *name,
                        int ndim, const size_t *shape, const double *data,
                        const char *format, const char *role,
                        const char *about, nfi_error *err)
{
    char file[256], path[4096];
    snprintf(file, sizeof file, "%s.npy", name);
    if (nfi_rundir_snapshot_file(rd, step, file, path, sizeof path,
                                 err) != 0 ||
        nfi_npy_write(path, NFI_DTYPE_FLOAT64, ndim, shape, data, err) != 0)
        return -1;
    nfi_json_writer *j = nfi_json_writer_new();
    if (j == NULL)
        return nfi_error_set(err, "out of memory writing %s.json", name);
    nfi_json_begin_object(j);
    nfi_json_key(j, "name");
    nfi_json_string(j, name);
    nfi_json_key(j, "step");
    nfi_json_int(j, step);
    nfi_json_key(j, "dtype");
    nfi_json_string(j, "float64");
    nfi_json_key(j, "shape");
    nfi_json_begin_array(j);
    for (int d = 0; d < ndim; d++)
        nfi_json_uint(j, shape[d]);
    nfi_json_end_array(j);
    if (role != NULL) {
        nfi_json_key(j, "role");
        nfi_json_string(j, role);
    }
    if (format != NULL) {
        nfi_json_key(j, "format");
        nfi_json_string(j, format);
    }
    if (about != NULL) {
        nfi_json_key(j, "about");
        nfi_json_string(j, about);
    }
    nfi_json_end_object(j);
    snprintf(file, sizeof file, "%s.json", name);
    int rc = nfi_rundir_snapshot_file(rd, step, file, path, sizeof path,
                                      err);
    if (rc == 0)
        rc = nfi_json_writer_save(j, path, err);
    nfi_json_writer_free(j);
    return rc;
}

/* The ufm's tensors: H (N, d), W (K, d), b (K). */
static int write_ufm_snapshot(nfi_rundir *rd, const nfi_trainer *t,
                              const char *format, nfi_error *err)
{
    const nfi_ufm *u = &t->ufm;
    size_t hshape[2] = {u->n, u->d}, wshape[2] = {u->classes, u->d};
    if (write_tensor(rd, t->step, "H", 2, hshape, u->params + u->offset_h,
                     format, "params", "the feature vector of each "
                     "training sample, in the order of the split",
                     err) != 0 ||
        write_tensor(rd, t->step, "W", 2, wshape, u->params + u->offset_w,
                     format, "params", NULL, err) != 0)
        return -1;
    if (!u->bias)
        return 0;
    return write_tensor(rd, t->step, "b", 1, &u->classes,
                        u->params + u->offset_b, format, "params", NULL,
                        err);
}

static int write_snapshot(nfi_rundir *rd, const nfi_trainer *t,
                          nfi_error *err)
{
    const nfi_mlp *m = &t->model;
    char format[256];
    nfi_format_spell(&t->spec.policy.format[NFI_ROLE_PARAMS], format,
                     sizeof format);
    if (t->spec.model == NFI_MODEL_UFM)
        return write_ufm_snapshot(rd, t, format, err);
    for (size_t l = 0; l <= m->layers; l++) {
        bool last = l == m->layers;
        size_t out = last ? m->classes : m->hidden;
        size_t in = l == 0 ? m->in : m->hidden;
        char wname[32], bname[32];
        snprintf(wname, sizeof wname, "W%zu", l + 1);
        snprintf(bname, sizeof bname, "b%zu", l + 1);
        size_t wshape[2] = {out, in};
        if (write_tensor(rd, t->step, wname, 2, wshape,
                         m->params + m->offset_w[l], format, "params",
                         NULL, err) != 0)
            return -1;
        if (last && !m->classifier_bias)
            continue;
        if (write_tensor(rd, t->step, bname, 1, &out,
                         m->params + m->offset_b[l], format, "params", NULL,
                         err) != 0)
            return -1;
    }
    return 0;
}

/* A snapshot that is a checkpoint too: the tensors, then (with
 * metrics.csv synced up to this step, when csv is open) the checkpoint's
 * files, its state.json last. */
static int write_checkpoint(nfi_rundir *rd, nfi_trainer *t,
                            nfi_csv_writer *csv, nfi_error *err)
{
    char dir[4096];
    if (write_snapshot(rd, t, err) != 0 ||
        (csv != NULL && nfi_csv_sync(csv, err) != 0) ||
        train_snapshot_dir(rd, t->step, dir, sizeof dir, err) != 0)
        return -1;
    return nfi_checkpoint_save(t, dir, err);
}

static int write_samples(nfi_rundir *rd, long step,
                         const nfi_sample_record *rec, size_t n,
                         double *buf, nfi_error *err)
{
    for (size_t i = 0; i < n; i++) {
        buf[4 * i] = rec[i].margin;
        buf[4 * i + 1] = rec[i].z_y;
        buf[4 * i + 2] = rec[i].absorbed ? 1.0 : 0.0;
        buf[4 * i + 3] = rec[i].residual_mass;
    }
    size_t shape[2] = {n, 4};
    return write_tensor(rd, step, "samples", 2, shape, buf, NULL, NULL,
                        "per training sample, in the order of the split: "
                        "margin, z_y, absorbed (0 or 1), residual_mass, "
                        "in the forward pass of this step (parameters "
                        "before its update)", err);
}

/* The training logits of the step's forward pass, (N, K). */
static int write_logits(nfi_rundir *rd, const nfi_trainer *t, long step,
                        nfi_error *err)
{
    char format[256];
    nfi_format_spell(&t->spec.policy.format[NFI_ROLE_LOGITS], format,
                     sizeof format);
    size_t shape[2] = {t->train.n, t->spec.classes};
    return write_tensor(rd, step, "logits", 2, shape,
                        nfi_trainer_train_logits(t), format, "logits",
                        "the training logits of the forward pass of this "
                        "step (parameters before its update), one row "
                        "per training sample in the order of the split; "
                        "labels in train_labels.npy", err);
}

/* The logit gradients of the step's forward pass, (N, K). */
static int write_dlogits(nfi_rundir *rd, const nfi_trainer *t, long step,
                         nfi_error *err)
{
    char format[256];
    nfi_format_spell(&t->spec.policy.format[NFI_ROLE_LOGITS], format,
                     sizeof format);
    size_t shape[2] = {t->train.n, t->spec.classes};
    return write_tensor(rd, step, "logit_grads", 2, shape,
                        nfi_trainer_train_dlogits(t), format, "logits",
                        "the gradients of the loss term of each training "
                        "sample with respect to its logits, as the "
                        "cross-entropy computed them in the forward pass "
                        "of this step (not divided by N)", err);
}

/* features.npy (N, width) and classifier.npy (2, K, width): the
 * penultimate features of the step's forward pass and the classifier
 * weights before and after its update. */
static int write_drift(nfi_rundir *rd, const nfi_trainer *t, long step,
                       nfi_error *err)
{
    nfi_step_view v;
    nfi_trainer_step_view(t, &v);
    size_t k = t->spec.classes, n = t->train.n;
    nfi_role frole = t->spec.model == NFI_MODEL_UFM ? NFI_ROLE_PARAMS
                                                    : NFI_ROLE_ACTIVATIONS;
    char ff[256], pf[256];
    nfi_format_spell(&t->spec.policy.format[frole], ff, sizeof ff);
    nfi_format_spell(&t->spec.policy.format[NFI_ROLE_PARAMS], pf,
                     sizeof pf);
    double *w = malloc((2 * k * v.width > 0 ? 2 * k * v.width : 1) *
                       sizeof *w);
    if (w == NULL)
        return nfi_error_set(err, "out of memory writing classifier.npy");
    memcpy(w, v.w_before, k * v.width * sizeof *w);
    memcpy(w + k * v.width, v.w_after, k * v.width * sizeof *w);
    size_t fshape[2] = {n, v.width}, wshape[3] = {2, k, v.width};
    int rc = write_tensor(rd, step, "features", 2, fshape, v.features, ff,
                          nfi_role_name(frole), "the penultimate features "
                          "of the forward pass of this step, one row per "
                          "training sample in the order of the split",
                          err);
    if (rc == 0)
        rc = write_tensor(rd, step, "classifier", 3, wshape, w, pf,
                          "params", "the classifier weights (K, width) "
                          "before [0] and after [1] this step's update",
                          err);
    free(w);
    return rc;
}

/* train_labels.npy: the label of each training sample, in the order of
 * the split, int64 (N). */
static int write_labels(nfi_rundir *rd, const nfi_trainer *t,
                        nfi_error *err)
{
    size_t n = t->train.n;
    int64_t *lab = malloc((n > 0 ? n : 1) * sizeof *lab);
    if (lab == NULL)
        return nfi_error_set(err, "out of memory writing the labels");
    for (size_t i = 0; i < n; i++)
        lab[i] = t->train.label[i];
    char path[4096];
    int rc = nfi_rundir_file(rd, NFI_RUNDIR_TRAIN_LABELS, path,
                             sizeof path, err);
    if (rc == 0)
        rc = nfi_npy_write(path, NFI_DTYPE_INT64, 1, &n, lab, err);
    free(lab);
    return rc;
}

typedef struct run_summary {
    long onset;            /* -1: none */
    long spike;            /* -1: none */
    double spike_loss, spike_min;
    long spikes;           /* logged steps that start a spike */
    double running_min;
    bool in_spike;
    bool have_last;
    nfi_step_metrics last;
} run_summary;

/* Takes the metrics of a logged step into the summary; on a terminal,
 * announces absorption onset and loss spikes. */
static void summary_add(run_summary *s, const nfi_step_metrics *m,
                        bool tty)
{
    if (s->onset < 0 && m->absorbed_frac > 0) {
        s->onset = m->step;
        if (tty)
            fprintf(stderr, "\r\033[Kstep %ld: absorption starts "
                    "(absorbed fraction %.4g)\n", m->step,
                    m->absorbed_frac);
    }
    bool spike = nfi_loss_is_spike(m->loss, s->running_min);
    if (spike && !s->in_spike) {
        s->spikes++;
        if (s->spike < 0) {
            s->spike = m->step;
            s->spike_loss = m->loss;
            s->spike_min = s->running_min;
        }
        if (tty)
            fprintf(stderr, "\r\033[Kstep %ld: loss spike, %.6g "
                    "after a minimum of %.6g\n", m->step, m->loss,
                    s->running_min);
    }
    s->in_spike = spike;
    s->running_min = nfi_loss_min_update(s->running_min, m->loss);
    s->last = *m;
    s->have_last = true;
}

static int write_summary(nfi_rundir *rd, const run_summary *s,
                         const char *state, long steps_done, double secs,
                         nfi_error *err)
{
    nfi_json_writer *j = nfi_json_writer_new();
    if (j == NULL)
        return nfi_error_set(err, "out of memory writing summary.json");
    nfi_json_begin_object(j);
    nfi_json_key(j, "status");
    nfi_json_string(j, state);
    nfi_json_key(j, "steps_done");
    nfi_json_int(j, steps_done);
    nfi_json_key(j, "seconds");
    nfi_json_double(j, secs);
    nfi_json_key(j, "absorption_onset");
    if (s->onset >= 0)
        nfi_json_int(j, s->onset);
    else
        nfi_json_null(j);
    nfi_json_key(j, "first_spike");
    if (s->spike >= 0) {
        nfi_json_begin_object(j);
        nfi_json_key(j, "step");
        nfi_json_int(j, s->spike);
        nfi_json_key(j, "loss");
        nfi_json_double(j, s->spike_loss);
        nfi_json_key(j, "running_min");
        nfi_json_double(j, s->spike_min);
        nfi_json_end_object(j);
    } else {
        nfi_json_null(j);
    }
    nfi_json_key(j, "spikes");
    nfi_json_int(j, s->spikes);
    nfi_json_key(j, "definitions");
    nfi_json_string(j, "absorption_onset: first logged step with "
                    "absorbed_frac > 0; spike: a logged step whose loss is "
                    "at least 10 times the minimum of the earlier logged "
                    "positive losses (spikes counts the starts of runs of "
                    "such steps)");
    nfi_json_key(j, "final");
    if (s->have_last)
        json_metrics(j, &s->last);
    else
        nfi_json_null(j);
    nfi_json_end_object(j);
    int rc = save_json(rd, j, NFI_RUNDIR_SUMMARY, err);
    nfi_json_writer_free(j);
    return rc;
}

/* ---- The command ---- */

/* Whether step has a metrics row: step 1, every --log-every and the
 * last. */
static bool logged_step(const train_config *c, long step)
{
    return step == 1 || step % c->log_every == 0 || step == c->steps;
}

static int resume_open(const train_config *c, nfi_trainer *t,
                       nfi_rundir **rdp, nfi_csv_writer **csvp,
                       run_summary *sum);
static int resume_finish(nfi_rundir *rd, const train_config *c);

/* Runs the configuration c into a new run directory, or, when resume is
 * true, on in the run directory c->text[O_OUT] from its last
 * checkpoint. */
/* Warns (standard error) when a hyperparameter that enters the optim
 * arithmetic rounds to 0 there: Adam's eps of 0 makes m / sqrt(v) a 0/0
 * wherever v is 0, and a zero learning rate stops training. */
static void warn_vanishing_hyperparameters(const nfi_train_spec *spec)
{
    const nfi_format *f = &spec->policy.format[NFI_ROLE_OPTIM];
    struct {
        const char *flag;
        double value;
        bool applies;
    } h[] = {{"--eps", spec->optim.eps, spec->optim.kind != NFI_OPTIM_SGD},
             {"--lr", spec->optim.lr, true}};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++) {
        if (!h[i].applies || h[i].value == 0.0)
            continue;
        double r = nfi_mpfr_op_d(NFI_OP_CVT, h[i].value, 0.0, 0.0, f,
                                 NFI_ROUND_RNE, 0);
        if (r == 0.0) {
            char name[128];
            nfi_format_spell(f, name, sizeof name);
            fprintf(stderr, "nfi train: warning: %s %g rounds to 0 in the "
                    "optim format %s; give a larger value or a wider "
                    "optim format (--policy optim=binary32)\n", h[i].flag,
                    h[i].value, name);
        }
    }
}

static int run(train_config *c, bool force, bool resume)
{
    nfi_error err;
    bool tty = isatty(2);
    nfi_task_data data;
    const char *flag = "task";
    if (nfi_task_data_make(&c->task,
                           &c->spec.policy.format[NFI_ROLE_ACTIVATIONS],
                           &data, &flag, &err) != 0)
        return usage_error("--%s: %s", flag, err.message);
    c->spec.input_width = data.input_width;
    c->spec.classes = data.classes;
    c->n_train = data.n_train;
    c->n_test = data.n_test;
    c->images = data.images;
    c->labels = data.labels;

    int status = 0;
    nfi_trainer t;
    nfi_rundir *rd = NULL;
    nfi_csv_writer *csv = NULL;
    nfi_sample_record *rec = NULL;
    double *buf = NULL;
    warn_vanishing_hyperparameters(&c->spec);
    if (nfi_task_trainer_init(&t, &c->spec, &data, &err) != 0) {
        status = usage_error("%s", err.message);
        nfi_task_data_free(&data);
        return status;
    }
    if (c->text[O_INIT][0] != '\0') {
        nfi_init_change ch[NFI_PARAM_TENSORS_MAX];
        size_t nch = 0;
        if (nfi_task_init_load(&t, data.n_train, c->text[O_INIT], ch, &nch,
                               &err) != 0) {
            status = usage_error("--init: %s", err.message);
            nfi_trainer_free(&t);
            nfi_task_data_free(&data);
            return status;
        }
        char spell[128];
        nfi_format_spell(&c->spec.policy.format[NFI_ROLE_PARAMS], spell,
                         sizeof spell);
        for (size_t i = 0; i < nch; i++)
            if (ch[i].changed > 0)
                fprintf(stderr, "nfi train: --init: rounding into the "
                        "params format %s changed %zu of the %zu values "
                        "of %s\n", spell, ch[i].changed, ch[i].count,
                        ch[i].name);
    }
    rec = malloc(data.n_train * sizeof *rec);
    buf = malloc(4 * data.n_train * sizeof *buf);
    if (rec == NULL || buf == NULL) {
        snprintf(err.message, sizeof err.message, "out of memory");
        status = 1;
        goto out;
    }

    run_summary sum = {.onset = -1, .spike = -1, .running_min = INFINITY};
    if (resume) {
        if ((status = resume_open(c, &t, &rd, &csv, &sum)) != 0)
            goto out;
        goto started;
    }
    rd = nfi_rundir_create(c->text[O_OUT], force, &err);
    if (rd == NULL) {
        status = usage_error("--out: %s (--force)", err.message);
        goto out;
    }
    char path[4096];
    if (write_config(rd, c, &err) != 0 ||
        write_labels(rd, &t, &err) != 0 ||
        write_snapshot(rd, &t, &err) != 0 ||
        nfi_rundir_file(rd, NFI_RUNDIR_METRICS, path, sizeof path,
                        &err) != 0 ||
        (csv = nfi_csv_create(path, N_METRICS, metric_names, &err)) ==
            NULL) {
        fprintf(stderr, "nfi train: %s\n", err.message);
        nfi_rundir_set_status(rd, NFI_RUN_FAILED, err.message, NULL);
        status = 1;
        goto out;
    }

started:;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    long first_step = t.step;
    double start = nfi_cli_now_seconds(), last_progress = start;
    double last_loss = NAN, last_absorbed = NAN;
    const char *state = "complete";
    while (t.step < c->steps) {
        long step = t.step + 1;
        bool logged = logged_step(c, step);
        nfi_step_metrics m;
        if (nfi_trainer_step(&t, logged ? &m : NULL,
                             logged && c->records ? rec : NULL,
                             &err) != 0) {
            status = 1;
            break;
        }
        if (logged) {
            if (write_row(csv, &m, &err) != 0 ||
                (c->records &&
                 (write_samples(rd, m.step, rec, data.n_train, buf,
                                &err) != 0 ||
                  write_logits(rd, &t, m.step, &err) != 0 ||
                  write_dlogits(rd, &t, m.step, &err) != 0 ||
                  write_drift(rd, &t, m.step, &err) != 0))) {
                status = 1;
                break;
            }
            last_loss = m.loss;
            last_absorbed = m.absorbed_frac;
            summary_add(&sum, &m, tty);
            if (isnan(m.loss)) {
                /* Nothing comes back from NaN parameters: stop here with
                 * the row that shows it. */
                nfi_error_set(&err, "the loss is NaN: the run diverged "
                              "(does a hyperparameter round to 0 in its "
                              "format, or overflow happen?)");
                status = 1;
                break;
            }
        }
        if (c->snapshot_every > 0 && t.step % c->snapshot_every == 0 &&
            t.step != c->steps && write_checkpoint(rd, &t, csv, &err) != 0) {
            status = 1;
            break;
        }
        double now = nfi_cli_now_seconds();
        if (tty && now - last_progress >= 0.5) {
            double rate = (double)(t.step - first_step) / (now - start);
            char left[32];
            nfi_cli_format_duration(left, sizeof left,
                            (double)(c->steps - t.step) / rate);
            fprintf(stderr, "\r\033[Kstep %ld/%ld  loss %.6g  absorbed "
                    "%.4g  %.1f steps/s  %s left", t.step, c->steps,
                    last_loss, last_absorbed, rate, left);
            last_progress = now;
        }
        if (stop_signal != 0) {
            state = "interrupted";
            break;
        }
    }
    if (tty)
        fputs("\r\033[K", stderr);
    double secs = nfi_cli_now_seconds() - start;
    if (status != 0)
        state = "failed";

    /* The final state is worth keeping even after a failure elsewhere;
     * its own errors are reported only when nothing failed before.  After
     * a failure it is not a checkpoint: the files may lack the failed
     * step's row, so a resumed run goes back to the last checkpoint. */
    nfi_error err2;
    nfi_error *e = status == 0 ? &err : &err2;
    if (nfi_csv_close(csv, e) != 0 ||
        (status == 0 ? write_checkpoint(rd, &t, NULL, e)
                     : write_snapshot(rd, &t, e)) != 0) {
        state = "failed";
        status = 1;
        e = &err2;
    }
    csv = NULL;
    if (resume && strcmp(state, "complete") == 0)
        resume_finish(rd, c);
    if (write_summary(rd, &sum, state, t.step, secs, e) != 0) {
        state = "failed";
        status = 1;
    }

    char reason[NFI_ERROR_MAX + 64]; /* set_status cuts it */
    nfi_run_status rs = NFI_RUN_COMPLETE;
    if (strcmp(state, "failed") == 0) {
        rs = NFI_RUN_FAILED;
        snprintf(reason, sizeof reason, "at step %ld: %s", t.step,
                 err.message);
    } else if (strcmp(state, "interrupted") == 0) {
        rs = NFI_RUN_INTERRUPTED;
        snprintf(reason, sizeof reason, "%s after step %ld of %ld",
                 stop_signal == SIGINT ? "SIGINT" : "SIGTERM", t.step,
                 c->steps);
        status = 1;
    } else if (resume) {
        snprintf(reason, sizeof reason, "%ld steps, the last %ld in %.3g s "
                 "after resuming from step %ld", t.step,
                 t.step - first_step, secs, first_step);
    } else {
        snprintf(reason, sizeof reason, "%ld steps in %.3g s", t.step,
                 secs);
    }
    nfi_error err3;
    if (nfi_rundir_set_status(rd, rs, reason, &err3) != 0) {
        fprintf(stderr, "nfi train: %s\n", err3.message);
        status = 1;
    }
    if (rs == NFI_RUN_FAILED)
        fprintf(stderr, "nfi train: %s: %s\n", c->text[O_OUT], reason);
    else if (rs == NFI_RUN_INTERRUPTED)
        fprintf(stderr, "nfi train: interrupted (%s); the run directory "
                "%s is complete up to step %ld (nfi train --resume %s "
                "continues it)\n", reason, c->text[O_OUT], t.step,
                c->text[O_OUT]);
    else if (tty)
        fprintf(stderr, "nfi train: %s: %s\n", c->text[O_OUT], reason);
out:
    if (status == 1 && rd == NULL)
        fprintf(stderr, "nfi train: %s\n", err.message);
    free(rec);
    free(buf);
    nfi_csv_close(csv, NULL);
    nfi_rundir_close(rd);
    nfi_trainer_free(&t);
    nfi_task_data_free(&data);
    return status;
}

/* ---- Resuming ---- */

/* The files a logged step leaves in its snapshot folder: a resumed run
 * keeps them when it removes the snapshots that only its interruption
 * caused. */
static const char *const logged_files[] = {"samples.npy", "samples.json",
                                           "logits.npy", "logits.json",
                                           "logit_grads.npy",
                                           "logit_grads.json",
                                           "features.npy", "features.json",
                                           "classifier.npy",
                                           "classifier.json", NULL};

/* The first logged step after step (LONG_MAX when there is none). */
static long next_logged(const train_config *c, long step)
{
    if (step < 1)
        return c->steps >= 1 ? 1 : LONG_MAX;
    long next = step > LONG_MAX - c->log_every ? LONG_MAX
              : step - step % c->log_every + c->log_every;
    if (next > c->steps)
        next = c->steps > step ? c->steps : LONG_MAX;
    return next;
}

/* Prints "nfi train: --resume: MESSAGE" and, once the run directory has
 * been changed (started), records the failure in its status.  Returns
 * 1, a failed run. */
static int resume_failed(nfi_rundir *rd, bool started, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int resume_failed(nfi_rundir *rd, bool started, const char *fmt, ...)
{
    char msg[2 * NFI_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "nfi train: --resume: %s\n", msg);
    if (started)
        nfi_rundir_set_status(rd, NFI_RUN_FAILED, msg, NULL);
    return 1;
}

/* Rebuilds the summary from the rows kept in metrics.csv (path), which
 * must be exactly the rows the run logs up to step. */
static int resume_metrics(const train_config *c, nfi_rundir *rd,
                          const char *path, long step, run_summary *sum)
{
    nfi_csv_table tab;
    nfi_error err;
    if (nfi_csv_read(path, &tab, &err) != 0)
        return resume_failed(rd, true, "%s", err.message);
    int status = 0;
    long prev = 0;
    for (size_t r = 0; r < tab.nrows && status == 0; r++) {
        const double *row = tab.values + r * tab.ncols;
        long want = next_logged(c, prev);
        if (row[0] != (double)want) {
            status = resume_failed(rd, true, "'%s' row %zu is of step %.17g "
                                   "where the run logs step %ld: the table "
                                   "does not belong to this run", path,
                                   r + 1, row[0], want);
            break;
        }
        nfi_step_metrics m;
        double *v[] = {
            &m.loss, &m.train_acc, &m.test_acc, &m.absorbed_frac,
            &m.underflow_frac, &m.zero_sum_residual, &m.residual_mass,
            &m.margin_min, &m.margin_mean, &m.margin_max, &m.w_mean_norm,
            &m.feat_mean_norm, &m.w_norm, &m.param_norm, &m.update_norm,
            &m.logit_mean,
        };
        m.step = want;
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            *v[i] = row[i + 1];
        summary_add(sum, &m, false);
        prev = want;
    }
    if (status == 0 && next_logged(c, prev) <= step)
        status = resume_failed(rd, true, "'%s' lacks the row of step %ld, "
                               "logged before the checkpoint of step %ld",
                               path, next_logged(c, prev), step);
    nfi_csv_table_free(&tab);
    return status;
}

/* Opens the run directory of --resume (c->text[O_OUT]), loads its last
 * checkpoint into t, cuts metrics.csv back to the checkpoint's step and
 * rebuilds the summary from the rows kept.  Nothing in the directory
 * changes until the checkpoint has loaded.  Returns 0 or the exit status
 * (the message printed). */
static int resume_open(const train_config *c, nfi_trainer *t,
                       nfi_rundir **rdp, nfi_csv_writer **csvp,
                       run_summary *sum)
{
    const char *dir = c->text[O_OUT];
    nfi_error err;
    nfi_rundir *rd = nfi_rundir_open(dir, &err);
    if (rd == NULL)
        return usage_error("--resume: %s", err.message);
    *rdp = rd;
    if (nfi_rundir_status(rd) == NFI_RUN_COMPLETE)
        return usage_error("--resume: the run in '%s' is complete; there "
                           "is nothing to resume", dir);
    char ckpt[4096];
    long step = 0;
    int found = train_resume_find(dir, &step, ckpt, sizeof ckpt, &err);
    if (found < 0)
        return resume_failed(rd, false, "%s", err.message);
    if (found == 0)
        return usage_error("--resume: '%s' holds no checkpoint to resume "
                           "from (no " NFI_RUNDIR_SNAPSHOTS "/step_N/"
                           NFI_CHECKPOINT_STATE "; a run killed before its "
                           "first snapshot has none): start it again with "
                           "nfi train --config %s/" NFI_RUNDIR_CONFIG
                           " --out %s --force", dir, dir, dir);
    if (nfi_checkpoint_load(t, ckpt, &err) != 0)
        return resume_failed(rd, false, "%s.  Remove %s/"
                             NFI_CHECKPOINT_STATE " to resume from an "
                             "earlier checkpoint if there is one, or start "
                             "the run again with --force", err.message,
                             ckpt);
    if (t->step != step || step > c->steps)
        return resume_failed(rd, false, "'%s/" NFI_CHECKPOINT_STATE "' "
                             "records step %ld, but it lies in the folder "
                             "of step %ld of a run of %ld steps", ckpt,
                             t->step, step, c->steps);

    /* From here on the run directory changes. */
    char reason[128], path[4096];
    snprintf(reason, sizeof reason, "resumed from step %ld", step);
    if (nfi_rundir_set_status(rd, NFI_RUN_RUNNING, reason, &err) != 0)
        return resume_failed(rd, false, "%s", err.message);
    if (train_resume_clean(dir, &err) != 0 ||
        nfi_rundir_file(rd, NFI_RUNDIR_METRICS, path, sizeof path,
                        &err) != 0 ||
        (*csvp = nfi_csv_resume(path, N_METRICS, metric_names, step, NULL,
                                &err)) == NULL)
        return resume_failed(rd, true, "%s", err.message);
    return resume_metrics(c, rd, path, step, sum);
}

/* At the end of a resumed run that completed: removes the snapshots that
 * only its interruptions caused, so that the run directory holds the
 * files of an uninterrupted run.  A failure is only a warning: the
 * results are all there. */
static int resume_finish(nfi_rundir *rd, const train_config *c)
{
    nfi_error err;
    if (train_resume_prune(nfi_rundir_path(rd), c->snapshot_every, c->steps,
                           logged_files, &err) != 0) {
        fprintf(stderr, "nfi train: warning: %s (a snapshot left from the "
                "interruption)\n", err.message);
        return -1;
    }
    return 0;
}

/* Prepares c for --resume dir: refuses every other option (other is the
 * first one given, or NULL), checks that dir is a run directory that
 * can go on, and takes the options of its config.json.  Returns 0 or the
 * exit status. */
static int resume_prepare(train_config *c, const char *dir,
                          const char *other)
{
    if (other != NULL && strcmp(other, "--force") == 0)
        return usage_error("--resume continues a run and --force replaces "
                           "it: give one of them");
    if (other != NULL && strcmp(other, "--out") == 0)
        return usage_error("--resume RUNDIR names the run directory: leave "
                           "out --out");
    if (other != NULL)
        return usage_error("--resume takes no other option (%s was given): "
                           "the run goes on exactly as its config.json "
                           "says; to change it, start a new run with "
                           "--config %s/" NFI_RUNDIR_CONFIG, other, dir);
    struct stat st;
    if (dir[0] == '\0' || stat(dir, &st) != 0)
        return usage_error("--resume '%s': %s; give the run directory of an "
                           "earlier nfi train", dir,
                           dir[0] == '\0' ? "an empty path" :
                           strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return usage_error("--resume '%s': not a directory; give the run "
                           "directory of an earlier nfi train", dir);
    nfi_run_status rs;
    nfi_error err;
    char why[NFI_STATUS_REASON_MAX + 1];
    if (nfi_status_read(dir, &rs, why, sizeof why, &err) != 0)
        return usage_error("--resume: '%s' is not an nfi run directory: %s",
                           dir, err.message);
    if (rs == NFI_RUN_COMPLETE)
        return usage_error("--resume: the run in '%s' is complete (%s); "
                           "there is nothing to resume.  To train longer, "
                           "start a new run with --config %s/"
                           NFI_RUNDIR_CONFIG " --steps N", dir, why, dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, NFI_RUNDIR_CONFIG);
    nfi_json_value *root = nfi_json_parse_file(path, &err);
    if (root == NULL)
        return usage_error("--resume: %s", err.message);
    const nfi_json_value *v = nfi_json_get(root, "nfi_version");
    const char *version = NULL;
    if (v == NULL || nfi_json_as_string(v, &version, NULL, NULL) != 0 ||
        strcmp(version, NFI_VERSION) != 0) {
        int rc = usage_error("--resume: '%s' was written by nfi %s and this "
                             "is nfi " NFI_VERSION "; a run goes on bit for "
                             "bit only under the version that started it",
                             path, version != NULL ? version : "(unknown)");
        nfi_json_free(root);
        return rc;
    }
    nfi_json_free(root);
    int status = load_config(c, path, "--resume");
    if (status == 0)
        status = set_text(c, O_OUT, dir);
    return status;
}

bool nfi_train_option_known(const char *name)
{
    if (strcmp(name, "config") == 0)
        return true;
    for (int o = 0; o < O_COUNT; o++)
        if (strcmp(defs[o].flag, name) == 0)
            return true;
    return false;
}

int nfi_cmd_train(int argc, char **argv)
{
    static struct option options[O_COUNT + 5];
    for (int o = 0; o < O_COUNT; o++)
        options[o] = (struct option){defs[o].flag, required_argument, NULL,
                                     o};
    options[O_COUNT] = (struct option){"force", no_argument, NULL,
                                       OPT_FORCE};
    options[O_COUNT + 1] = (struct option){"config", required_argument,
                                           NULL, OPT_CONFIG};
    options[O_COUNT + 2] = (struct option){"help", no_argument, NULL, 'h'};
    options[O_COUNT + 3] = (struct option){"resume", required_argument,
                                           NULL, OPT_RESUME};
    options[O_COUNT + 4] = (struct option){NULL, 0, NULL, 0};

    train_config c;
    memset(&c, 0, sizeof c);
    int status = 0;
    for (int o = 0; o < O_COUNT && status == 0; o++)
        if (defs[o].def != NULL)
            status = set_text(&c, o, defs[o].def);
    bool force = false;
    const char *resume = NULL;
    char other[64] = ""; /* the first option beside --resume */
    int ch;
    optind = 1;
    opterr = 0;
    while (status == 0 &&
           (ch = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (other[0] == '\0' && ((ch >= 0 && ch < O_COUNT) ||
                                  ch == OPT_FORCE || ch == OPT_CONFIG))
            snprintf(other, sizeof other, "--%s", ch == OPT_FORCE ? "force"
                     : ch == OPT_CONFIG ? "config" : defs[ch].flag);
        if (ch >= 0 && ch < O_COUNT) {
            status = set_text(&c, ch, optarg);
            c.given[ch] = true;
        } else if (ch == OPT_FORCE) {
            force = true;
        } else if (ch == OPT_CONFIG) {
            status = load_config(&c, optarg, "--config");
        } else if (ch == OPT_RESUME) {
            resume = optarg;
        } else if (ch == 'h') {
            fputs(train_usage, stdout);
            config_free(&c);
            return 0;
        } else if (ch == ':') {
            status = usage_error("%s needs a value (see 'nfi help train')",
                                 argv[optind - 1]);
        } else {
            status = usage_error("unknown option '%s' (see 'nfi help "
                                 "train')", argv[optind - 1]);
        }
    }
    if (status == 0 && optind < argc)
        status = usage_error("unexpected argument '%s'; every setting is an "
                             "option (see 'nfi help train')", argv[optind]);
    if (status == 0 && resume != NULL)
        status = resume_prepare(&c, resume, other[0] ? other : NULL);
    if (status == 0)
        status = resolve(&c);
    if (status == 0)
        status = run(&c, force, resume != NULL);
    config_free(&c);
    return status;
}
