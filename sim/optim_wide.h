/* nfi: the Adam and AdamW element update on four lanes for RNE formats
 * with 26 <= p <= 52 (sim/lanes_wide.h), bit for bit the element update
 * of sim/optim.c (its definition and slow twin). */
#ifndef NFI_OPTIM_WIDE_H
#define NFI_OPTIM_WIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "arith.h"
#include "optim.h"

/* Adam's constants of one step, values of the optimizer's format (the
 * decay: of the parameters' format), as sim/optim.c computes them. */
typedef struct nfi_adam_wide_consts {
    double b1, b2, c1, c2, step, root, eps, lambda, decay;
    bool l2, decoupled;
} nfi_adam_wide_consts;

/* Whether nfi_adam_wide applies: o and pa on the fast engine, both RNE,
 * optim, params and grads of one format that nfi_lanes_wide_apply
 * accepts (26 <= p <= 52, products_never_tiny, emax <= 1021).  Mixed
 * formats stay on the element path. */
bool nfi_adam_wide_applies(const nfi_arith *o, const nfi_arith *pa,
                           const nfi_format *grads);

/* Updates elements from, from + 1, ... of p, s->m and s->v by Adam or
 * AdamW (k->l2: weight decay added to the gradient; k->decoupled: p
 * scaled by k->decay first), each exactly as the element update of
 * sim/optim.c, four at a time, and returns the index of the first
 * element it did not update: s->n, or an element with a value outside
 * the format's normal range at some step (above max_finite, infinite or
 * NaN; or a non-zero magnitude below 2^emin in a format without
 * subnormals), or one of the last n mod 4 elements of the range.  The
 * caller updates that element by the element path and calls again from
 * the next one; elements before it in its block of four are updated.
 * Requires nfi_adam_wide_applies.  Touches no stochastic counter (RNE). */
size_t nfi_adam_wide(const nfi_arith *o, const nfi_adam_wide_consts *k,
                     nfi_optim_state *s, double *p, const double *g,
                     size_t from);

#endif
