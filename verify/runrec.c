/* nfi verify: a run directory read back (runrec.h). */
#define _POSIX_C_SOURCE 200809L

#include "runrec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace/csv.h"
#include "trace/json.h"
#include "trace/npy.h"
#include "runlog.h"
#include "trace/rundir.h"

static const char *const required_cols[] = {
    "step", "loss", "absorbed_frac", "underflow_frac", "zero_sum_residual",
    "residual_mass", "w_mean_norm", "feat_mean_norm", NULL,
};

void nfi_runrec_free(nfi_runrec *r)
{
    free(r->dir);
    if (r->names != NULL)
        for (size_t j = 0; j < r->ncols; j++)
            free(r->names[j]);
    free(r->names);
    free(r->values);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

const double *nfi_runrec_col(const nfi_runrec *r, const char *name)
{
    for (size_t j = 0; j < r->ncols; j++)
        if (strcmp(r->names[j], name) == 0)
            return r->values + j;
    return NULL;
}

double nfi_runrec_at(const nfi_runrec *r, const char *name, size_t i)
{
    const double *c = nfi_runrec_col(r, name);
    return c == NULL || i >= r->nrows ? NAN : c[i * r->ncols];
}

int nfi_runrec_snapshot_path(const nfi_runrec *r, long step,
                             const char *name, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/" NFI_RUNDIR_SNAPSHOTS "/step_%08ld/%s",
                     r->dir, step, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* A string member of obj into buf. */
static int get_string(const nfi_json_value *obj, const char *key,
                      char *buf, size_t cap, nfi_error *err)
{
    const char *s;
    const nfi_json_value *v = nfi_json_member(obj, key, err);
    if (v == NULL || nfi_json_as_string(v, &s, NULL, err) != 0)
        return -1;
    snprintf(buf, cap, "%s", s);
    return 0;
}

static int get_size(const nfi_json_value *obj, const char *key, size_t *x,
                    nfi_error *err)
{
    uint64_t u;
    const nfi_json_value *v = nfi_json_member(obj, key, err);
    if (v == NULL || nfi_json_as_uint64(v, &u, err) != 0)
        return -1;
    *x = (size_t)u;
    return 0;
}

static int get_double(const nfi_json_value *obj, const char *key,
                      double *x, nfi_error *err)
{
    const nfi_json_value *v = nfi_json_member(obj, key, err);
    return v == NULL ? -1 : nfi_json_as_double(v, x, err);
}

static int read_config(nfi_runrec *r, const char *path, nfi_error *err)
{
    nfi_json_value *root = nfi_json_parse_file(path, err);
    if (root == NULL)
        return -1;
    int rc = -1;
    char text[128];
    nfi_error e;
    const nfi_json_value *opt = nfi_json_member(root, "options", &e);
    const nfi_json_value *res = nfi_json_member(root, "resolved", &e);
    const nfi_json_value *fmt =
        res == NULL ? NULL : nfi_json_member(res, "formats", &e);
    if (opt == NULL || fmt == NULL ||
        get_string(fmt, "logits", r->logits_spell, sizeof r->logits_spell,
                   &e) != 0 ||
        nfi_format_parse(r->logits_spell, &r->logits_format, &e) != 0 ||
        get_string(res, "round", text, sizeof text, &e) != 0 ||
        nfi_round_parse(text, &r->mode, &e) != 0 ||
        get_string(res, "scheme", text, sizeof text, &e) != 0 ||
        nfi_ce_scheme_parse(text, &r->scheme, &e) != 0 ||
        get_string(res, "order", r->order_spell, sizeof r->order_spell,
                   &e) != 0 ||
        nfi_reduction_parse(r->order_spell, &r->order, &e) != 0 ||
        get_string(res, "optimizer", r->optimizer, sizeof r->optimizer,
                   &e) != 0 ||
        get_string(res, "task", r->task, sizeof r->task, &e) != 0 ||
        get_string(res, "model", r->model, sizeof r->model, &e) != 0 ||
        get_size(res, "n_train", &r->n_train, &e) != 0 ||
        get_size(res, "classes", &r->classes, &e) != 0 ||
        get_double(opt, "lr", &r->lr, &e) != 0 ||
        get_double(opt, "eps", &r->eps, &e) != 0 ||
        get_double(opt, "momentum", &r->momentum, &e) != 0 ||
        get_double(opt, "weight_decay", &r->weight_decay, &e) != 0) {
        nfi_error_set(err, "'%s': %s", path, e.message);
        goto out;
    }
    const nfi_json_value *seed = nfi_json_member(res, "seed", &e);
    if (seed == NULL || nfi_json_as_uint64(seed, &r->seed, &e) != 0) {
        nfi_error_set(err, "'%s': %s", path, e.message);
        goto out;
    }
    rc = 0;
out:
    nfi_json_free(root);
    return rc;
}

static int read_metrics(nfi_runrec *r, const char *path, nfi_error *err)
{
    nfi_csv_table t;
    if (nfi_csv_read(path, &t, err) != 0)
        return -1;
    if (nfi_metrics_check(path, r->dir, t.nrows, t.ncols,
                          (const char *const *)t.names, t.values,
                          err) != 0) {
        nfi_csv_table_free(&t);
        return -1;
    }
    r->ncols = t.ncols;
    r->nrows = t.nrows;
    r->names = t.names;
    r->values = t.values;
    for (size_t k = 0; required_cols[k] != NULL; k++)
        if (nfi_runrec_col(r, required_cols[k]) == NULL)
            return nfi_error_set(err, "'%s' has no column '%s'", path,
                                 required_cols[k]);
    if (r->nrows == 0)
        return nfi_error_set(err, "'%s' has no rows", path);
    return 0;
}

static int read_labels(nfi_runrec *r, const char *path, nfi_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 0;
    nfi_npy_array a;
    if (nfi_npy_read(path, &a, err) != 0)
        return -1;
    int rc = 0;
    if (a.dtype != NFI_DTYPE_INT64 || a.ndim != 1 ||
        a.shape[0] != r->n_train) {
        rc = nfi_error_set(err, "'%s' is not an int64 array of %zu "
                           "labels (config.json's n_train)", path,
                           r->n_train);
    } else {
        r->labels = a.data;
        a.data = NULL;
        for (size_t i = 0; i < r->n_train; i++)
            if (r->labels[i] < 0 || (uint64_t)r->labels[i] >= r->classes)
                rc = nfi_error_set(err, "'%s': label %zu is %lld, not a "
                                   "class below %zu", path, i,
                                   (long long)r->labels[i], r->classes);
    }
    nfi_npy_free(&a);
    return rc;
}

int nfi_runrec_open(const char *dir, nfi_runrec *r, nfi_error *err)
{
    memset(r, 0, sizeof *r);
    r->dir = strdup(dir);
    if (r->dir == NULL)
        return nfi_error_set(err, "out of memory");
    size_t n = strlen(dir) + 64;
    char *path = malloc(n);
    if (path == NULL) {
        nfi_runrec_free(r);
        return nfi_error_set(err, "out of memory");
    }
    snprintf(path, n, "%s/%s", dir, NFI_RUNDIR_CONFIG);
    int rc = read_config(r, path, err);
    if (rc == 0) {
        snprintf(path, n, "%s/%s", dir, NFI_RUNDIR_METRICS);
        rc = read_metrics(r, path, err);
    }
    if (rc == 0) {
        snprintf(path, n, "%s/%s", dir, NFI_RUNDIR_TRAIN_LABELS);
        rc = read_labels(r, path, err);
    }
    free(path);
    if (rc != 0)
        nfi_runrec_free(r);
    return rc;
}

int nfi_runrec_step_array(const nfi_runrec *r, long step, const char *name,
                          int ndim, size_t *shape, double **out,
                          nfi_error *err)
{
    char path[4096], file[256];
    *out = NULL;
    snprintf(file, sizeof file, "%s.npy", name);
    if (nfi_runrec_snapshot_path(r, step, file, path, sizeof path) != 0)
        return nfi_error_set(err, "path too long in '%s'", r->dir);
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 1;
    nfi_npy_array a;
    if (nfi_npy_read(path, &a, err) != 0)
        return -1;
    bool ok = a.dtype == NFI_DTYPE_FLOAT64 && a.ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = shape[d] == 0 || a.shape[d] == shape[d];
    if (!ok) {
        nfi_npy_free(&a);
        return nfi_error_set(err, "'%s' is not a float64 array of the "
                             "shape expected (%d dimensions, N = %zu, "
                             "K = %zu)", path, ndim, r->n_train,
                             r->classes);
    }
    for (int d = 0; d < ndim; d++)
        shape[d] = a.shape[d];
    *out = a.data;
    return 0;
}
