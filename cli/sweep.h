/* nfi sweep: shared declarations of the sweep's parts.
 *
 * sweep_plan.c turns the arguments into the list of runs (a pure
 * function of them) and keeps DIR/sweep.json; sweep_summary.c reads
 * the run directories back into summary rows and writes summary.csv,
 * summary.md and threshold.json; cmd_sweep.c runs the workers. */
#ifndef NFI_CLI_SWEEP_H
#define NFI_CLI_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "format.h"

/* One --vary NAME=V1,V2,... */
typedef struct sweep_vary {
    char *name;     /* the nfi train option, without "--" */
    size_t n;
    char **values;
} sweep_vary;

/* The arguments that decide which runs a sweep holds and what each run
 * is.  --jobs is not among them: it changes how fast, not what. */
typedef struct sweep_args {
    size_t n_train;
    char **train;          /* the nfi train options, as given */
    size_t n_formats;
    char **formats;        /* --formats, each one format spec */
    bool mantissa;         /* --mantissa A:B[:STEP] */
    long p_lo, p_hi, p_step;
    long emin, emax;       /* the range of --mantissa */
    char *range;           /* how it was given: "binary32", "E bits",
                              "emin/emax" */
    size_t n_vary;
    sweep_vary *vary;
    bool keep_records;
    bool find_threshold;
    long shard_i, shard_n; /* 0/1: the whole sweep */
} sweep_args;

/* One run of the list. */
typedef struct sweep_run {
    size_t index;          /* position in the list, from 0 */
    char *name;            /* DIR/runs/NAME: unique, filesystem-safe */
    char *format;          /* the --format given to nfi train */
    long p, emin, emax;
    size_t *value;         /* (n_vary): the index of each varied value */
    int cost;              /* sweep_run_cost of the format */
} sweep_run;

typedef struct sweep_plan {
    size_t n;
    sweep_run *runs;
} sweep_plan;

/* Builds the list of runs of a: the formats in their order (or p from
 * p_lo to p_hi in steps of p_step), each times the cartesian product of
 * the --vary values (the first --vary varies slowest).  Returns 0, or -1
 * with err naming the format that cannot be parsed. */
int sweep_plan_make(const sweep_args *a, sweep_plan *plan, nfi_error *err);
void sweep_plan_free(sweep_plan *plan, size_t n_vary);

/* A rough relative cost of training in format f, from the engine that
 * serves it (the CPU time of the canonical run on the machines measured,
 * in units of binary32's): 1 for the hardware formats binary32 and
 * binary64, 2 for p <= 25 (sim/lanes.h), 4 for 26 <= p <= 52
 * (sim/lanes_wide.h), 32 for wider formats (the MPFR engine).  It only
 * orders the work; no result depends on it. */
int sweep_format_cost(const nfi_format *f);

/* Sorts idx[0..n) (run indices of plan) into the order in which the
 * workers take them: the costliest first (sweep_format_cost), equal
 * costs in index order.  With the longest runs first, the runs left
 * for the end are short, so that no worker finishes long after the
 * others (the longest-processing-time rule). */
void sweep_order_longest_first(const sweep_plan *plan, size_t *idx,
                               size_t n);

/* Whether run index belongs to shard i of n: index mod n == i. */
bool sweep_in_shard(size_t index, long i, long n);

void sweep_args_free(sweep_args *a);

/* Writes DIR/sweep.json (atomically): every field of a, the nfi
 * version, and the list of runs.  Returns 0 or -1 with err. */
int sweep_json_write(const char *dir, const sweep_args *a,
                     const sweep_plan *plan, nfi_error *err);

/* Compares the sweep recorded in path with a.  Returns 1 when they are
 * the same sweep (shards ignored when ignore_shard), 0 when they differ
 * (diff then says which field, and both values), -1 when path cannot be
 * read (err set). */
int sweep_json_same(const char *path, const sweep_args *a,
                    bool ignore_shard, char *diff, size_t cap,
                    nfi_error *err);

/* Reads the arguments recorded in path into a (for --merge and nfi
 * plot).  Returns 0 or -1 with err. */
int sweep_json_read(const char *path, sweep_args *a, nfi_error *err);

/* What a run directory says, for the summary. */
typedef struct sweep_row {
    bool present;          /* false: no finished run directory */
    char status[16];       /* complete, failed, interrupted, running,
                              missing */
    long onset;            /* -1: none */
    double max_absorbed;
    double growth;         /* NAN without an onset */
    long first_spike;      /* -1: none */
    double spike_ratio;    /* loss / running minimum at the first spike */
    long spikes;
    double final_loss;
    long last_step;
} sweep_row;

/* Thresholds of the verdicts. */
#define SWEEP_ABSORBED_LEVEL 0.2
#define SWEEP_GROWTH_LEVEL 10.0

/* Reads the run directory dir into row.  A missing directory or one
 * without metrics gives present = false and status "missing" (return
 * 0); a damaged metrics.csv is -1 with err. */
int sweep_row_read(const char *dir, sweep_row *row, nfi_error *err);

/* Whether a row is finished (complete or failed: a result). */
bool sweep_row_done(const sweep_row *row);

/* Whether the run counts as unstable for the threshold search: a loss
 * spike, or a failed run (a NaN loss). */
bool sweep_row_unstable(const sweep_row *row);

/* The threshold search's result, when there is one. */
typedef struct sweep_threshold {
    bool have;
    size_t n_probes;
    size_t *probes;        /* run indices in the order probed */
    long p_spike;          /* largest p with a spike, -1: none */
    long p_calm;           /* smallest p without, -1: none */
    char verdict[256];
} sweep_threshold;

/* Writes summary.csv and summary.md into dir (atomically) from the rows
 * (one per run of plan; rows[i] of run i; only the runs of the shard
 * are listed), with the threshold result when th->have.  Nothing in
 * them depends on time, paths or --jobs.  Returns 0 or -1 with err. */
int sweep_summary_write(const char *dir, const sweep_args *a,
                        const sweep_plan *plan, const sweep_row *rows,
                        const bool *listed, const sweep_threshold *th,
                        nfi_error *err);

/* Writes DIR/threshold.json.  Returns 0 or -1 with err. */
int sweep_threshold_write(const char *dir, const sweep_plan *plan,
                          const sweep_row *rows, const sweep_threshold *th,
                          nfi_error *err);

/* Non-monotone pairs: runs i < j in p (same varied values) where the
 * smaller p is stable and the larger unstable, among the listed rows
 * that are done.  Writes up to cap pairs into pairs (2 indices each) and
 * returns how many there are. */
size_t sweep_nonmonotone(const sweep_args *a, const sweep_plan *plan,
                         const sweep_row *rows, const bool *listed,
                         size_t *pairs, size_t cap);

#endif
