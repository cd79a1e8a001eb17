/* nfi sweep: run directories read back into summary rows, and the
 * summary files (summary.csv, summary.md, threshold.json).
 *
 * Definitions (docs/sweep.md):
 * - onset_step, first_spike_step, spikes: as summary.json defines them
 *   (train/runlog.h), found in metrics.csv;
 * - max_absorbed_frac: the largest absorbed_frac of any logged step;
 * - growth_rate: w_mean_norm at the end of the growth window divided by
 *   w_mean_norm at the onset; the window ends at the first spike start at
 *   or after the onset, or at the last logged step;
 * - spike_loss_ratio: the loss at the first spike divided by the minimum
 *   of the earlier logged positive losses;
 * - verdicts: absorption when max_absorbed_frac > 0.2, growth when
 *   growth_rate > 10, spike when there is a spike. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runlog.h"
#include "sweep.h"
#include "trace/atomic.h"
#include "trace/json.h"
#include "trace/numtext.h"
#include "trace/rundir.h"

int sweep_row_read(const char *dir, sweep_row *row, nfi_error *err)
{
    memset(row, 0, sizeof *row);
    row->onset = row->first_spike = row->last_step = -1;
    row->max_absorbed = row->growth = row->spike_ratio = NAN;
    row->final_loss = NAN;
    snprintf(row->status, sizeof row->status, "missing");
    nfi_run_status rs;
    char reason[NFI_STATUS_REASON_MAX + 1];
    struct stat st;
    if (stat(dir, &st) != 0 ||
        nfi_status_read(dir, &rs, reason, sizeof reason, NULL) != 0)
        return 0;
    snprintf(row->status, sizeof row->status, "%s",
             nfi_run_status_name(rs));
    nfi_run_series s;
    nfi_error e;
    if (nfi_run_series_read(dir, &s, &e) != 0) {
        if (!sweep_row_done(row))
            return 0;
        *err = e;
        return -1;
    }
    row->present = true;
    row->onset = s.onset;
    row->spikes = (long)s.nspikes;
    row->first_spike = s.nspikes > 0 ? s.spikes[0] : -1;
    double mx = NAN, run_min = INFINITY;
    size_t io = s.n, ie = s.n;
    for (size_t i = 0; i < s.n; i++) {
        double af = s.absorbed_frac[i];
        if (!isnan(af) && (isnan(mx) || af > mx))
            mx = af;
        long step = (long)s.step[i];
        if (step == s.onset)
            io = i;
        if (row->first_spike >= 0 && step == row->first_spike)
            row->spike_ratio = s.loss[i] / run_min;
        if (io < s.n && ie == s.n && i >= io) {
            for (size_t k = 0; k < s.nspikes; k++)
                if (s.spikes[k] == step && step >= s.onset)
                    ie = i;
        }
        run_min = nfi_loss_min_update(run_min, s.loss[i]);
    }
    row->max_absorbed = mx;
    if (io < s.n) {
        if (ie == s.n)
            ie = s.n - 1;
        row->growth = s.w_mean_norm[ie] / s.w_mean_norm[io];
    }
    if (s.n > 0) {
        row->final_loss = s.loss[s.n - 1];
        row->last_step = (long)s.step[s.n - 1];
    }
    nfi_run_series_free(&s);
    return 0;
}

bool sweep_row_done(const sweep_row *row)
{
    return strcmp(row->status, "complete") == 0 ||
           strcmp(row->status, "failed") == 0;
}

bool sweep_row_unstable(const sweep_row *row)
{
    return row->first_spike >= 0 || strcmp(row->status, "failed") == 0;
}

/* ---- Text helpers ---- */

typedef struct text {
    char *s;
    size_t n, cap;
} text;

static void tadd(text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static void tadd(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->n : NULL,
                          t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if (t->s != NULL && t->n + (size_t)k < t->cap) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = (t->cap + (size_t)k + 1) * 2;
        char *s = realloc(t->s, cap);
        if (s == NULL)
            abort();
        t->s = s;
        t->cap = cap;
    }
}

/* A CSV cell: quoted when it holds a comma, a quote or a line end. */
static void tcell(text *t, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        tadd(t, "%s", s);
        return;
    }
    tadd(t, "\"");
    for (; *s; s++)
        tadd(t, *s == '"' ? "\"\"" : "%c", *s);
    tadd(t, "\"");
}

static const char *num(double x, char *buf)
{
    if (isnan(x)) {
        buf[0] = '\0';
        return buf;
    }
    nfi_double_text(x, buf);
    return buf;
}

static const char *step_text(long s, char *buf)
{
    if (s < 0)
        buf[0] = '\0';
    else
        snprintf(buf, 32, "%ld", s);
    return buf;
}

/* A short decimal for the readable table. */
static const char *short_num(double x, char *buf)
{
    if (isnan(x))
        snprintf(buf, 32, "-");
    else
        snprintf(buf, 32, "%.4g", x);
    return buf;
}

static const char *yes_no(const sweep_row *r, int which)
{
    if (!r->present)
        return "";
    switch (which) {
    case 0: return r->max_absorbed > SWEEP_ABSORBED_LEVEL ? "yes" : "no";
    case 1: return r->growth > SWEEP_GROWTH_LEVEL ? "yes" : "no";
    default: return r->first_spike >= 0 ? "yes" : "no";
    }
}

static int save(const char *dir, const char *name, const text *t,
                nfi_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return nfi_atomic_write_file(path, t->s ? t->s : "", t->n, err);
}

size_t sweep_nonmonotone(const sweep_args *a, const sweep_plan *plan,
                         const sweep_row *rows, const bool *listed,
                         size_t *pairs, size_t cap)
{
    size_t count = 0;
    for (size_t i = 0; i < plan->n; i++) {
        const sweep_run *ri = &plan->runs[i];
        if (!listed[i] || !sweep_row_done(&rows[i]) ||
            sweep_row_unstable(&rows[i]))
            continue;
        for (size_t j = 0; j < plan->n; j++) {
            const sweep_run *rj = &plan->runs[j];
            if (!listed[j] || !sweep_row_done(&rows[j]) ||
                !sweep_row_unstable(&rows[j]) || rj->p <= ri->p)
                continue;
            bool same = true;
            for (size_t v = 0; v < a->n_vary; v++)
                same = same && ri->value[v] == rj->value[v];
            if (!same)
                continue;
            if (count < cap) {
                pairs[2 * count] = i;
                pairs[2 * count + 1] = j;
            }
            count++;
        }
    }
    return count;
}

static void threshold_md(text *md, const sweep_args *a,
                         const sweep_plan *plan, const sweep_row *rows,
                         const sweep_threshold *th)
{
    tadd(md, "\n## Threshold in p\n\n");
    tadd(md, "Search over p = %ld..%ld (step %ld); a probe is unstable "
         "when its run has a loss spike or failed.\n\n", a->p_lo, a->p_hi,
         a->p_step);
    tadd(md, "%s\n\n", th->verdict);
    tadd(md, "| probe | p | run | unstable | first spike step | "
         "loss / running min | status |\n|---|---|---|---|---|---|---|\n");
    for (size_t k = 0; k < th->n_probes; k++) {
        const sweep_row *r = &rows[th->probes[k]];
        char b1[32], b2[32];
        tadd(md, "| %zu | %ld | %s | %s | %s | %s | %s |\n", k + 1,
             plan->runs[th->probes[k]].p, plan->runs[th->probes[k]].name,
             sweep_row_unstable(r) ? "yes" : "no",
             r->first_spike >= 0 ? step_text(r->first_spike, b1) : "-",
             short_num(r->spike_ratio, b2), r->status);
    }
}

int sweep_summary_write(const char *dir, const sweep_args *a,
                        const sweep_plan *plan, const sweep_row *rows,
                        const bool *listed, const sweep_threshold *th,
                        nfi_error *err)
{
    text csv = {0}, md = {0};
    tadd(&csv, "run,format,p,emin,emax");
    for (size_t v = 0; v < a->n_vary; v++) {
        tadd(&csv, ",");
        tcell(&csv, a->vary[v].name);
    }
    tadd(&csv, ",onset_step,max_absorbed_frac,growth_rate,"
         "first_spike_step,spikes,spike_loss_ratio,final_loss,last_step,"
         "status,absorption,growth,spike\n");

    size_t n_listed = 0, n_complete = 0, n_failed = 0, n_other = 0;
    for (size_t i = 0; i < plan->n; i++) {
        if (!listed[i])
            continue;
        n_listed++;
        if (strcmp(rows[i].status, "complete") == 0)
            n_complete++;
        else if (strcmp(rows[i].status, "failed") == 0)
            n_failed++;
        else
            n_other++;
    }
    tadd(&md, "# nfi sweep\n\n");
    tadd(&md, "nfi train options:");
    for (size_t i = 0; i < a->n_train; i++)
        tadd(&md, " %s", a->train[i]);
    if (a->n_train == 0)
        tadd(&md, " (the defaults)");
    tadd(&md, "\n\n");
    if (a->mantissa)
        tadd(&md, "Formats: p = %ld..%ld, step %ld, emin = %ld, emax = "
             "%ld.\n\n", a->p_lo, a->p_hi, a->p_step, a->emin, a->emax);
    if (a->shard_n > 1)
        tadd(&md, "Shard %ld of %ld (runs whose index mod %ld is %ld).\n\n",
             a->shard_i, a->shard_n, a->shard_n, a->shard_i);
    tadd(&md, "%zu runs: %zu complete, %zu failed, %zu not finished.  "
         "Verdicts: absorption when the largest absorbed fraction > %g, "
         "growth when |w_bar| grows > %gx from the onset to the first "
         "spike (or the end), spike when a logged loss is >= 10x the "
         "running minimum.\n\n", n_listed, n_complete, n_failed, n_other,
         SWEEP_ABSORBED_LEVEL, SWEEP_GROWTH_LEVEL);
    tadd(&md, "| run | format | p |");
    for (size_t v = 0; v < a->n_vary; v++)
        tadd(&md, " %s |", a->vary[v].name);
    tadd(&md, " onset | max absorbed | growth | first spike | spikes | "
         "final loss | status | absorption | growth | spike |\n|---|---|"
         "---|");
    for (size_t v = 0; v < a->n_vary; v++)
        tadd(&md, "---|");
    tadd(&md, "---|---|---|---|---|---|---|---|---|---|\n");

    for (size_t i = 0; i < plan->n; i++) {
        if (!listed[i])
            continue;
        const sweep_run *r = &plan->runs[i];
        const sweep_row *w = &rows[i];
        char b[8][NFI_DOUBLE_TEXT_MAX + 32];
        tcell(&csv, r->name);
        tadd(&csv, ",");
        tcell(&csv, r->format);
        tadd(&csv, ",%ld,%ld,%ld", r->p, r->emin, r->emax);
        for (size_t v = 0; v < a->n_vary; v++) {
            tadd(&csv, ",");
            tcell(&csv, a->vary[v].values[r->value[v]]);
        }
        tadd(&csv, ",%s,%s,%s,%s,", step_text(w->onset, b[0]),
             num(w->max_absorbed, b[1]), num(w->growth, b[2]),
             step_text(w->first_spike, b[3]));
        if (w->present)
            tadd(&csv, "%ld", w->spikes);
        if (w->present)
            nfi_double_text(w->final_loss, b[5]);
        else
            b[5][0] = '\0';
        tadd(&csv, ",%s,%s,%s,%s,%s,%s,%s\n", num(w->spike_ratio, b[4]),
             b[5], step_text(w->last_step, b[6]),
             w->status, yes_no(w, 0), yes_no(w, 1), yes_no(w, 2));

        tadd(&md, "| %s | %s | %ld |", r->name, r->format, r->p);
        for (size_t v = 0; v < a->n_vary; v++)
            tadd(&md, " %s |", a->vary[v].values[r->value[v]]);
        tadd(&md, " %s |", w->onset >= 0 ? step_text(w->onset, b[0]) : "-");
        tadd(&md, " %s |", short_num(w->max_absorbed, b[1]));
        tadd(&md, " %s |", short_num(w->growth, b[2]));
        tadd(&md, " %s |", w->first_spike >= 0
             ? step_text(w->first_spike, b[3]) : "-");
        if (w->present)
            tadd(&md, " %ld |", w->spikes);
        else
            tadd(&md, " - |");
        if (w->present && isnan(w->final_loss))
            snprintf(b[5], sizeof b[5], "nan");
        else
            short_num(w->final_loss, b[5]);
        tadd(&md, " %s | %s | %s | %s | %s |\n", b[5], w->status, yes_no(w, 0),
             yes_no(w, 1), yes_no(w, 2));
    }

    if (a->mantissa) {
        size_t pairs[2 * 8];
        size_t np = sweep_nonmonotone(a, plan, rows, listed, pairs, 8);
        tadd(&md, "\n## Spikes against p\n\n");
        if (np == 0) {
            tadd(&md, "Monotone: no run without a spike (or failure) has a "
                 "smaller p than a run with one, among the finished runs "
                 "with the same varied values.\n");
        } else {
            tadd(&md, "Not monotone in p: %zu pairs of runs where the "
                 "smaller p is stable and the larger one is not", np);
            tadd(&md, np > 8 ? " (the first 8):\n\n" : ":\n\n");
            for (size_t k = 0; k < np && k < 8; k++)
                tadd(&md, "- %s (p=%ld, stable) and %s (p=%ld, %s)\n",
                     plan->runs[pairs[2 * k]].name,
                     plan->runs[pairs[2 * k]].p,
                     plan->runs[pairs[2 * k + 1]].name,
                     plan->runs[pairs[2 * k + 1]].p,
                     rows[pairs[2 * k + 1]].first_spike >= 0 ? "spike"
                                                             : "failed");
        }
    }
    if (th != NULL && th->have)
        threshold_md(&md, a, plan, rows, th);

    int rc = save(dir, "summary.csv", &csv, err);
    if (rc == 0)
        rc = save(dir, "summary.md", &md, err);
    free(csv.s);
    free(md.s);
    return rc;
}

int sweep_threshold_write(const char *dir, const sweep_plan *plan,
                          const sweep_row *rows, const sweep_threshold *th,
                          nfi_error *err)
{
    nfi_json_writer *j = nfi_json_writer_new();
    if (j == NULL)
        return nfi_error_set(err, "out of memory writing threshold.json");
    nfi_json_begin_object(j);
    nfi_json_key(j, "largest_p_with_spike");
    if (th->p_spike >= 0)
        nfi_json_int(j, th->p_spike);
    else
        nfi_json_null(j);
    nfi_json_key(j, "smallest_p_without_spike");
    if (th->p_calm >= 0)
        nfi_json_int(j, th->p_calm);
    else
        nfi_json_null(j);
    nfi_json_key(j, "verdict");
    nfi_json_string(j, th->verdict);
    nfi_json_key(j, "unstable");
    nfi_json_string(j, "a loss spike (a logged loss >= 10 times the "
                    "running minimum) or a failed run");
    nfi_json_key(j, "probes");
    nfi_json_begin_array(j);
    for (size_t k = 0; k < th->n_probes; k++) {
        const sweep_row *r = &rows[th->probes[k]];
        nfi_json_begin_object(j);
        nfi_json_key(j, "p");
        nfi_json_int(j, plan->runs[th->probes[k]].p);
        nfi_json_key(j, "run");
        nfi_json_string(j, plan->runs[th->probes[k]].name);
        nfi_json_key(j, "status");
        nfi_json_string(j, r->status);
        nfi_json_key(j, "unstable");
        nfi_json_bool(j, sweep_row_unstable(r));
        nfi_json_key(j, "first_spike_step");
        if (r->first_spike >= 0)
            nfi_json_int(j, r->first_spike);
        else
            nfi_json_null(j);
        nfi_json_key(j, "spike_loss_ratio");
        if (!isnan(r->spike_ratio))
            nfi_json_double(j, r->spike_ratio);
        else
            nfi_json_null(j);
        nfi_json_end_object(j);
    }
    nfi_json_end_array(j);
    nfi_json_end_object(j);
    char path[4096];
    snprintf(path, sizeof path, "%s/threshold.json", dir);
    int rc = nfi_json_writer_save(j, path, err);
    nfi_json_writer_free(j);
    return rc;
}
