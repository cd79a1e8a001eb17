/* nfi verify: the absorption predicates of softmax cross-entropy,
 * decided exactly for one sample.
 *
 * This is an independent second implementation of the three schemes of
 * sim/softmax_ce.h (logsoftmax, lse, softmax) and of the reduction
 * orders of sim/reduce.h, written directly on MPFR numbers with its own
 * rounding into the format (the textbook method: MPFR's exponent range
 * set to the format's, mpfr_check_range, mpfr_subnormalize).  It shares
 * only the descriptors and their parsers with sim/, none of the
 * arithmetic, so that agreement between the two is a real check.
 * Values are MPFR numbers throughout: formats wider than binary64
 * (binary128, p = 113) work too.
 *
 * The operations, each rounded once into the format F (max, negation
 * and exact zeros do not round), for logits z, label y, batch size N:
 *   m = max z_j; d_j = F(z_j - m); e_j = F(exp d_j); s = sum e_j in the
 *   order; N_f = F(N)
 *   logsoftmax: l = F(log s); out_j = F(d_j - l); g_y = F(-1 / N_f);
 *     q_j = F(exp out_j); u_j = F(q_j * g_y); grad_j = F(g_j - u_j),
 *     g_j = g_y at the label and 0 elsewhere
 *   lse: l = F(log s); lse = F(m + l); q_j = F(exp F(z_j - lse));
 *     grad_y = F(F(q_y - 1) / N_f); grad_j = F(q_j / N_f), j != y
 *   softmax: q_j = F(e_j / s); grad_y = F(F(q_y - 1) / N_f);
 *     grad_j = F(q_j / N_f), j != y
 *
 * Rounding modes: RNE, RZ, RU and RD.  RNA and stochastic rounding are
 * refused with an error (MPFR has no general round-to-nearest-away). */
#ifndef NFI_PREDICATE_H
#define NFI_PREDICATE_H

#include <stdbool.h>
#include <stddef.h>

#include <mpfr.h>

#include "error.h"
#include "format.h"
#include "reduce.h"
#include "softmax_ce.h"

/* What is evaluated: the format of the logits role, the rounding mode,
 * the scheme, the order of the normaliser's sum and the batch size N of
 * the mean-reduced loss. */
typedef struct nfi_pred_spec {
    nfi_format format;
    nfi_round mode;
    nfi_ce_scheme scheme;
    nfi_reduction order;
    unsigned long batch; /* N >= 1 */
} nfi_pred_spec;

/* The decisions for one sample. */
typedef struct nfi_pred_outcome {
    bool absorbed;   /* the computed grad_y is exactly 0 (either sign) */
    bool wrong_zero; /* every computed grad_j, j != y, is 0 (true for
                        K = 1) */
    bool underflow;  /* absorbed && wrong_zero, as sim/softmax_ce.h
                        defines it */
} nfi_pred_outcome;

/* Checks a spec: a valid format, a supported mode, N >= 1, a valid
 * order.  Returns 0 or -1 with an error. */
int nfi_pred_spec_check(const nfi_pred_spec *s, nfi_error *err);

/* Evaluates the scheme of s on the logits z[0..k-1] (values of s's
 * format, any MPFR precision; not modified) with label y < k.  When grad
 * is not NULL, writes the k computed gradients into grad[0..k-1]
 * (initialised by the caller, any precision; it is set to the format's
 * precision).  Returns 0, or -1 with an error for k = 0, y >= k, a
 * logit that is not a value of the format, or a bad spec. */
int nfi_pred_eval(const nfi_pred_spec *s, size_t k, mpfr_t *z, size_t y,
                  mpfr_t *grad, nfi_pred_outcome *out, nfi_error *err);

/* The same with logits given as doubles (values of the format) and the
 * gradients, when grad is not NULL, returned as doubles: exact for
 * formats inside binary64, rounded to nearest otherwise. */
int nfi_pred_eval_d(const nfi_pred_spec *s, size_t k, const double *z,
                    size_t y, double *grad, nfi_pred_outcome *out,
                    nfi_error *err);

#endif
