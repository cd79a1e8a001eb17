/* nfi verify: a run directory read back for the claims: its resolved
 * configuration, every column of metrics.csv, the training labels and,
 * step by step, the per-sample records and logits (docs/training.md,
 * "Measurements").  Nothing here writes. */
#ifndef NFI_VERIFY_RUNREC_H
#define NFI_VERIFY_RUNREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "format.h"
#include "reduce.h"
#include "softmax_ce.h"

typedef struct nfi_runrec {
    char *dir;
    /* config.json, its "resolved" section and options */
    nfi_format logits_format;
    char logits_spell[128];
    nfi_round mode;
    nfi_ce_scheme scheme;
    nfi_reduction order;
    char order_spell[64];
    char optimizer[16];    /* sgd, adam or adamw */
    char task[32], model[16];
    double lr, eps, momentum, weight_decay;
    uint64_t seed;
    size_t n_train, classes;
    /* metrics.csv */
    size_t nrows, ncols;
    char **names;          /* (ncols) */
    double *values;        /* (nrows, ncols) */
    /* train_labels.npy; NULL when the run has none (an older nfi) */
    int64_t *labels;       /* (n_train) */
} nfi_runrec;

/* Reads DIR/config.json (resolved formats, round, scheme, order,
 * optimizer and its rates, task, model, seed, n_train, classes),
 * DIR/metrics.csv (at least one row, and the columns step, loss,
 * absorbed_frac, underflow_frac, zero_sum_residual, residual_mass,
 * w_mean_norm, feat_mean_norm) and, when present, DIR/train_labels.npy.
 * Returns 0, or -1 with err naming the file and what is wrong (missing,
 * unreadable, malformed, a missing key or column, labels of the wrong
 * shape or out of range); *r is then empty. */
int nfi_runrec_open(const char *dir, nfi_runrec *r, nfi_error *err);

void nfi_runrec_free(nfi_runrec *r);

/* The column `name` of metrics.csv as a strided view: value of row i at
 * col[i * r->ncols]; NULL when there is no such column. */
const double *nfi_runrec_col(const nfi_runrec *r, const char *name);

/* Value of column name at row i (NaN when the column is missing). */
double nfi_runrec_at(const nfi_runrec *r, const char *name, size_t i);

/* The path DIR/snapshots/step_SSSSSSSS/NAME (the naming of
 * sim/trace/rundir.h) in buf.  Returns 0, or -1 when buf is small. */
int nfi_runrec_snapshot_path(const nfi_runrec *r, long step,
                             const char *name, char *buf, size_t cap);

/* Reads the float64 array NAME.npy of a step's snapshot, of ndim
 * dimensions (at most 3) and the given shape, into a malloc'ed *out; an
 * entry 0 of shape accepts any extent and receives the file's.  Returns
 * 0; 1 when the file does not exist (*out NULL); or -1 with err naming
 * it when it cannot be read or has another dtype or shape. */
int nfi_runrec_step_array(const nfi_runrec *r, long step, const char *name,
                          int ndim, size_t *shape, double **out,
                          nfi_error *err);

#endif
