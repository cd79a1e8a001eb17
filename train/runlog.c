/* nfi train: a run's history read back (runlog.h). */
#define _POSIX_C_SOURCE 200809L

#include "runlog.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace/csv.h"
#include "trace/json.h"
#include "trace/rundir.h"

bool nfi_loss_is_spike(double loss, double running_min)
{
    /* running_min is over positive losses only (+inf before one): a
     * loss that rounded to 0 or below does not make every later one a
     * spike.  NaN fails the test. */
    return loss >= 10 * running_min;
}

double nfi_loss_min_update(double running_min, double loss)
{
    return loss > 0 ? fmin(running_min, loss) : running_min;
}

static char *join(const char *dir, const char *name);

int nfi_metrics_check(const char *path, const char *dir, size_t nrows,
                      size_t ncols, const char *const *names,
                      const double *values, nfi_error *err)
{
    size_t col = 0;
    while (col < ncols && strcmp(names[col], "step") != 0)
        col++;
    if (col == ncols)
        return nfi_error_set(err, "'%s' has no column 'step'", path);
    double last = 0.0;
    for (size_t r = 0; r < nrows; r++) {
        double step = values[r * ncols + col];
        if (!(step >= 1 && step <= 0x1p53 && step == floor(step)) ||
            step <= last)
            return nfi_error_set(err, "'%s' is damaged: row %zu has step "
                                 "%g after step %g (steps are whole "
                                 "numbers from 1, increasing)", path,
                                 r + 1, step, last);
        last = step;
    }
    /* Is the run still running?  Then a last line may be cut short. */
    char *status = join(dir, "status");
    bool running = false;
    FILE *f = status ? fopen(status, "r") : NULL;
    if (f != NULL) {
        char word[16] = "";
        running = fscanf(f, "%15s", word) == 1 &&
                  strcmp(word, "running") == 0;
        fclose(f);
    }
    free(status);
    if (running)
        return 0;
    f = fopen(path, "rb");
    if (f == NULL)
        return nfi_error_set(err, "cannot read '%s'", path);
    int end = fseek(f, -1, SEEK_END) == 0 ? fgetc(f) : EOF;
    fclose(f);
    if (end != '\n')
        return nfi_error_set(err, "'%s' is damaged: its last row is cut "
                             "short (the run is not running)", path);
    return 0;
}

void nfi_run_series_free(nfi_run_series *s)
{
    free(s->step);
    free(s->loss);
    free(s->absorbed_frac);
    free(s->w_mean_norm);
    free(s->feat_mean_norm);
    free(s->spikes);
    memset(s, 0, sizeof *s);
    s->onset = -1;
}

/* DIR/NAME in a malloc'ed string, or NULL. */
static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Adds step to the increasing list of spike starts unless it is there. */
static int add_spike(nfi_run_series *s, long step)
{
    size_t i = 0;
    while (i < s->nspikes && s->spikes[i] < step)
        i++;
    if (i < s->nspikes && s->spikes[i] == step)
        return 0;
    long *p = realloc(s->spikes, (s->nspikes + 1) * sizeof *p);
    if (p == NULL)
        return -1;
    memmove(p + i + 1, p + i, (s->nspikes - i) * sizeof *p);
    p[i] = step;
    s->spikes = p;
    s->nspikes++;
    return 0;
}

/* Takes the columns and events from the table read from path. */
static int take_table(const nfi_csv_table *t, const char *path,
                      nfi_run_series *s, nfi_error *err)
{
    static const char *const want[5] = {
        "step", "loss", "absorbed_frac", "w_mean_norm", "feat_mean_norm",
    };
    size_t col[5];
    for (size_t k = 0; k < 5; k++) {
        size_t j = 0;
        while (j < t->ncols && strcmp(t->names[j], want[k]) != 0)
            j++;
        if (j == t->ncols)
            return nfi_error_set(err, "'%s' has no column '%s'", path,
                                 want[k]);
        col[k] = j;
    }

    double **dst[5] = {&s->step, &s->loss, &s->absorbed_frac,
                       &s->w_mean_norm, &s->feat_mean_norm};
    for (size_t k = 0; k < 5; k++) {
        *dst[k] = malloc((t->nrows ? t->nrows : 1) * sizeof(double));
        if (*dst[k] == NULL)
            return nfi_error_set(err, "out of memory reading '%s'", path);
        for (size_t r = 0; r < t->nrows; r++)
            (*dst[k])[r] = t->values[r * t->ncols + col[k]];
    }
    s->n = t->nrows;

    double running_min = INFINITY;
    bool in_spike = false;
    for (size_t r = 0; r < s->n; r++) {
        if (s->onset < 0 && s->absorbed_frac[r] > 0)
            s->onset = (long)s->step[r];
        bool spike = nfi_loss_is_spike(s->loss[r], running_min);
        if (spike && !in_spike && add_spike(s, (long)s->step[r]) != 0)
            return nfi_error_set(err, "out of memory reading '%s'", path);
        in_spike = spike;
        running_min = nfi_loss_min_update(running_min, s->loss[r]);
    }
    return 0;
}

/* Takes the onset and first spike of summary.json at path, if the file
 * exists. */
static int take_summary(const char *path, nfi_run_series *s,
                        nfi_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 0;
    nfi_json_value *root = nfi_json_parse_file(path, err);
    if (root == NULL)
        return -1;
    int rc = 0;
    const nfi_json_value *v = nfi_json_get(root, "absorption_onset");
    int64_t step;
    if (v != NULL && nfi_json_type_of(v) != NFI_JSON_NULL) {
        if (nfi_json_as_int64(v, &step, err) != 0)
            rc = -1;
        else
            s->onset = (long)step;
    }
    v = nfi_json_get(root, "first_spike");
    if (rc == 0 && v != NULL && nfi_json_type_of(v) != NFI_JSON_NULL) {
        const nfi_json_value *sv = nfi_json_member(v, "step", err);
        if (sv == NULL || nfi_json_as_int64(sv, &step, err) != 0)
            rc = -1;
        else if (add_spike(s, (long)step) != 0)
            rc = nfi_error_set(err, "out of memory reading '%s'", path);
    }
    nfi_json_free(root);
    return rc;
}

int nfi_run_series_read(const char *dir, nfi_run_series *s,
                        nfi_error *err)
{
    memset(s, 0, sizeof *s);
    s->onset = -1;
    char *metrics = join(dir, NFI_RUNDIR_METRICS);
    char *summary = join(dir, NFI_RUNDIR_SUMMARY);
    int rc = -1;
    if (metrics == NULL || summary == NULL) {
        nfi_error_set(err, "out of memory");
        goto out;
    }

    nfi_csv_table t;
    if (nfi_csv_read(metrics, &t, err) != 0)
        goto out;
    rc = nfi_metrics_check(metrics, dir, t.nrows, t.ncols,
                           (const char *const *)t.names, t.values, err);
    if (rc == 0)
        rc = take_table(&t, metrics, s, err);
    nfi_csv_table_free(&t);
    if (rc == 0)
        rc = take_summary(summary, s, err);

out:
    if (rc != 0)
        nfi_run_series_free(s);
    free(metrics);
    free(summary);
    return rc;
}
