/* nfi: the unconstrained features model (UFM).
 *
 * Every one of the N training samples owns a trainable feature vector
 * h_i of width d (its "unconstrained feature"); a linear classifier maps
 * it to K logits: z_i = W h_i (+ b).  There is no input and no hidden
 * layer: the features are parameters, so the model can only be
 * evaluated on the samples it was trained on (a test set has no
 * features; the trainer reports its accuracy as NaN).
 *
 * Parameters, in this order in one vector `params` (also the order and
 * the names of the snapshot tensors):
 *   H (N, d)   row i is the feature vector of training sample i
 *   W (K, d)   the classifier, PyTorch nn.Linear(d, K) layout
 *   b (K)      its bias, only when bias is on.
 *
 * Rounding under the policy, the conventions of models/mlp.h for its
 * classifier: the forward pass logits = H W^T (+ b) is one nfi_matmul
 * (sim/matmul.h) with H, W and b cast into the accum format where their
 * (params) format differs, products rounded into the accum format,
 * summed in the declared reduction order, plus the bias in the accum
 * format, and the result cast into the logits format.  Backward, from
 * the logit gradients (logits format, cast into the accum format first
 * when it differs): dW = dY^T H, then db = the column sums of dY (with a
 * bias), then dH = dY W, each formed in the accum format and cast into
 * the grads format.  Stochastic-rounding indices are taken in that
 * order, per role, as nfi_matmul and nfi_column_sums take them.
 *
 * Initialisation, so that every format starts from the same real point:
 * each value is drawn in binary64 and rounded to nearest (ties to even)
 * into the params format, whatever the run's rounding mode, taking no
 * stochastic index.
 *   W, b   PyTorch nn.Linear(d, K)'s default: uniform on +-1/sqrt(d),
 *          the draws of models/mlp.h's initialisation numbered within
 *          the classifier (W[k][t] is draw k d + t, b[k] draw K d + k):
 *          u = the 53-bit uniform of nfi_sr_bits(seed, 2j) (high 32
 *          bits) and nfi_sr_bits(seed, 2j + 1) (low), v = (2u - 1) *
 *          (1 / sqrt(d)) in binary64; so they do not depend on N.
 *   H      PyTorch nn.Embedding's default, standard normal: H[i][t] is
 *          normal number i d + t of the stream key
 *          mix(seed ^ NFI_UFM_TAG_FEATURES) of data/gaussian.h
 *          (nfi_gaussian_normals: correctly rounded Box-Muller, the same
 *          on every platform); so row i does not depend on N either.
 * The trainer updates H, W and b as one vector: weight decay, when asked
 * for, applies to the features too (the regularised UFM).
 * Models know nothing of run directories. */
#ifndef NFI_MODELS_UFM_H
#define NFI_MODELS_UFM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mlp.h" /* nfi_roles */

/* The stream tag of the features: the ASCII bytes "nfi-ufmH". */
#define NFI_UFM_TAG_FEATURES 0x6e66692d75666d48ULL

typedef struct nfi_ufm {
    size_t n, d, classes;
    bool bias;
    size_t n_params;
    size_t offset_h, offset_w, offset_b; /* 0, N d, N d + K d */
    double *params;       /* n_params values of the params format */
} nfi_ufm;

/* Shapes the model for n samples of width d and K classes and allocates
 * its parameters (zero).  Returns 0, or -1 with an error for zero sizes
 * or a parameter count that overflows. */
int nfi_ufm_init(nfi_ufm *m, size_t n, size_t d, size_t classes, bool bias,
                 nfi_error *err);
void nfi_ufm_free(nfi_ufm *m);

/* The initialisation described above.  Returns 0, or -1 with an error
 * from the normal generator. */
int nfi_ufm_init_params(nfi_ufm *m, nfi_roles *r, uint64_t seed,
                        nfi_error *err);

/* Forward pass of all N samples: logits (N, K), logits format.  Returns
 * 0, or -1 when memory for the casts between roles runs out. */
int nfi_ufm_forward(const nfi_ufm *m, nfi_roles *r, double *logits);

/* Backward pass from the logit gradients dlogits (N, K); writes the
 * parameter gradients (grads format) into grad (n_params values, the
 * layout of params).  scratch: N K doubles.  Returns 0, or -1 when
 * memory for the casts between roles runs out. */
int nfi_ufm_backward(const nfi_ufm *m, nfi_roles *r, const double *dlogits,
                     double *grad, double *scratch);

/* The feature vector of sample i: row i of H (d values). */
const double *nfi_ufm_features(const nfi_ufm *m, size_t i);

#endif
