/* nfi: train/test splits of a data set of n samples (Gaussian classes,
 * IDX files), by the rule of the modular split (modular.h) with a stream
 * of its own.
 *
 * Exact rule, for reproduction by another implementation (with draw.h):
 *   1. n_train = floor(fl(train_frac * n)), the product rounded to
 *      nearest binary64 (n < 2^53 converts exactly), and
 *      n_test = n - n_train; both must be at least 1.
 *   2. key = mix(seed ^ NFI_SPLIT_TAG); counter c = 0.
 *   3. perm[i] = i for i in [0, n): the data set's own order.
 *   4. Fisher-Yates, from the top: for i = n - 1 down to 1,
 *      j = nfi_draw_below(key, &c, i + 1) (rejected draws advance c
 *      too), then swap perm[i] and perm[j].
 *   5. The samples perm[0], ..., perm[n_train - 1], in that order, are
 *      the training set; perm[n_train], ..., perm[n - 1] the test set.
 * The split depends on n, train_frac and the seed only, never on the
 * values of the samples.  It is not stratified: with K balanced classes
 * the training set holds about train_frac of each. */
#ifndef NFI_SPLIT_H
#define NFI_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The stream tag of the shuffle: the ASCII bytes "nfi-spl:". */
#define NFI_SPLIT_TAG 0x6e66692d73706c3aULL

/* The size of the training set of n samples: floor(train_frac * n) in
 * binary64, which must leave both sets non-empty.  Returns 0 with *m
 * set, or -1 with an error naming train_frac (NaN fails too).  The
 * modular tasks split by the same size rule. */
int nfi_split_size(uint64_t n, double train_frac, uint64_t *m,
                   nfi_error *err);

/* Fills perm[0 .. n-1] with the permutation of the rule above and
 * *n_train with the size of the training set.  Needs 2 <= n < 2^53 and
 * 0 < train_frac < 1 leaving both sets non-empty.  Returns 0, or -1 with
 * an error naming the bad value (perm and *n_train then unchanged). */
int nfi_split_perm(size_t n, double train_frac, uint64_t seed,
                   size_t *perm, size_t *n_train, nfi_error *err);

#endif
