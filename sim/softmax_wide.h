/* nfi: the elementwise steps of the softmax cross-entropy (sim/softmax_ce.c)
 * on four lanes for RNE formats with 26 <= p <= 52 (sim/lanes_wide.h),
 * bit for bit the scalar loops they replace, which stay as their twins
 * (and run whenever these decline). */
#ifndef NFI_SOFTMAX_WIDE_H
#define NFI_SOFTMAX_WIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "arith.h"

/* Whether the lanes apply to a's handle: the fast engine (not the
 * reference twin) in a format that nfi_lanes_wide_apply accepts. */
bool nfi_ce_wide_applies(const nfi_arith *a);

/* out[j] = x[j] - c for j < k, each rounded by a (x and c values of a's
 * format; out may be x); the same values as nfi_arith_sub element by
 * element.  Returns false, having done nothing, when the lanes do not
 * apply. */
bool nfi_ce_wide_sub(nfi_arith *a, size_t k, double *out, const double *x,
                     double c);

/* The logsoftmax gradient step: for j < k, u = p[j] g_y, prob[j] = p[j],
 * p[j] = (j == y ? g_y : 0) - u, each operation rounded by a, the values
 * of the scalar loop of sim/softmax_ce.c.  Returns false, having done
 * nothing, when the lanes do not apply. */
bool nfi_ce_wide_grad(nfi_arith *a, size_t k, size_t y, double *p,
                      double *prob, double g_y);

/* out[j] = exp(x[j]) for j < k, rounded by a (x values of a's format;
 * out not x); the same values as nfi_fast_exp element by element.
 * Returns false, having done nothing, when the lanes do not apply. */
bool nfi_ce_wide_exp(nfi_arith *a, size_t k, double *out, const double *x);

#endif
