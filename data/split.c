/* nfi: train/test splits.  See split.h. */
#include "split.h"

#include <math.h>

#include "draw.h"

int nfi_split_size(uint64_t n, double train_frac, uint64_t *m,
                   nfi_error *err)
{
    /* Written so that NaN fails too. */
    if (!(train_frac > 0 && train_frac < 1))
        return nfi_error_set(err, "train_frac = %g is out of range; "
                             "expected a number with 0 < train_frac < 1",
                             train_frac);
    uint64_t k = (uint64_t)floor(train_frac * (double)n);
    if (k == 0)
        return nfi_error_set(err, "train_frac = %g leaves the training set "
                             "empty (floor(%g * %llu) = 0); expected "
                             "train_frac >= 1/%llu", train_frac, train_frac,
                             (unsigned long long)n, (unsigned long long)n);
    /* Cannot happen for n < 2^53: fl((1 - 2^-53) n) is below n.  It
     * guards the promise of a non-empty test set all the same. */
    if (k >= n)
        return nfi_error_set(err, "train_frac = %.17g leaves the test set "
                             "empty (floor(%.17g * %llu) = %llu); expected "
                             "a smaller train_frac", train_frac, train_frac,
                             (unsigned long long)n, (unsigned long long)k);
    *m = k;
    return 0;
}

int nfi_split_perm(size_t n, double train_frac, uint64_t seed,
                   size_t *perm, size_t *n_train, nfi_error *err)
{
    if (n < 2 || (uint64_t)n >= (1ULL << 53))
        return nfi_error_set(err, "a data set of %zu samples cannot be "
                             "split; expected 2 to 2^53 - 1", n);
    uint64_t size;
    if (nfi_split_size(n, train_frac, &size, err) != 0)
        return -1;
    size_t m = (size_t)size;
    uint64_t key = nfi_draw_key(seed, NFI_SPLIT_TAG), counter = 0;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i >= 1; i--) {
        size_t j = (size_t)nfi_draw_below(key, &counter, (uint64_t)i + 1);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    *n_train = m;
    return 0;
}
