/* nfi: softmax cross-entropy, one sample at a time, in named evaluation
 * schemes.  Each operation below rounds once into the handle's format
 * (the logits role); max, negation and exact zeros do not round.  With
 * z the sample's K logits, y its label, N the number of samples in the
 * mean-reduced loss, and N_f = N rounded into the format (a cast; N
 * itself in every format whose precision covers it):
 *
 * logsoftmax (as PyTorch and JAX compute log_softmax and its backward)
 *   m = max_j z_j;  d_j = z_j - m;  e_j = exp(d_j);  s = sum_j e_j
 *   (in the reduction order);  l = log s;  out_j = d_j - l
 *   loss term = -out_y
 *   g_y = -1 / N_f (g_j = 0 otherwise), so sum_j g_j = g_y exactly
 *   grad_j = g_j - exp(out_j) * g_y   (exp, *, - each rounded)
 *
 * lse
 *   m, d_j, e_j, s, l as above;  lse = m + l
 *   loss term = lse - z_y
 *   grad_j = (exp(z_j - lse) - [j = y]) / N_f
 *   (m + l can round back to m when the logits are large, so absorption
 *   starts earlier than with logsoftmax)
 *
 * softmax
 *   m, d_j, e_j, s as above;  p_j = e_j / s
 *   loss term = -log(p_y)
 *   grad_j = (p_j - [j = y]) / N_f
 *
 * Stochastic-rounding indices are taken in the order the operations are
 * written, j from 0 to K-1 within each step. */
#ifndef NFI_SOFTMAX_CE_H
#define NFI_SOFTMAX_CE_H

#include <stdbool.h>
#include <stddef.h>

#include "arith.h"
#include "error.h"
#include "reduce.h"

typedef enum nfi_ce_scheme {
    NFI_CE_LOGSOFTMAX,
    NFI_CE_LSE,
    NFI_CE_SOFTMAX
} nfi_ce_scheme;

int nfi_ce_scheme_parse(const char *name, nfi_ce_scheme *out,
                        nfi_error *err);
const char *nfi_ce_scheme_name(nfi_ce_scheme scheme);

/* What one sample's evaluation shows about absorption. */
typedef struct nfi_ce_sample {
    double loss;          /* the sample's loss term, before the mean */
    bool absorbed;        /* computed grad_y is exactly 0 */
    bool underflow;       /* absorbed, and every grad_j (j != y) is 0 */
    double residual_mass; /* sum over j != y of the computed wrong-class
                             probabilities (exp(out_j), exp(z_j - lse) or
                             p_j), summed exactly, rounded to binary64 */
    double margin;        /* z_y - max_{j != y} z_j, rounded to binary64 */
} nfi_ce_sample;

/* Evaluates the scheme on one sample: z[0..K-1] (values of the handle's
 * format), label y < K, batch size n >= 1.  Writes the K logit gradients
 * into grad (not aliasing z) and the diagnostics into *out.  Uses
 * `order` for the normaliser s.  Returns 0, or -1 with an error for
 * K = 0, y >= K or n = 0. */
int nfi_ce_sample_eval(nfi_arith *a, nfi_ce_scheme scheme,
                       const nfi_reduction *order, size_t k, const double *z,
                       size_t y, size_t n, double *grad, nfi_ce_sample *out,
                       nfi_error *err);

/* The same evaluation with the same gradients and the same stochastic
 * indices, but without the exact residual mass (out->residual_mass is
 * NaN): for the steps whose diagnostics nobody records. */
int nfi_ce_sample_grad(nfi_arith *a, nfi_ce_scheme scheme,
                       const nfi_reduction *order, size_t k, const double *z,
                       size_t y, size_t n, double *grad, nfi_ce_sample *out,
                       nfi_error *err);

#endif
