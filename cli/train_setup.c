/* nfi train: the tasks of a run and their data.  See train_setup.h. */
#include "train_setup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_mpfr.h"
#include "gaussian.h"
#include "idx.h"
#include "split.h"
#include "trace/tensors.h"

const char *nfi_task_name(const nfi_task_config *c)
{
    switch (c->kind) {
    case NFI_TASK_MODULAR: return nfi_modular_op_name(c->op);
    case NFI_TASK_GAUSSIAN: return "gaussian";
    case NFI_TASK_IDX: return "idx";
    case NFI_TASK_FASHION_MNIST: return "fashion-mnist";
    }
    return "?";
}

int nfi_task_parse(const char *text, nfi_task_config *c, nfi_error *err)
{
    if (strcmp(text, "gaussian") == 0) {
        c->kind = NFI_TASK_GAUSSIAN;
    } else if (strcmp(text, "idx") == 0) {
        c->kind = NFI_TASK_IDX;
    } else if (strcmp(text, "fashion-mnist") == 0) {
        c->kind = NFI_TASK_FASHION_MNIST;
    } else if (nfi_modular_op_parse(text, &c->op, NULL) == 0) {
        c->kind = NFI_TASK_MODULAR;
    } else {
        return nfi_error_set(err, "unknown task '%s'; expected add, sub, "
                             "mul, div (modular arithmetic), gaussian, idx "
                             "or fashion-mnist", text);
    }
    return 0;
}

static int fail(const char **flag, const char *name)
{
    *flag = name;
    return -1;
}

static int make_modular(const nfi_task_config *c, nfi_task_data *out,
                        const char **flag, nfi_error *err)
{
    nfi_modular_task task;
    if (nfi_modular_task_init(&task, c->op, c->modulus, err) != 0)
        return fail(flag, "modulus");
    nfi_modular_split split;
    if (c->split != NULL && c->split[0] != '\0') {
        if (nfi_task_split_read(c->split, c->op, c->modulus, &split,
                                err) != 0)
            return fail(flag, "split");
    } else if (nfi_modular_split_make(&split, &task, c->train_frac, c->seed,
                                      err) != 0) {
        /* The split fails for a share that leaves a set empty, or for
         * want of memory, which the modulus decides. */
        uint64_t n_train = 0;
        nfi_error ignored = {0};
        bool share_ok = nfi_split_size(task.n_pairs, c->train_frac,
                                       &n_train, &ignored) == 0;
        return fail(flag, share_ok ? "modulus" : "train-frac");
    }
    size_t n_all = split.n_train + split.n_test;
    uint32_t *idx = malloc(3 * n_all * sizeof *idx);
    if (idx == NULL) {
        nfi_modular_split_free(&split);
        nfi_error_set(err, "out of memory for %zu samples", n_all);
        return fail(flag, "modulus");
    }
    for (size_t i = 0; i < n_all; i++) {
        const nfi_modular_sample *s = i < split.n_train ?
            &split.train[i] : &split.test[i - split.n_train];
        idx[i] = s->a;
        idx[n_all + i] = s->b;
        idx[2 * n_all + i] = s->label;
    }
    out->train = (nfi_samples){split.n_train, idx, idx + n_all,
                               idx + 2 * n_all};
    out->test = (nfi_samples){split.n_test, idx + split.n_train,
                              idx + n_all + split.n_train,
                              idx + 2 * n_all + split.n_train};
    out->n_train = split.n_train;
    out->n_test = split.n_test;
    out->input_width = 2 * (size_t)task.p;
    out->classes = task.p;
    out->ints = idx;
    nfi_modular_split_free(&split);
    return 0;
}

/* Splits n samples (x: n rows of width w; label) into the training and
 * test sets of out, copies in the order of data/split.h. */
static int split_real(const nfi_task_config *c, size_t n, size_t w,
                      const double *x, const uint32_t *label,
                      nfi_task_data *out, const char **flag, nfi_error *err)
{
    size_t *perm = malloc(n * sizeof *perm);
    out->x = malloc((n * w > 0 ? n * w : 1) * sizeof *out->x);
    out->ints = malloc(n * sizeof *out->ints);
    if (perm == NULL || out->x == NULL || out->ints == NULL) {
        free(perm);
        nfi_error_set(err, "out of memory for %zu samples of width %zu", n,
                      w);
        return fail(flag, "task");
    }
    size_t n_train = 0;
    if (nfi_split_perm(n, c->train_frac, c->seed, perm, &n_train,
                       err) != 0) {
        free(perm);
        return fail(flag, "train-frac");
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(out->x + i * w, x + perm[i] * w, w * sizeof *x);
        out->ints[i] = label[perm[i]];
    }
    free(perm);
    out->real = true;
    out->n_train = n_train;
    out->n_test = n - n_train;
    out->input_width = w;
    out->train_real = (nfi_real_samples){n_train, out->x, out->ints};
    out->test_real = (nfi_real_samples){n - n_train, out->x + n_train * w,
                                        out->ints + n_train};
    return 0;
}

static int make_gaussian(const nfi_task_config *c, nfi_task_data *out,
                         const char **flag, nfi_error *err)
{
    nfi_gaussian_spec spec = {c->classes, c->per_class, c->input_dim,
                              c->mean_std, c->noise_std, c->seed};
    nfi_gaussian_data g;
    if (nfi_gaussian_make(&g, &spec, err) != 0)
        return fail(flag, "task gaussian");
    int rc = split_real(c, g.n, g.spec.d, g.x, g.label, out, flag, err);
    out->classes = c->classes;
    nfi_gaussian_free(&g);
    return rc;
}

/* Whether path can be read; otherwise an error naming it and why. */
static int readable(const char *path, nfi_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return nfi_error_set(err, "cannot read '%s': %s", path,
                             strerror(errno));
    fclose(f);
    return 0;
}

static int make_idx(const nfi_task_config *c, const nfi_format *acts,
                    nfi_task_data *out, const char **flag, nfi_error *err)
{
    bool fashion = c->kind == NFI_TASK_FASHION_MNIST;
    const char *images = fashion ? NFI_IDX_FASHION_MNIST_DIR
                                   "/train-images-idx3-ubyte.gz"
                                 : c->images;
    const char *labels = fashion ? NFI_IDX_FASHION_MNIST_DIR
                                   "/train-labels-idx1-ubyte.gz"
                                 : c->labels;
    if (!fashion && images[0] == '\0') {
        nfi_error_set(err, "task idx needs --images FILE and --labels "
                      "FILE");
        return fail(flag, "images");
    }
    if (!fashion && labels[0] == '\0') {
        nfi_error_set(err, "task idx needs --images FILE and --labels "
                      "FILE");
        return fail(flag, "labels");
    }
    const char *paths[2] = {images, labels};
    for (int i = 0; i < 2; i++) {
        if (readable(paths[i], err) == 0)
            continue;
        if (fashion) {
            char why[NFI_ERROR_MAX];
            snprintf(why, sizeof why, "%s", err->message);
            nfi_error_set(err, "%s; the Fashion-MNIST files come with "
                          "Debian's package dataset-fashion-mnist "
                          "(apt-get install dataset-fashion-mnist), or "
                          "give any IDX files with --task idx --images "
                          "FILE --labels FILE", why);
            return fail(flag, "task fashion-mnist");
        }
        return fail(flag, i == 0 ? "images" : "labels");
    }
    nfi_idx_array header;
    if (nfi_idx_read_header(images, &header, err) != 0)
        return fail(flag, fashion ? "task fashion-mnist" : "images");
    if (c->subset > header.dims[0]) {
        nfi_error_set(err, "%zu samples asked for, but '%s' has %u; "
                      "expected 1 to %u", c->subset, images,
                      header.dims[0], header.dims[0]);
        return fail(flag, "subset");
    }
    nfi_idx_dataset d;
    if (nfi_idx_load(images, labels, fashion ? 10 : NFI_TASK_MAX_CLASSES,
                     c->subset, &d, err) != 0)
        return fail(flag, fashion ? "task fashion-mnist" : "task idx");
    if (d.width == 0) {
        nfi_error_set(err, "the images of '%s' have no pixels (a dimension "
                      "of 0); an IDX image file has one or more "
                      "dimensions after the count, none of them 0", images);
        nfi_idx_dataset_free(&d);
        return fail(flag, fashion ? "task fashion-mnist" : "images");
    }
    size_t k = 10;
    if (!fashion) {
        uint32_t top = 0;
        for (size_t i = 0; i < d.n; i++)
            top = d.label[i] > top ? d.label[i] : top;
        k = (size_t)top + 1;
        if (k < 2) {
            nfi_error_set(err, "every label of the %zu samples kept from "
                          "'%s' is 0; a classifier needs at least 2 "
                          "classes", d.n, labels);
            nfi_idx_dataset_free(&d);
            return fail(flag, "labels");
        }
    }
    /* Each byte v, recovered exactly from the loader's binary64 v / 255,
     * becomes the exact v / 255 rounded once into the activations
     * format. */
    double table[256];
    for (int v = 0; v < 256; v++)
        table[v] = nfi_mpfr_op_d(NFI_OP_DIV, (double)v, 255.0, 0.0, acts,
                                 NFI_ROUND_RNE, 0);
    for (size_t i = 0; i < d.n * d.width; i++)
        d.x[i] = table[lround(d.x[i] * 255.0)];
    int rc = split_real(c, d.n, d.width, d.x, d.label, out, flag, err);
    out->classes = k;
    out->images = images;
    out->labels = labels;
    nfi_idx_dataset_free(&d);
    return rc;
}

int nfi_task_data_make(const nfi_task_config *c, const nfi_format *acts,
                       nfi_task_data *out, const char **flag,
                       nfi_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = -1;
    switch (c->kind) {
    case NFI_TASK_MODULAR: rc = make_modular(c, out, flag, err); break;
    case NFI_TASK_GAUSSIAN: rc = make_gaussian(c, out, flag, err); break;
    case NFI_TASK_IDX:
    case NFI_TASK_FASHION_MNIST: rc = make_idx(c, acts, out, flag, err);
        break;
    }
    if (rc != 0)
        nfi_task_data_free(out);
    return rc;
}

void nfi_task_data_free(nfi_task_data *d)
{
    free(d->ints);
    free(d->x);
    memset(d, 0, sizeof *d);
}

int nfi_task_trainer_init(nfi_trainer *t, const nfi_train_spec *spec,
                          const nfi_task_data *d, nfi_error *err)
{
    if (d->real)
        return nfi_trainer_init_real(t, spec, d->train_real, d->test_real,
                                     err);
    return nfi_trainer_init(t, spec, d->train, d->test, err);
}

/* The rows of array name of a split file as int64 (n, 3). */
static int split_rows(const nfi_tensor_set *s, const char *path,
                      const char *name, int64_t **rows, size_t *n,
                      nfi_error *err)
{
    const nfi_tensor *t = nfi_tensor_find(s, name);
    if (t == NULL)
        return nfi_error_set(err, "'%s' has no array '%s'; a split file "
                             "is an .npz with integer arrays train (n, 3) "
                             "and test (m, 3) of rows (a, b, label)", path,
                             name);
    if (t->ndim != 2 || t->shape[1] != 3)
        return nfi_error_set(err, "'%s': array '%s' has %d dimensions%s; "
                             "expected (n, 3), rows (a, b, label)", path,
                             name, t->ndim, t->ndim == 2 ? " but not 3 "
                             "columns" : "");
    *rows = malloc((t->count > 0 ? t->count : 1) * sizeof **rows);
    if (*rows == NULL)
        return nfi_error_set(err, "out of memory reading '%s'", path);
    nfi_error why;
    if (nfi_tensor_to_int64(t, *rows, &why) != 0) {
        free(*rows);
        *rows = NULL;
        return nfi_error_set(err, "'%s': %s", path, why.message);
    }
    *n = t->shape[0];
    return 0;
}

int nfi_task_split_read(const char *path, nfi_modular_op op, long p,
                        nfi_modular_split *out, nfi_error *err)
{
    memset(out, 0, sizeof *out);
    nfi_modular_task task;
    if (nfi_modular_task_init(&task, op, p, err) != 0)
        return -1;
    nfi_tensor_set s;
    if (nfi_npz_read(path, &s, err) != 0)
        return -1;
    for (size_t i = 0; i < s.n; i++)
        if (strcmp(s.t[i].name, "train") != 0 &&
            strcmp(s.t[i].name, "test") != 0) {
            nfi_error_set(err, "'%s' holds an array '%s'; a split file "
                          "holds only train and test", path, s.t[i].name);
            nfi_tensor_set_free(&s);
            return -1;
        }
    int64_t *tr = NULL, *te = NULL;
    size_t ntr = 0, nte = 0;
    int rc = split_rows(&s, path, "train", &tr, &ntr, err);
    if (rc == 0)
        rc = split_rows(&s, path, "test", &te, &nte, err);
    nfi_error why;
    if (rc == 0 && nfi_modular_split_from_rows(out, &task, tr, ntr, te, nte,
                                               &why) != 0)
        rc = nfi_error_set(err, "'%s' does not fit %s mod %ld: %s", path,
                           nfi_modular_op_name(op), p, why.message);
    free(tr);
    free(te);
    nfi_tensor_set_free(&s);
    return rc;
}

/* A shape as Python writes a tuple: (2, 3), (5,). */
static void shape_text(int ndim, const size_t *shape, char *buf, size_t cap)
{
    snprintf(buf, cap, "(");
    for (int d = 0; d < ndim; d++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%zu%s", shape[d],
                 ndim == 1 ? "," : d + 1 < ndim ? ", " : "");
    snprintf(buf + strlen(buf), cap - strlen(buf), ")");
}

int nfi_task_init_load(nfi_trainer *t, size_t n_train, const char *path,
                       nfi_init_change *changes, size_t *nchanges,
                       nfi_error *err)
{
    nfi_param_tensor want[NFI_PARAM_TENSORS_MAX];
    size_t nw = nfi_param_tensors(&t->spec, n_train, want);
    char names[512] = "";
    for (size_t i = 0; i < nw; i++) {
        char shape[64];
        shape_text(want[i].ndim, want[i].shape, shape, sizeof shape);
        snprintf(names + strlen(names), sizeof names - strlen(names),
                 "%s%.15s %.60s", i ? ", " : "", want[i].name, shape);
    }
    nfi_tensor_set s;
    if (nfi_tensors_read(path, &s, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        size_t k = 0;
        while (k < nw && strcmp(want[k].name, s.t[i].name) != 0)
            k++;
        if (k == nw)
            rc = nfi_error_set(err, "'%s' holds a tensor '%s' that this "
                               "model does not have; expected exactly %s",
                               path, s.t[i].name, names);
    }
    size_t n_params;
    double *params = nfi_trainer_params(t, &n_params);
    double *vals = malloc((n_params > 0 ? n_params : 1) * sizeof *vals);
    if (rc == 0 && vals == NULL)
        rc = nfi_error_set(err, "out of memory loading '%s'", path);
    const nfi_format *f = &t->spec.policy.format[NFI_ROLE_PARAMS];
    for (size_t k = 0; k < nw && rc == 0; k++) {
        const nfi_tensor *x = nfi_tensor_find(&s, want[k].name);
        if (x == NULL) {
            rc = nfi_error_set(err, "'%s' lacks the tensor '%s'; expected "
                               "exactly %s", path, want[k].name, names);
            break;
        }
        bool same = x->ndim == want[k].ndim;
        for (int d = 0; same && d < x->ndim; d++)
            same = x->shape[d] == want[k].shape[d];
        if (!same) {
            char got[160], need[64];
            shape_text(x->ndim, x->shape, got, sizeof got);
            shape_text(want[k].ndim, want[k].shape, need, sizeof need);
            rc = nfi_error_set(err, "'%s': tensor '%s' has shape %s; this "
                               "model needs %s", path, x->name, got, need);
            break;
        }
        double *v = vals + want[k].offset;
        nfi_error why;
        if (nfi_tensor_to_double(x, v, &why) != 0) {
            rc = nfi_error_set(err, "'%s': %s", path, why.message);
            break;
        }
        size_t changed = 0;
        for (size_t i = 0; i < x->count && rc == 0; i++) {
            if (!isfinite(v[i])) {
                rc = nfi_error_set(err, "'%s': tensor '%s' element %zu "
                                   "(flat index, C order) is %g; initial "
                                   "parameters must be finite", path,
                                   x->name, i, v[i]);
                break;
            }
            double r = nfi_mpfr_op_d(NFI_OP_CVT, v[i], 0.0, 0.0, f,
                                     NFI_ROUND_RNE, 0);
            if (!isfinite(r)) {
                char spell[128];
                nfi_format_spell(f, spell, sizeof spell);
                rc = nfi_error_set(err, "'%s': tensor '%s' element %zu "
                                   "(flat index, C order), %.17g, "
                                   "overflows the params format %s", path,
                                   x->name, i, v[i], spell);
                break;
            }
            changed += r != v[i] || signbit(r) != signbit(v[i]);
            v[i] = r;
        }
        changes[k] = (nfi_init_change){"", changed, x->count};
        snprintf(changes[k].name, sizeof changes[k].name, "%.15s",
                 want[k].name);
    }
    if (rc == 0) {
        memcpy(params, vals, n_params * sizeof *params);
        *nchanges = nw;
    }
    free(vals);
    nfi_tensor_set_free(&s);
    return rc;
}
