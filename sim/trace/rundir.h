/* nfi trace: the run directory.
 *
 * A run writes one directory:
 *     status          state and reason (below), written atomically
 *     config.json     the resolved configuration
 *     metrics.csv     one row per logged step
 *     summary.json    results of the run
 *     snapshots/step_00000100/NAME.npy   tensors at chosen steps, with
 *                     NAME.json beside each for its format; a training
 *                     snapshot is also a checkpoint (train/checkpoint.h:
 *                     params.npy, optim_m.npy, optim_v.npy, described by
 *                     state.json, which is written last)
 *
 * The status file is two lines, "STATE\nREASON\n", where STATE is one of
 * running, interrupted, complete, failed (so `head -1 status` gives the
 * state) and REASON is one line of free text.  A run directory is a
 * directory holding such a file; nothing else marks it.
 *
 * While a handle is open the process holds an exclusive flock(2) on the
 * directory, so a second nfi process (or a second handle) cannot write
 * the same run; the lock goes with the process, so a run that crashed
 * leaves "running" in its status but no lock.  flock is advisory and may
 * not reach across NFS clients. */
#ifndef NFI_TRACE_RUNDIR_H
#define NFI_TRACE_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NFI_RUNDIR_STATUS "status"
#define NFI_RUNDIR_CONFIG "config.json"
#define NFI_RUNDIR_METRICS "metrics.csv"
#define NFI_RUNDIR_SUMMARY "summary.json"
#define NFI_RUNDIR_SNAPSHOTS "snapshots"
#define NFI_RUNDIR_TRAIN_LABELS "train_labels.npy"
#define NFI_RUNDIR_VERIFY_JSON "verify.json"
#define NFI_RUNDIR_VERIFY_MD "verify.md"

/* The longest reason kept in a status file, in bytes. */
#define NFI_STATUS_REASON_MAX 400

typedef enum nfi_run_status {
    NFI_RUN_RUNNING,
    NFI_RUN_INTERRUPTED,
    NFI_RUN_COMPLETE,
    NFI_RUN_FAILED,
} nfi_run_status;

/* "running", "interrupted", "complete", "failed"; NULL out of range. */
const char *nfi_run_status_name(nfi_run_status s);

/* The state named name; -1 with err listing the four names otherwise. */
int nfi_run_status_parse(const char *name, nfi_run_status *s,
                         nfi_error *err);

typedef struct nfi_rundir nfi_rundir;

/* Makes path the directory of a new run and returns a locked handle,
 * with the status "running" (reason: "started", or "started, replacing
 * an earlier run" under force) and a snapshots/ folder.
 * - A missing path is created with its missing parents (mode 0777 less
 *   the umask); an existing empty directory is used as it is.
 * - A non-empty directory is refused unless force is true and it is a
 *   run directory (its status file reads back).  Then the files nfi
 *   writes are deleted (config.json, metrics.csv, summary.json,
 *   train_labels.npy, verify.json, verify.md, the .npy and .json files
 *   in snapshots/step_N/, temporaries of atomic writes)
 *   with the step_N folders this empties, and status is replaced last,
 *   so that a crash half-way leaves a run directory that force accepts
 *   again.  Links are removed, never followed.  Every other file and
 *   folder stays where it is: force never deletes what nfi did not
 *   write.  A directory that is not a run directory is refused even with
 *   force, so that a mistyped path cannot cost a folder that merely
 *   holds a file named config.json.
 * Returns NULL with err naming the path and what would be valid when
 * path is empty, is not a directory, cannot be created, is not empty
 * (without force), is not a run directory (with force), is locked by
 * another handle or process, or when a file cannot be removed or
 * written (the system's reason is given). */
nfi_rundir *nfi_rundir_create(const char *path, bool force,
                              nfi_error *err);

/* Opens the existing run directory path (to resume it) and returns a
 * locked handle; the status is read and left as it is.  Returns NULL
 * with err when path is not a run directory or is locked. */
nfi_rundir *nfi_rundir_open(const char *path, nfi_error *err);

/* Releases the lock and frees rd (NULL allowed); the status file is left
 * as it is. */
void nfi_rundir_close(nfi_rundir *rd);

/* The directory as given to create or open. */
const char *nfi_rundir_path(const nfi_rundir *rd);

/* The state last written or read through rd. */
nfi_run_status nfi_rundir_status(const nfi_rundir *rd);

/* Writes the status file atomically: STATE and reason (NULL or "" for
 * none; control characters such as newlines become spaces, and it is
 * cut to NFI_STATUS_REASON_MAX bytes at a character boundary).  Allowed
 * changes: from running to any state (running again to update the
 * reason); from interrupted, complete or failed only to running (a
 * resumed run).  Returns 0; or -1 with err naming both states for a
 * change not allowed (the file is then not touched), or naming the file
 * and the reason when it cannot be written (the old file stays). */
int nfi_rundir_set_status(nfi_rundir *rd, nfi_run_status s,
                          const char *reason, nfi_error *err);

/* Reads the status file of the run directory dir (no lock needed, for
 * monitors and the verifier); reason (cap bytes, may be NULL) gets the
 * reason line.  Returns 0; or -1 with err naming the file when it is
 * missing, unreadable, or its first line is not one of the four
 * states. */
int nfi_status_read(const char *dir, nfi_run_status *s, char *reason,
                    size_t cap, nfi_error *err);

/* Writes into buf (cap bytes) the path of the file name in the run
 * directory (a plain name such as NFI_RUNDIR_METRICS, or a relative path
 * inside it without ".." parts).  Returns 0; or -1 with err when name is
 * empty, absolute or climbs out, or when buf is too small. */
int nfi_rundir_file(const nfi_rundir *rd, const char *name, char *buf,
                    size_t cap, nfi_error *err);

/* Writes into buf the path of snapshots/step_SSSSSSSS/NAME (the step in
 * at least 8 digits, so that names sort by step) and creates that step
 * folder if needed.  name is a file name such as "W.npy": letters,
 * digits, '_', '-' and '.', not starting with '.'.  Returns 0; or -1 with
 * err when step is negative, name is not such a name, buf is too small
 * or the folder cannot be created. */
int nfi_rundir_snapshot_file(const nfi_rundir *rd, int64_t step,
                             const char *name, char *buf, size_t cap,
                             nfi_error *err);

#endif
