/* nfi: train/test splits.  See split.h. */
#include "split.h"

#include <math.h>

#include "draw.h"

int nfi_split_perm(size_t n, double train_frac, uint64_t seed,
                   size_t *perm, size_t *n_train, nfi_error *err)
{
    if (n < 2 || (uint64_t)n >= (1ULL << 53))
        return nfi_error_set(err, "a data set of %zu samples cannot be "
                             "split; expected 2 to 2^53 - 1", n);
    /* Written so that NaN fails too. */
    if (!(train_frac > 0 && train_frac < 1))
        return nfi_error_set(err, "train_frac = %g is out of range; "
                             "expected a number with 0 < train_frac < 1",
                             train_frac);
    double product = train_frac * (double)n;
    size_t m = (size_t)floor(product);
    if (m == 0)
        return nfi_error_set(err, "train_frac = %g leaves the training set "
                             "empty (floor(%g * %zu) = 0); expected "
                             "train_frac >= 1/%zu", train_frac, train_frac,
                             n, n);
    if (m >= n)
        return nfi_error_set(err, "train_frac = %.17g leaves the test set "
                             "empty (floor(%.17g * %zu) = %zu); expected "
                             "a smaller train_frac", train_frac, train_frac,
                             n, m);
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
