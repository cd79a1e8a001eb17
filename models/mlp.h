/* nfi: the MLP classifier of the grokking experiments.
 *
 * Input x (width in: one-hot(a) concatenated with one-hot(b), in = 2P, or
 * a real vector) -> Linear(in, H) with bias -> ReLU -> (Linear(H, H) with
 * bias -> ReLU) x (layers - 1) -> classifier Linear(H, K), with a bias
 * only when classifier_bias.  Parameters follow PyTorch's nn.Linear:
 * weights (out, in) row-major, then the bias (out).  Layout in `params`:
 * W1, b1, ..., WL, bL, then the classifier W{L+1}[, b{L+1}] (the names of
 * the snapshot tensors, train/trainer.h nfi_param_tensors).
 *
 * Inputs.  One-hot pairs (nfi_mlp_one_hot) hold 0 and 1, values of every
 * format, so the first layer reads them as they are, with no cast.  Real
 * input vectors (nfi_mlp_real_inputs) are values of the activations
 * format: they are rounded into it once, when they are set (to nearest,
 * ties to even, whatever the run's rounding mode, taking no stochastic
 * index): a rounding of the data, done before training.  The first layer
 * then casts them into the accum format like any activation.
 *
 * Rounding under the policy: each linear layer casts its operands (inputs,
 * weights, bias) into the accum format where their formats differ, forms
 * its dot products there (products rounded into it, summed in the
 * declared order, plus the bias in the accum format) and casts the result
 * into the activations format (hidden layers) or the logits format
 * (classifier).
 * On one-hot inputs the first layer's forward product and weight
 * gradient run as gathers with the same rounded results (models/onehot.h).
 * ReLU (max(z, 0), a NaN passing through as in PyTorch) and its
 * backward mask (the gradient where z > 0) are exact.  Backward: the
 * weight gradient dY^T X, the bias gradient (column sums of dY) and the
 * input gradient dY W are formed in the accum format and cast into the
 * grads format; incoming gradients are cast into the accum format first
 * when it differs.  Models know nothing of run directories. */
#ifndef NFI_MODELS_MLP_H
#define NFI_MODELS_MLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arith.h"
#include "error.h"
#include "policy.h"
#include "reduce.h"

#define NFI_MLP_MAX_LAYERS 8

typedef struct nfi_mlp {
    size_t in, hidden, layers, classes;
    bool classifier_bias;
    size_t n_params;
    size_t offset_w[NFI_MLP_MAX_LAYERS + 1]; /* layer l's weight; last is
                                                 the classifier */
    size_t offset_b[NFI_MLP_MAX_LAYERS + 1]; /* its bias (unused for the
                                                 classifier without bias) */
    double *params;       /* n_params values of the params format */
} nfi_mlp;

/* One arithmetic handle per role of the policy. */
typedef struct nfi_roles {
    nfi_arith arith[NFI_ROLE_COUNT];
    nfi_reduction order;
} nfi_roles;

int nfi_roles_init(nfi_roles *r, const nfi_policy *p, nfi_round mode,
                   uint64_t seed, const nfi_reduction *order, bool reference,
                   nfi_error *err);

/* Shapes the model and allocates its parameters (zero).  Returns 0 or -1
 * with an error for zero sizes or more than NFI_MLP_MAX_LAYERS layers. */
int nfi_mlp_init(nfi_mlp *m, size_t in, size_t hidden, size_t layers,
                 size_t classes, bool classifier_bias, nfi_error *err);
void nfi_mlp_free(nfi_mlp *m);

/* PyTorch nn.Linear's default initialisation, uniform on +-1/sqrt(fan_in)
 * for weights and biases alike: each value is drawn in binary64 from a
 * counter-based generator keyed by (seed, parameter index), so that every
 * format starts from the same real point, and rounded to nearest into
 * the params format. */
void nfi_mlp_init_params(nfi_mlp *m, nfi_roles *r, uint64_t seed);

/* Draw `index` of that initialisation: a uniform binary64 number in
 * [0, 1) with 53 random bits, (hi 2^32 + lo) >> 11 times 2^-53 with
 * hi, lo = nfi_sr_bits(seed, 2 index), nfi_sr_bits(seed, 2 index + 1).
 * The ufm draws its classifier the same way. */
double nfi_mlp_uniform(uint64_t seed, uint64_t index);

/* What the forward pass keeps for the backward pass, for a batch of n. */
typedef struct nfi_mlp_cache {
    size_t n;
    double *x;             /* (n, in), the inputs */
    bool real_inputs;      /* x holds real vectors (activations format),
                              not one-hot pairs; with one-hot pairs the
                              first layer runs as a gather
                              (models/onehot.h) */
    double *h[NFI_MLP_MAX_LAYERS]; /* (n, H) after ReLU, per layer */
    double *z[NFI_MLP_MAX_LAYERS]; /* (n, H) before ReLU */
    double *logits;        /* (n, K) */
} nfi_mlp_cache;

int nfi_mlp_cache_init(nfi_mlp_cache *c, const nfi_mlp *m, size_t n,
                       nfi_error *err);
void nfi_mlp_cache_free(nfi_mlp_cache *c);

/* Fills c->x with one-hot(a_i) ++ one-hot(b_i) (in = 2P, a, b < P). */
void nfi_mlp_one_hot(nfi_mlp_cache *c, const nfi_mlp *m, const uint32_t *a,
                     const uint32_t *b);

/* Fills c->x with the real vectors x (n, in, row-major, binary64
 * values), each rounded to nearest (ties to even) into the activations
 * format of r, and marks them as values of that format. */
void nfi_mlp_real_inputs(nfi_mlp_cache *c, const nfi_mlp *m,
                         const nfi_roles *r, const double *x);

/* Forward pass on c->x; the logits land in c->logits.  Returns 0, or -1
 * when memory for the casts between roles runs out. */
int nfi_mlp_forward(const nfi_mlp *m, nfi_roles *r, nfi_mlp_cache *c);

/* Backward pass from the logit gradients dlogits (n, K); writes the
 * parameter gradients (grads format) into grad (n_params values, same
 * layout as params).  scratch: 2 n max(H, K) doubles.  Returns 0, or -1
 * when memory for the casts between roles runs out. */
int nfi_mlp_backward(const nfi_mlp *m, nfi_roles *r,
                     const nfi_mlp_cache *c, const double *dlogits,
                     double *grad, double *scratch);

/* The penultimate features of sample i: c->h[layers - 1] + i H. */
const double *nfi_mlp_features(const nfi_mlp *m, const nfi_mlp_cache *c,
                               size_t i);

#endif
