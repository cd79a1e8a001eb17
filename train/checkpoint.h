/* nfi: checkpoints, from which a run continues bit for bit.
 *
 * What a trainer carries from one step to the next (read from
 * trainer.c, optim.c, arith.c, reduce.c, softmax_ce.c, matmul.c and
 * models/mlp.c):
 *   - the parameters (nfi_trainer_params);
 *   - the optimizer state: the first moment or SGD momentum buffer m,
 *     Adam's second moment v and the optimizer's step count (which
 *     selects the bias corrections and SGD's first momentum step);
 *   - the trainer's step;
 *   - the stochastic-rounding counter of each role's arithmetic handle
 *     (t->roles.arith[r].fast.counter).  The MPFR reference twin draws
 *     its indices from that same counter, so there is no second one.
 * Everything else is derived from the spec and the data (the seeds of
 * the roles, the one-hot inputs) or is scratch that every step
 * overwrites before reading it (forward caches, logit gradients,
 * parameter gradients, per-sample records).  No kernel keeps static
 * state that affects results; the fast engine's thread-local count of
 * MPFR fallbacks is a statistic only.
 *
 * The test-set evaluation of a measuring step has stochastic streams of
 * its own that restart at every evaluation (train/trainer.h), so a
 * continued run equals an uninterrupted one whichever steps measure.
 *
 * A checkpoint is a folder (a run directory's snapshots/step_N) holding
 *   params.npy    the parameter vector, float64, shape (n_params,), in
 *                 the model's layout (values of the params format)
 *   optim_m.npy   m, float64 (n_params,): Adam and AdamW, and SGD with
 *                 momentum (values of the optim format)
 *   optim_v.npy   v, float64 (n_params,): Adam and AdamW
 *   state.json    the steps, the counters, what the run was (n_params,
 *                 seed, rounding mode, optimizer and its
 *                 hyperparameters, the format of each role) and for
 *                 each array file its size in bytes and CRC-32;
 *                 written last, so that a folder without it holds no
 *                 checkpoint.
 * 64-bit integers (the seed and the counters) are written as decimal
 * strings, since JSON readers that hold numbers in binary64 lose bits
 * above 2^53; the CRC-32s (zlib's and Python's zlib.crc32) as 8 hex
 * digits.  "state_crc32" is the CRC-32 of the text
 *   "step=S;optim_step=T;counters=C0,C1,C2,C3,C4,C5;files=NAME:BYTES:CRC,..."
 * (decimal numbers, the counters in role order, the files in the order
 * listed), so that a damaged counter is detected as well.  Every file is
 * written atomically (sim/trace/atomic.h). */
#ifndef NFI_TRAIN_CHECKPOINT_H
#define NFI_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "trainer.h"

#define NFI_CHECKPOINT_STATE "state.json"
#define NFI_CHECKPOINT_PARAMS "params.npy"
#define NFI_CHECKPOINT_MOMENT1 "optim_m.npy"
#define NFI_CHECKPOINT_MOMENT2 "optim_v.npy"
#define NFI_CHECKPOINT_VERSION 1

/* Writes the checkpoint of t into the existing folder dir: the arrays,
 * then state.json.  Returns 0, or -1 with err naming the file that
 * could not be written (an earlier state.json is then left as it was,
 * so the folder holds the old checkpoint or none, never a mixture that
 * passes the checks). */
int nfi_checkpoint_save(nfi_trainer *t, const char *dir, nfi_error *err);

/* Reads the checkpoint in dir into t, a trainer initialised with the
 * same spec and data (nfi_trainer_init): parameters, moments, steps and
 * counters.  Checks that state.json is whole and of this version, that
 * it describes the same run as t's spec (n_params, seed, rounding mode,
 * optimizer and hyperparameters, formats), that every array file has
 * the recorded size and CRC-32 and holds float64 (n_params,), and the
 * state checksum.  Returns 0; or -1 with err naming the file and what
 * is wrong, t then left as it was. */
int nfi_checkpoint_load(nfi_trainer *t, const char *dir, nfi_error *err);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of n bytes, continuing from crc
 * (0 to start). */
uint32_t nfi_crc32(uint32_t crc, const void *data, size_t n);

#endif
