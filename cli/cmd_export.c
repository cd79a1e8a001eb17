/* nfi export: the parameters (and logits, logit gradients) of a run at a
 * step, or its data split, as .npz or safetensors for other programs. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "modular.h"
#include "trace/json.h"
#include "trace/npy.h"
#include "trace/rundir.h"
#include "trace/tensors.h"
#include "train_setup.h"
#include "trainer.h"

static const char export_usage[] =
"Usage: nfi export RUNDIR --step S --to FILE [--with logits,grads]\n"
"       nfi export RUNDIR --split --to FILE.npz\n"
"\n"
"Writes what the run in RUNDIR (a run directory of nfi train) holds at\n"
"step S for another program, as NumPy's .npz (np.load) when FILE ends in\n"
".npz, or as safetensors when it ends in .safetensors:\n"
"  the parameters after S updates, float64 (exact: the values of the\n"
"  params format), named as nfi train --init reads them: mlp with L\n"
"  hidden layers W1 (H, in), b1 (H), ..., WL, bL, the classifier\n"
"  W{L+1} (K, H) and, with --classifier-bias on, b{L+1} (K); ufm H (N, d),\n"
"  W (K, d) [b (K)].  S = 0 gives the initial parameters (after their\n"
"  rounding into the params format), so that\n"
"      nfi export RUN --step 0 --to init.npz\n"
"      nfi train --config RUN/config.json --init init.npz --out RUN2\n"
"  repeats RUN bit for bit.\n"
"\n"
"Options:\n"
"  --step S             the step: 0, a step with a snapshot\n"
"                       (--snapshot-every, the last step) or a logged one\n"
"                       (step 1, every --log-every, the last); a step with\n"
"                       no parameters recorded is refused with the list\n"
"                       of steps that have them\n"
"  --with LIST          also logits (the training logits of step S's\n"
"                       forward pass, the parameters after S - 1 updates,\n"
"                       (n_train, K)) and/or grads (the logit gradients of\n"
"                       that pass, logit_grads (n_train, K)); recorded at\n"
"                       logged steps only\n"
"  --split              write the run's data split instead: int64 arrays\n"
"                       train (n_train, 3) and test (n_test, 3) of rows\n"
"                       (a, b, label) in the run's order, the format nfi\n"
"                       train --split reads (modular tasks; .npz only)\n"
"  --to FILE            the file to write (replaced atomically)\n"
"  -h, --help           this text\n"
"\n"
"Exit status 2 for usage errors and for data the run does not hold, 1\n"
"when the file cannot be written.\n";

/* Prints "nfi export: MESSAGE"; returns 2, a usage error. */
#define fail(...) nfi_cli_fail("export", 2, __VA_ARGS__)

/* What the config.json of a run says about its model. */
typedef struct run_info {
    nfi_train_spec spec;
    size_t n_train, n_test;
    char task[32];
    long modulus;
    double train_frac;
    uint64_t seed;
    char split[4096];
} run_info;

static int get_string(const nfi_json_value *o, const char *key,
                      const char **s)
{
    const nfi_json_value *v = nfi_json_get(o, key);
    return v == NULL ? -1 : nfi_json_as_string(v, s, NULL, NULL);
}

static int get_u64(const nfi_json_value *o, const char *key, uint64_t *x)
{
    const nfi_json_value *v = nfi_json_get(o, key);
    return v == NULL ? -1 : nfi_json_as_uint64(v, x, NULL);
}

static int read_info(const char *dir, run_info *r)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" NFI_RUNDIR_CONFIG, dir);
    nfi_error err;
    nfi_json_value *root = nfi_json_parse_file(path, &err);
    if (root == NULL)
        return fail("'%s' is not an nfi run directory: %s", dir,
                    err.message);
    memset(r, 0, sizeof *r);
    const nfi_json_value *o = nfi_json_get(root, "options");
    const nfi_json_value *res = nfi_json_get(root, "resolved");
    const char *model, *bias, *task, *split = "";
    uint64_t hidden, layers, width, classes, ntr, nte, modulus, seed;
    const nfi_json_value *tf = o == NULL ? NULL
                                         : nfi_json_get(o, "train_frac");
    int bad = o == NULL || res == NULL ||
              get_string(res, "model", &model) ||
              get_string(o, "classifier_bias", &bias) ||
              get_string(res, "task", &task) ||
              get_u64(o, "hidden", &hidden) ||
              get_u64(o, "layers", &layers) ||
              get_u64(o, "modulus", &modulus) ||
              get_u64(o, "seed", &seed) ||
              get_u64(res, "input_width", &width) ||
              get_u64(res, "classes", &classes) ||
              get_u64(res, "n_train", &ntr) ||
              get_u64(res, "n_test", &nte) || tf == NULL ||
              nfi_json_as_double(tf, &r->train_frac, NULL) != 0;
    if (!bad && nfi_json_get(o, "split") != NULL)
        bad = get_string(o, "split", &split);
    if (bad) {
        nfi_json_free(root);
        return fail("'%s' lacks the model's description (options and "
                    "resolved: model, hidden, layers, classifier_bias, "
                    "input_width, classes, n_train)", path);
    }
    r->spec.model = strcmp(model, "ufm") == 0 ? NFI_MODEL_UFM
                                              : NFI_MODEL_MLP;
    r->spec.classifier_bias = strcmp(bias, "on") == 0;
    r->spec.hidden = hidden;
    r->spec.layers = layers;
    r->spec.input_width = width;
    r->spec.classes = classes;
    r->n_train = ntr;
    r->n_test = nte;
    r->modulus = (long)modulus;
    r->seed = seed;
    snprintf(r->task, sizeof r->task, "%s", task);
    snprintf(r->split, sizeof r->split, "%s", split);
    nfi_json_free(root);
    return 0;
}

/* The steps of the run whose folder holds file (name), listed into buf. */
static void steps_with(const char *dir, const char *file, char *buf,
                       size_t cap)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" NFI_RUNDIR_SNAPSHOTS, dir);
    buf[0] = '\0';
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    long steps[64];
    size_t n = 0, more = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        if (strncmp(e->d_name, "step_", 5) != 0)
            continue;
        long s = strtol(e->d_name + 5, &end, 10);
        if (*end != '\0')
            continue;
        char f[8192];
        snprintf(f, sizeof f, "%s/%.256s/%.256s", path, e->d_name, file);
        FILE *fp = fopen(f, "rb");
        if (fp == NULL)
            continue;
        fclose(fp);
        if (n < 64)
            steps[n++] = s;
        else
            more++;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && steps[j - 1] > steps[j]; j--) {
            long t = steps[j];
            steps[j] = steps[j - 1];
            steps[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%ld",
                 i ? ", " : "", steps[i]);
    if (more)
        snprintf(buf + strlen(buf), cap - strlen(buf), " and %zu more",
                 more);
    if (n == 0)
        snprintf(buf, cap, "none");
}

/* Reads snapshots/step_S/name.npy (or alias.npy when there is no
 * name.npy and alias is not NULL) as float64 of the given shape. */
static int read_tensor(const char *dir, long step, const char *name,
                       const char *alias, int ndim, const size_t *shape,
                       nfi_npy_array *a, const char *what)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" NFI_RUNDIR_SNAPSHOTS "/step_%08ld/"
             "%s.npy", dir, step, name);
    nfi_error err;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL && alias != NULL) {
        /* runs of an earlier nfi named the classifier Wc, bc */
        snprintf(path, sizeof path, "%s/" NFI_RUNDIR_SNAPSHOTS
                 "/step_%08ld/%s.npy", dir, step, alias);
        fp = fopen(path, "rb");
        if (fp == NULL)
            snprintf(path, sizeof path, "%s/" NFI_RUNDIR_SNAPSHOTS
                     "/step_%08ld/%s.npy", dir, step, name);
    }
    if (fp == NULL) {
        char list[1024];
        char file[160];
        snprintf(file, sizeof file, "%s.npy", name);
        steps_with(dir, file, list, sizeof list);
        return fail("the run in '%s' holds no %s at step %ld (%s is "
                    "missing); it has them at steps: %s", dir, what, step,
                    path, list);
    }
    fclose(fp);
    if (nfi_npy_read(path, a, &err) != 0)
        return fail("%s", err.message);
    bool ok = a->dtype == NFI_DTYPE_FLOAT64 && a->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = a->shape[d] == shape[d];
    if (!ok) {
        nfi_npy_free(a);
        return fail("'%s' does not hold float64 of the shape the run's "
                    "config.json gives", path);
    }
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int export_split(const char *dir, const run_info *r, const char *to)
{
    nfi_modular_op op;
    if (nfi_modular_op_parse(r->task, &op, NULL) != 0)
        return fail("--split: the run in '%s' is of task %s; only modular "
                    "tasks (add, sub, mul, div) have a split of rows (a, b, "
                    "label)", dir, r->task);
    nfi_error err;
    nfi_modular_split sp;
    if (r->split[0] != '\0') {
        if (nfi_task_split_read(r->split, op, r->modulus, &sp, &err) != 0)
            return fail("--split: the run's split file: %s", err.message);
    } else {
        nfi_modular_task task;
        if (nfi_modular_task_init(&task, op, r->modulus, &err) != 0 ||
            nfi_modular_split_make(&sp, &task, r->train_frac, r->seed,
                                   &err) != 0)
            return fail("--split: %s", err.message);
    }
    /* The run's own record of its training labels must agree. */
    char path[4200];
    snprintf(path, sizeof path, "%s/" NFI_RUNDIR_TRAIN_LABELS, dir);
    nfi_npy_array lab;
    int status = 0;
    if (nfi_npy_read(path, &lab, &err) == 0) {
        bool same = lab.dtype == NFI_DTYPE_INT64 && lab.count == sp.n_train;
        for (size_t i = 0; same && i < sp.n_train; i++)
            same = ((const int64_t *)lab.data)[i] == sp.train[i].label;
        nfi_npy_free(&lab);
        if (!same)
            status = fail("--split: the split made from '%s/"
                          NFI_RUNDIR_CONFIG "' does not match its "
                          NFI_RUNDIR_TRAIN_LABELS, dir);
    }
    int64_t *rows = malloc(3 * (sp.n_train + sp.n_test + 1) * sizeof *rows);
    if (status == 0 && rows == NULL)
        status = fail("out of memory");
    if (status == 0) {
        for (size_t i = 0; i < sp.n_train + sp.n_test; i++) {
            const nfi_modular_sample *s = i < sp.n_train ? &sp.train[i]
                : &sp.test[i - sp.n_train];
            rows[3 * i] = s->a;
            rows[3 * i + 1] = s->b;
            rows[3 * i + 2] = s->label;
        }
        nfi_tensor_out t[2] = {
            {"train", NFI_ELEM_I64, 2, {sp.n_train, 3}, rows},
            {"test", NFI_ELEM_I64, 2, {sp.n_test, 3}, rows + 3 * sp.n_train},
        };
        if (nfi_tensors_write(to, true, t, 2, &err) != 0) {
            fprintf(stderr, "nfi export: %s\n", err.message);
            status = 1;
        }
    }
    free(rows);
    nfi_modular_split_free(&sp);
    return status;
}

int nfi_cmd_export(int argc, char **argv)
{
    static const struct option options[] = {
        {"step", required_argument, NULL, 's'},
        {"to", required_argument, NULL, 't'},
        {"with", required_argument, NULL, 'w'},
        {"split", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *step_text = NULL, *to = NULL;
    bool split = false, with_logits = false, with_grads = false;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (ch) {
        case 's': step_text = optarg; break;
        case 't': to = optarg; break;
        case 'p': split = true; break;
        case 'w': {
            char *copy = strdup(optarg), *save = NULL;
            for (char *w = strtok_r(copy, ",", &save); w != NULL;
                 w = strtok_r(NULL, ",", &save)) {
                if (strcmp(w, "logits") == 0) {
                    with_logits = true;
                } else if (strcmp(w, "grads") == 0) {
                    with_grads = true;
                } else {
                    free(copy);
                    return fail("--with '%s': expected logits, grads or "
                                "logits,grads", optarg);
                }
            }
            free(copy);
            break;
        }
        case 'h': fputs(export_usage, stdout); return 0;
        case ':': return fail("%s needs a value (see 'nfi help export')",
                              argv[optind - 1]);
        default: return fail("unknown option '%s' (see 'nfi help export')",
                              argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return fail("give one run directory (see 'nfi help export')");
    const char *dir = argv[optind];
    if (to == NULL)
        return fail("--to FILE is required (FILE.npz or "
                    "FILE.safetensors)");
    bool npz = ends_with(to, ".npz");
    if (!npz && !ends_with(to, ".safetensors"))
        return fail("--to '%s': the name must end in .npz or .safetensors, "
                    "which selects the format", to);
    if (split && (step_text != NULL || with_logits || with_grads))
        return fail("--split writes the data split only: leave out --step "
                    "and --with");
    if (split && !npz)
        return fail("--split writes an .npz (the format nfi train --split "
                    "reads)");
    run_info r;
    int status = read_info(dir, &r);
    if (status != 0)
        return status;
    if (split)
        return export_split(dir, &r, to);
    if (step_text == NULL)
        return fail("--step S is required (0 for the initial parameters)");
    char *end;
    errno = 0;
    long step = strtol(step_text, &end, 10);
    if (*step_text == '\0' || *end != '\0' || errno != 0 || step < 0)
        return fail("--step '%s' is not a whole number >= 0", step_text);

    nfi_param_tensor pt[NFI_PARAM_TENSORS_MAX];
    size_t np = nfi_param_tensors(&r.spec, r.n_train, pt);
    nfi_npy_array arrays[NFI_PARAM_TENSORS_MAX + 2];
    nfi_tensor_out out[NFI_PARAM_TENSORS_MAX + 2];
    size_t n = 0;
    for (size_t i = 0; i < np && status == 0; i++) {
        /* the classifier of an mlp: Wc, bc in runs of an earlier nfi */
        const char *alias = NULL;
        bool cls = r.spec.model == NFI_MODEL_MLP &&
                   (i + 1 == np || (i + 2 == np && r.spec.classifier_bias));
        if (cls)
            alias = pt[i].name[0] == 'W' ? "Wc" : "bc";
        status = read_tensor(dir, step, pt[i].name, alias, pt[i].ndim,
                             pt[i].shape, &arrays[n], "parameters");
        if (status == 0) {
            out[n] = (nfi_tensor_out){pt[i].name, NFI_ELEM_F64, pt[i].ndim,
                                      {pt[i].shape[0], pt[i].shape[1]},
                                      arrays[n].data};
            n++;
        }
    }
    size_t shape[2] = {r.n_train, r.spec.classes};
    const char *extra[2] = {with_logits ? "logits" : NULL,
                            with_grads ? "logit_grads" : NULL};
    for (int i = 0; i < 2 && status == 0; i++) {
        if (extra[i] == NULL)
            continue;
        status = read_tensor(dir, step, extra[i], NULL, 2, shape,
                             &arrays[n],
                             i == 0 ? "logits (recorded at logged steps)"
                                    : "logit gradients (recorded at logged "
                                      "steps)");
        if (status == 0) {
            out[n] = (nfi_tensor_out){extra[i], NFI_ELEM_F64, 2,
                                      {shape[0], shape[1]}, arrays[n].data};
            n++;
        }
    }
    nfi_error err;
    if (status == 0 && nfi_tensors_write(to, npz, out, n, &err) != 0) {
        fprintf(stderr, "nfi export: %s\n", err.message);
        status = 1;
    }
    for (size_t i = 0; i < n; i++)
        nfi_npy_free(&arrays[i]);
    return status;
}
