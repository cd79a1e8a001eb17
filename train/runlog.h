/* nfi train: a run's history read back from its run directory, for
 * plots and comparisons of runs.
 *
 * The events are those of summary.json (docs/training.md):
 * - absorption onset: the first logged step with absorbed_frac > 0;
 * - a spike: a logged step whose loss is above the minimum M of the
 *   losses of the earlier logged steps and at least 10 * max(M, 0)
 *   (nfi_loss_is_spike); a NaN loss never is one and leaves M as it
 *   was.  A spike's start is a spike step whose preceding logged step
 *   was not one; summary.json counts these as `spikes`. */
#ifndef NFI_TRAIN_RUNLOG_H
#define NFI_TRAIN_RUNLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Whether a logged loss is a spike after the earlier logged losses:
 * at least 10 times running_min, the minimum of the earlier positive
 * losses (+inf before one; losses that rounded to 0 or below do not
 * count, so that a zero loss does not make every later loss a spike).
 * False when loss is NaN.  This is the definition summary.json states;
 * nfi_loss_min_update keeps running_min. */
bool nfi_loss_is_spike(double loss, double running_min);
double nfi_loss_min_update(double running_min, double loss);

/* Checks a metrics.csv read back (path, as nfi_csv_read gave it) for
 * damage that the reader cannot see: the step column must be whole
 * numbers >= 1, increasing; and unless the run directory's status says
 * running, the file must end with a line end (the reader leaves out a
 * row cut short, which only a running run may have).  Returns 0, or -1
 * with err naming the file and the row. */
int nfi_metrics_check(const char *path, const char *dir, size_t nrows,
                      size_t ncols, const char *const *names,
                      const double *values, nfi_error *err);

/* The plotted columns of metrics.csv and the events of a run. */
typedef struct nfi_run_series {
    size_t n;               /* logged rows */
    double *step;           /* (n) */
    double *loss;           /* (n) */
    double *absorbed_frac;  /* (n) */
    double *w_mean_norm;    /* (n) */
    double *feat_mean_norm; /* (n) */
    long onset;             /* absorption onset step, -1: none */
    size_t nspikes;
    long *spikes;           /* (nspikes) steps where spikes start,
                               increasing */
} nfi_run_series;

/* Reads DIR/metrics.csv (which must have the columns step, loss,
 * absorbed_frac, w_mean_norm and feat_mean_norm, in any order among
 * others) and finds the events above in its rows.  When DIR/summary.json
 * exists, its absorption_onset and first_spike step are taken as well:
 * the onset from it replaces the one found (they agree for a run nfi
 * wrote), and its first spike is added to the starts if missing; a run
 * still running has no summary.json, and then the rows alone count.
 * Returns 0; or -1 with err naming the file when metrics.csv is missing,
 * unreadable or malformed, lacks a column, or summary.json cannot be
 * parsed or holds a value of the wrong type; *s is then empty. */
int nfi_run_series_read(const char *dir, nfi_run_series *s,
                        nfi_error *err);

/* Frees the arrays of s (in every case; a zeroed or empty s is
 * allowed) and leaves it empty. */
void nfi_run_series_free(nfi_run_series *s);

#endif
