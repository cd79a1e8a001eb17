/* Shared by the trainer tests: a small modular data set and the
 * bit-for-bit comparison of step measurements. */
#ifndef NFI_TESTS_TRAIN_FIXTURE_H
#define NFI_TESTS_TRAIN_FIXTURE_H

#include <stdbool.h>

#include "trainer.h"

#define FIXTURE_P 7

/* (a + b) mod 7 over all pairs: pairs with (7a + b) divisible by 3 are
 * the test set, the others the training set (static storage). */
void fixture_modular_add(nfi_samples *train, nfi_samples *test);

/* Every measurement of a and b the same bit for bit (NaN-aware), and the
 * same step. */
bool fixture_same_metrics(const nfi_step_metrics *a,
                          const nfi_step_metrics *b);

#endif
