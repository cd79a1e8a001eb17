/* Shared by the trainer tests.  See fixture.h. */
#include "fixture.h"

#include <stddef.h>

#include "harness.h"

#define P FIXTURE_P

void fixture_modular_add(nfi_samples *train, nfi_samples *test)
{
    static uint32_t ta[P * P], tb[P * P], tl[P * P];
    static uint32_t va[P * P], vb[P * P], vl[P * P];
    size_t n = 0, m = 0;
    for (uint32_t a = 0; a < P; a++) {
        for (uint32_t b = 0; b < P; b++) {
            if ((a * P + b) % 3 == 0) {
                va[m] = a, vb[m] = b, vl[m++] = (a + b) % P;
            } else {
                ta[n] = a, tb[n] = b, tl[n++] = (a + b) % P;
            }
        }
    }
    *train = (nfi_samples){n, ta, tb, tl};
    *test = (nfi_samples){m, va, vb, vl};
}

bool fixture_same_metrics(const nfi_step_metrics *a,
                          const nfi_step_metrics *b)
{
    const double *x = &a->loss, *y = &b->loss;
    size_t n = (sizeof *a - offsetof(nfi_step_metrics, loss)) /
               sizeof(double);
    for (size_t i = 0; i < n; i++) {
        if (!same_double(x[i], y[i]))
            return false;
    }
    return a->step == b->step;
}
