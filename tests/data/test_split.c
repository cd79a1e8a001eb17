/* Tests of data/split.h: the permutation against the rule of the header
 * implemented here from nfi_draw_bits alone (rejection included), the
 * sizes floor(fl(train_frac n)), the permutation property, independence
 * of train_frac, dependence on the seed, and the errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "harness.h"
#include "split.h"

/* The rule of split.h, step by step. */
static void reference_perm(size_t n, uint64_t seed, size_t *perm)
{
    uint64_t key = nfi_draw_mix(seed ^ NFI_SPLIT_TAG), c = 0;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i >= 1; i--) {
        uint64_t m = (uint64_t)i + 1, t = (0 - m) % m, x;
        do {
            x = nfi_draw_bits(key, c++);
        } while (x < t);
        size_t j = (size_t)(x % m), s = perm[i];
        perm[i] = perm[j];
        perm[j] = s;
    }
}

int main(void)
{
    harness_init("test_split", 1);
    static const size_t sizes[] = {2, 3, 10, 97, 500, 1000};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        size_t *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
        size_t *r = malloc(n * sizeof *r);
        char *seen = calloc(n, 1);
        size_t n_train = 0, n_train2 = 0;
        nfi_error err;
        check_true(nfi_split_perm(n, 0.5, 42, p, &n_train, &err) == 0,
                   "n = %zu: split", n);
        reference_perm(n, 42, q);
        check_true(memcmp(p, q, n * sizeof *p) == 0,
                   "n = %zu: the rule of split.h", n);
        check_true(n_train == (size_t)floor(0.5 * (double)n),
                   "n = %zu: n_train %zu", n, n_train);
        bool perm_ok = true;
        for (size_t i = 0; i < n; i++) {
            perm_ok = perm_ok && p[i] < n && !seen[p[i]];
            if (p[i] < n)
                seen[p[i]] = 1;
        }
        check_true(perm_ok, "n = %zu: a permutation", n);
        if (n >= 4) {
            check_true(nfi_split_perm(n, 0.75, 42, r, &n_train2,
                                      &err) == 0 &&
                           memcmp(p, r, n * sizeof *p) == 0 &&
                           n_train2 == (size_t)floor(0.75 * (double)n),
                       "n = %zu: train_frac changes the sizes only", n);
        }
        if (n >= 10) {
            nfi_split_perm(n, 0.5, 43, r, &n_train2, &err);
            check_true(memcmp(p, r, n * sizeof *p) != 0,
                       "n = %zu: another seed, another permutation", n);
        }
        free(p);
        free(q);
        free(r);
        free(seen);
    }
    size_t perm[10], n_train = 7;
    nfi_error err = {{0}};
    check_true(nfi_split_perm(10, 0.05, 1, perm, &n_train, &err) == -1 &&
                   strstr(err.message, "training set empty") != NULL &&
                   n_train == 7,
               "empty training set refused: '%s'", err.message);
    check_true(nfi_split_perm(10, 1.0, 1, perm, &n_train, &err) == -1 &&
                   strstr(err.message, "out of range") != NULL,
               "train_frac 1 refused: '%s'", err.message);
    check_true(nfi_split_perm(10, NAN, 1, perm, &n_train, &err) == -1,
               "NaN refused");
    check_true(nfi_split_perm(1, 0.5, 1, perm, &n_train, &err) == -1 &&
                   strstr(err.message, "1 samples") != NULL,
               "one sample refused: '%s'", err.message);
    return harness_finish();
}
