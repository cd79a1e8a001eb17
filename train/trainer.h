/* nfi: the training step of a model on a fixed (full) batch, with the
 * per-step measurements of the absorption mechanism.
 *
 * Models (spec.model): the MLP (models/mlp.h) on one-hot pairs (samples
 * given as operand indices a, b: nfi_trainer_init) or on real input
 * vectors (rows x of width spec.input_width: nfi_trainer_init_real;
 * binary64 values, rounded once to nearest into the activations format
 * when the trainer is made, a rounding of the data; see mlp.h); or the
 * unconstrained features model (models/ufm.h), whose N feature vectors
 * are parameters of width spec.hidden, one per training sample: it reads
 * only the labels of the samples (either init function will do), and
 * has no features for the test set.
 *
 * Each step, on the training set as one batch of N samples:
 *   1. forward pass (models/mlp.h or models/ufm.h) to the logits;
 *   2. cross-entropy per sample in the chosen scheme (sim/softmax_ce.h),
 *      giving the loss terms, the logit gradients and the diagnostics;
 *      the loss is sum(loss terms) in the reduction order, divided by N,
 *      both in the logits format;
 *   3. backward pass to the parameter gradients;
 *   4. one optimizer step on all parameters as one vector (the
 *      optimizers are elementwise, so this is the same as per tensor).
 * The trainer knows nothing of files: the caller logs what it returns.
 *
 * Measurements of a step describe the forward pass of that step (the
 * parameters before its update) and the update it applied.  Definitions
 * (N training samples, K classes, H features):
 *   loss            the mean loss as computed (logits format)
 *   train_acc       share of samples whose largest logit (the first, in a
 *                   tie) is the label; test_acc the same on the test set
 *                   (NaN when the test set is empty, and always under the
 *                   ufm, which has no features for it)
 *   absorbed_frac   share of samples whose computed correct-class logit
 *                   gradient is exactly 0
 *   underflow_frac  share whose wrong-class gradients are all 0 as well
 *   zero_sum_residual  the exact sum over samples and classes of the
 *                   computed logit gradients (0 in exact arithmetic),
 *                   summed exactly, reported rounded to binary64
 *   residual_mass   mean over absorbed samples of their residual mass
 *                   (0 when none is absorbed)
 *   margin_*        min, mean, max over samples of z_y - max_{j!=y} z_j
 *   w_mean_norm     |(1/K) sum_k w_k|, w_k the classifier rows (the
 *                   mlp's W{L+1}, the ufm's W)
 *   feat_mean_norm  |(1/N) sum_i h_i|, h_i the penultimate features (the
 *                   mlp's last hidden activations in the forward pass,
 *                   the ufm's rows of H before the update)
 *   w_norm          Frobenius norm of the classifier weights
 *   param_norm      norm of all parameters
 *   update_norm     norm of the change of all parameters in this step
 *   logit_mean      mean of all N K logits
 * The zero-sum residual, the logit mean, the squared norms and the
 * column sums behind the two mean norms are exact (GMP), then rounded to
 * binary64; the divisions, square roots, the sum of the squared column
 * means, and the running sums behind margin_mean and residual_mass are
 * binary64 operations.
 *
 * The test set (test_acc) is evaluated on a copy of the roles whose
 * stochastic-rounding streams are keyed by seed ^ NFI_TRAINER_EVAL_TAG
 * and start from index 0 at each evaluation: logging does not move the
 * training run's indices, so --log-every does not change the run. */
#define NFI_TRAINER_EVAL_TAG 0x6e66692d6576616cULL /* "nfi-eval" */
#ifndef NFI_TRAIN_TRAINER_H
#define NFI_TRAIN_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mlp.h"
#include "ufm.h"
#include "optim.h"
#include "policy.h"
#include "reduce.h"
#include "softmax_ce.h"

typedef enum nfi_model_kind {
    NFI_MODEL_MLP,        /* 0: a zeroed spec is an mlp */
    NFI_MODEL_UFM
} nfi_model_kind;

/* "mlp" or "ufm"; "?" for a value outside the enumeration. */
const char *nfi_model_kind_name(nfi_model_kind kind);
/* Reads "mlp" or "ufm".  Returns 0, or -1 with an error naming the text
 * and the models. */
int nfi_model_kind_parse(const char *name, nfi_model_kind *out,
                         nfi_error *err);

typedef struct nfi_train_spec {
    size_t input_width;   /* mlp: 2P for one-hot pairs (modular tasks), the
                             vector width for real inputs; ufm: unused */
    size_t hidden;        /* mlp: hidden width; ufm: feature width d */
    size_t layers;        /* mlp: hidden layers; ufm: unused */
    size_t classes;
    bool classifier_bias;
    nfi_policy policy;
    nfi_round mode;
    nfi_reduction order;
    nfi_ce_scheme scheme;
    nfi_optim_config optim;
    uint64_t seed;        /* initialisation and stochastic rounding */
    bool reference;       /* every operation on the MPFR engine */
    nfi_model_kind model; /* mlp or ufm */
} nfi_train_spec;

/* Samples as operand indices and labels (one-hot inputs). */
typedef struct nfi_samples {
    size_t n;
    const uint32_t *a, *b, *label;
} nfi_samples;

/* Samples as real input vectors and labels: x holds n rows of
 * input_width finite binary64 values, row-major. */
typedef struct nfi_real_samples {
    size_t n;
    const double *x;
    const uint32_t *label;
} nfi_real_samples;

typedef struct nfi_step_metrics {
    long step;
    double loss, train_acc, test_acc;
    double absorbed_frac, underflow_frac, zero_sum_residual, residual_mass;
    double margin_min, margin_mean, margin_max;
    double w_mean_norm, feat_mean_norm, w_norm, param_norm, update_norm;
    double logit_mean;
} nfi_step_metrics;

/* One training sample at a logged step, for the verifier. */
typedef struct nfi_sample_record {
    double margin, z_y, residual_mass;
    bool absorbed;
} nfi_sample_record;

typedef struct nfi_trainer {
    nfi_train_spec spec;
    nfi_mlp model;        /* the mlp (spec.model == NFI_MODEL_MLP) */
    nfi_ufm ufm;          /* the ufm (spec.model == NFI_MODEL_UFM) */
    nfi_roles roles;
    nfi_optim_state optim;
    nfi_samples train, test; /* labels; a and b for one-hot inputs */
    nfi_mlp_cache train_cache, test_cache; /* mlp only */
    double *logits;       /* ufm: (N, K) */
    double *dlogits, *grad, *scratch, *before;
    nfi_ce_sample *samples;
    long step;            /* updates applied */
} nfi_trainer;

/* Builds the model, initialises it from spec->seed and prepares the
 * batches: one-hot pairs for the mlp (input_width = 2P), labels only for
 * the ufm (a and b are then not read and may be NULL).  The trainer
 * keeps the label pointers, which must outlive it.  Returns 0, or -1
 * with an error (bad sizes, labels or operands out of range, bad
 * hyperparameters, out of memory). */
int nfi_trainer_init(nfi_trainer *t, const nfi_train_spec *spec,
                     nfi_samples train, nfi_samples test, nfi_error *err);

/* The same with real input vectors of width spec->input_width for the
 * mlp, copied and rounded once to nearest into the activations format
 * (models/mlp.h); the ufm reads the labels only (x is then not read and
 * may be NULL).  Errors as above, and inputs that are not finite. */
int nfi_trainer_init_real(nfi_trainer *t, const nfi_train_spec *spec,
                          nfi_real_samples train, nfi_real_samples test,
                          nfi_error *err);
void nfi_trainer_free(nfi_trainer *t);

/* Performs one step.  When metrics is not NULL, fills it (the test set
 * is then evaluated too); when records is not NULL (N entries), fills the
 * per-sample records.  Returns 0, or -1 with an error when memory runs
 * out (the parameters are then unchanged). */
int nfi_trainer_step(nfi_trainer *t, nfi_step_metrics *metrics,
                     nfi_sample_record *records, nfi_error *err);

/* The parameter vector of whichever model the trainer runs (the layout
 * of models/mlp.h or models/ufm.h), with its length in *n (n may be
 * NULL).  Writing into it changes the parameters of the next step (the
 * optimizer state is kept separately); the checkpoint
 * (train/checkpoint.h) reads and restores the parameters through it. */
double *nfi_trainer_params(nfi_trainer *t, size_t *n);

/* The training logits of the last forward pass, (N, K) row-major, values
 * of the logits format: after nfi_trainer_step, those of the forward
 * pass of that step (the parameters before its update).  Owned by t. */
const double *nfi_trainer_train_logits(const nfi_trainer *t);

/* What the last step saw and did to the classifier, for the verifier's
 * drift check.  Valid after nfi_trainer_step, until the next step. */
typedef struct nfi_step_view {
    size_t width;           /* H (mlp) or d (ufm) */
    const double *features; /* (N, width): the penultimate features of
                               the step's forward pass (the mlp's last
                               hidden activations, activations format;
                               the ufm's H before the update, params) */
    const double *w_before; /* (K, width): the classifier weights before
                               the step's update (params format) */
    const double *w_after;  /* (K, width): the same after it */
} nfi_step_view;

void nfi_trainer_step_view(const nfi_trainer *t, nfi_step_view *v);

/* The logit gradients of the last step's forward pass, (N, K) row-major,
 * values of the logits format as the cross-entropy computed them (before
 * any cast into the accum format).  Owned by t. */
const double *nfi_trainer_train_dlogits(const nfi_trainer *t);

/* The parameter tensors of a model, by the names that snapshots, export
 * files and --init files share (PyTorch's nn.Linear layout, weights
 * (out, in)):
 *   mlp with L hidden layers: W1 (H, in), b1 (H), ..., WL (H, H), bL (H),
 *       the classifier W{L+1} (K, H) and, with a classifier bias,
 *       b{L+1} (K);
 *   ufm: H (N, d), W (K, d) and, with a bias, b (K).
 * offset is the tensor's first index in the parameter vector
 * (nfi_trainer_params), count its number of elements. */
#define NFI_PARAM_TENSORS_MAX (2 * (NFI_MLP_MAX_LAYERS + 1))

typedef struct nfi_param_tensor {
    char name[16];
    int ndim;
    size_t shape[2];
    size_t offset, count;
} nfi_param_tensor;

/* Fills out (NFI_PARAM_TENSORS_MAX entries) with the tensors of the
 * model that spec describes (input_width, hidden, layers, classes,
 * classifier_bias, model) trained on n_train samples (the ufm's N), in
 * the order of the parameter vector.  Returns their number. */
size_t nfi_param_tensors(const nfi_train_spec *spec, size_t n_train,
                         nfi_param_tensor *out);

#endif
