/* nfi train --resume: the file work on a run directory that a resumed
 * run needs, apart from the model and the metrics (cmd_train.c does
 * those).  These functions print nothing: they return -1 with err set,
 * naming the path. */
#ifndef NFI_CLI_TRAIN_RESUME_H
#define NFI_CLI_TRAIN_RESUME_H

#include <stddef.h>

#include "error.h"
#include "trace/rundir.h"

/* The folder snapshots/step_N of the run directory (created if
 * missing), into buf (cap bytes).  Returns 0 or -1 with err. */
int train_snapshot_dir(const nfi_rundir *rd, long step, char *buf,
                       size_t cap, nfi_error *err);

/* The last complete checkpoint of the run directory dir: the largest N
 * whose snapshots/step_N holds a state.json (train/checkpoint.h writes
 * it last, so a snapshot cut short by a crash has none).  Returns 1 with
 * *step and the folder's path in buf (cap bytes), 0 when there is none,
 * -1 with err when snapshots/ cannot be listed. */
int train_resume_find(const char *dir, long *step, char *buf, size_t cap,
                      nfi_error *err);

/* Removes the temporaries of atomic writes (sim/trace/atomic.h) that a
 * killed process left in dir and in its snapshots/step_N folders; the
 * caller holds the run directory's lock, so no live writer owns them.
 * Returns 0 or -1 with err. */
int train_resume_clean(const char *dir, nfi_error *err);

/* Removes the snapshots an uninterrupted run would not have written:
 * in every snapshots/step_N with N other than 0 (the initial
 * parameters, written by every run) and `steps` and not a multiple
 * of snapshot_every (every N when snapshot_every is 0), the .npy and
 * .json files except those named in keep (NULL-terminated; the files of
 * logged steps, which an uninterrupted run writes too); a folder left
 * empty goes as well.  Files nfi does not write (other extensions) are
 * never removed.  Returns 0 or -1 with err. */
int train_resume_prune(const char *dir, long snapshot_every, long steps,
                       const char *const *keep, nfi_error *err);

#endif
