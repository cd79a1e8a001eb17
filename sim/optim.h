/* nfi: optimizers (SGD with momentum, Adam, AdamW) with every operation
 * rounded under the precision policy.
 *
 * Hyperparameters are binary64 numbers, as PyTorch receives them from
 * Python; where one enters the arithmetic it is cast into the optimizer
 * format (a rounding).  Scalars PyTorch computes in Python floats (the
 * bias corrections) are computed in binary64 here too, correctly rounded
 * (beta^t through MPFR, where PyTorch calls the C library's pow; the two
 * agree except in rare last-bit cases of pow), then cast.  O(x) below is
 * a rounding into the optim format, P(x) into the params format; g is the
 * gradient (a grads value), p the parameter, t the step number from 1.
 * A value entering another role's operation is first cast into that
 * role's format (nothing when the formats agree): g and p into O before
 * the optim arithmetic, the update into P before it is subtracted.
 *
 * SGD (momentum mu, weight decay lambda), as torch.optim.SGD:
 *   d = O(g);  if lambda != 0: d = O(d + O(lambda * O(p)))
 *   if mu != 0: b = d at t = 1, else b = O(O(mu * b) + d);  d = b
 *   p = P(p - P(O(lr * d)))
 * Adam (weight decay lambda as L2, added to the gradient as above):
 *   m = O(O(beta1 * m) + O(c1 * d)),  c1 = RN(1 - beta1)
 *   v = O(O(beta2 * v) + O(c2 * O(d * d))),  c2 = RN(1 - beta2)
 *   bc1 = RN(1 - RN(beta1^t)),  bc2 = RN(1 - RN(beta2^t))   (binary64)
 *   s = RN(lr / bc1),  r = RN(sqrt(bc2))                     (binary64)
 *   denom = O(O(O(sqrt(v)) / r) + eps)
 *   p = P(p - P(O(s * O(m / denom))))
 * AdamW: first p = P(p * f), f = RN(1 - RN(lr * lambda)) (binary64), then
 *   Adam without the L2 term.
 * Constants (lambda, mu, c1, s, r, eps, ...) are cast into the optim
 * format, f into the params format, always to nearest (a hyperparameter
 * is not redrawn by stochastic rounding).  Stochastic indices are taken
 * element by element, in the order written. */
#ifndef NFI_OPTIM_H
#define NFI_OPTIM_H

#include <stddef.h>

#include "arith.h"
#include "error.h"

typedef enum nfi_optim_kind {
    NFI_OPTIM_SGD,
    NFI_OPTIM_ADAM,
    NFI_OPTIM_ADAMW
} nfi_optim_kind;

typedef struct nfi_optim_config {
    nfi_optim_kind kind;
    double lr;           /* > 0 */
    double beta1, beta2; /* in [0, 1) (Adam, AdamW) */
    double eps;          /* >= 0 */
    double weight_decay; /* >= 0 */
    double momentum;     /* in [0, 1) (SGD) */
} nfi_optim_config;

int nfi_optim_kind_parse(const char *name, nfi_optim_kind *out,
                         nfi_error *err);
const char *nfi_optim_kind_name(nfi_optim_kind kind);

/* Checks the hyperparameters; returns 0 or -1 with an error naming the
 * bad one and its valid range (NaN is always refused). */
int nfi_optim_config_check(const nfi_optim_config *c, nfi_error *err);

/* The state of one parameter tensor of n elements. */
typedef struct nfi_optim_state {
    size_t n;
    long step;   /* steps taken */
    double *m;   /* first moment or momentum buffer, optim format */
    double *v;   /* second moment (Adam, AdamW) */
} nfi_optim_state;

/* Allocates zeroed moments; returns 0 or -1 (out of memory). */
int nfi_optim_state_init(nfi_optim_state *s, size_t n, nfi_error *err);
void nfi_optim_state_free(nfi_optim_state *s);

/* One step on p[0..n-1] with gradients g, values of the format grads (n
 * must equal s->n): optim and params are the handles of the two roles.
 * Increments s->step. */
void nfi_optim_step(const nfi_optim_config *c, nfi_arith *optim,
                    nfi_arith *params, const nfi_format *grads,
                    nfi_optim_state *s, double *p, const double *g);

#endif
