/* nfi train: the tasks of a run and their data, ready for the trainer.
 *
 * Tasks:
 *   add, sub, mul, div   modular arithmetic (data/modular.h): one-hot
 *                        pairs, K = P, the split of modular.h
 *   gaussian             K Gaussian classes in dimension D
 *                        (data/gaussian.h, made from the run's seed): real
 *                        inputs of width D, binary64 values that the
 *                        trainer rounds once into the activations format
 *   idx                  images and labels from two IDX files
 *   fashion-mnist        the training files of Debian's package
 *                        dataset-fashion-mnist (NFI_IDX_FASHION_MNIST_DIR)
 * IDX tasks keep the first `subset` samples of the files (in file order),
 * flatten each image row-major (28 x 28 -> 784) and scale each byte v
 * to v / 255 rounded once, to nearest (ties to even), into the
 * activations format (the exact quotient, not its binary64 rounding:
 * no double rounding); the trainer's own rounding of real inputs then
 * leaves them unchanged.  K is 10 for fashion-mnist (labels checked
 * below 10), and max label + 1 over the samples kept for idx (at least
 * 2, at most NFI_TASK_MAX_CLASSES).
 *
 * Gaussian and IDX data are split into training and test sets by
 * data/split.h's rule (a Fisher-Yates shuffle keyed by the seed, the
 * first floor(train_frac n) samples of the permutation for training, in
 * that order). */
#ifndef NFI_CLI_TRAIN_SETUP_H
#define NFI_CLI_TRAIN_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "format.h"
#include "modular.h"
#include "trainer.h"

/* The most classes an idx task may have (labels below it). */
#define NFI_TASK_MAX_CLASSES 65536

typedef enum nfi_task_kind {
    NFI_TASK_MODULAR,
    NFI_TASK_GAUSSIAN,
    NFI_TASK_IDX,
    NFI_TASK_FASHION_MNIST
} nfi_task_kind;

typedef struct nfi_task_config {
    nfi_task_kind kind;
    nfi_modular_op op;          /* modular */
    long modulus;               /* modular */
    size_t classes, per_class, input_dim; /* gaussian */
    double mean_std, noise_std; /* gaussian */
    const char *images, *labels; /* idx */
    size_t subset;              /* idx, fashion-mnist */
    const char *split;          /* modular: a split file (--split), or
                                   "" for the seeded split */
    double train_frac;
    uint64_t seed;
} nfi_task_config;

typedef struct nfi_task_data {
    bool real;                  /* real inputs, not one-hot pairs */
    nfi_samples train, test;    /* one-hot pairs (real false) */
    nfi_real_samples train_real, test_real; /* real inputs (real true) */
    size_t n_train, n_test, input_width, classes;
    const char *images, *labels; /* the files read (idx tasks), or NULL */
    uint32_t *ints;             /* storage */
    double *x;
} nfi_task_data;

/* The task's name: the modular operation's or gaussian, idx,
 * fashion-mnist. */
const char *nfi_task_name(const nfi_task_config *c);

/* Reads a task name into c->kind (and c->op for modular tasks).  Returns
 * 0, or -1 with an error listing the tasks. */
int nfi_task_parse(const char *text, nfi_task_config *c, nfi_error *err);

/* Makes the data of task c, as described above; acts is the activations
 * format (IDX pixels are rounded into it).  Returns 0 with *out filled
 * (release it with nfi_task_data_free), or -1 with an error and *flag
 * set to the option to blame (without the dashes), *out zeroed. */
int nfi_task_data_make(const nfi_task_config *c, const nfi_format *acts,
                       nfi_task_data *out, const char **flag,
                       nfi_error *err);

void nfi_task_data_free(nfi_task_data *d);

/* Reads a --split file (an .npz with integer arrays train (n, 3) and
 * test (m, 3), rows (a, b, label)) for the modular task (op, P) into
 * *out (free with nfi_modular_split_free).  Returns 0, or -1 with an
 * error naming the file, the array and the row. */
int nfi_task_split_read(const char *path, nfi_modular_op op, long p,
                        nfi_modular_split *out, nfi_error *err);

/* How many values of one tensor rounding changed when loading --init. */
typedef struct nfi_init_change {
    char name[16];
    size_t changed, count;
} nfi_init_change;

/* Loads initial parameters from path (.npz or safetensors) into the
 * trainer t (made by nfi_task_trainer_init, n_train training samples):
 * every tensor of nfi_param_tensors (train/trainer.h) must be there
 * with its exact shape and a floating-point type (float64, float32,
 * float16, bfloat16: converted exactly); another name is an error
 * listing the expected ones.  Each value is rounded to nearest (ties to
 * even) into the params format; a value that is not finite, before or
 * after rounding, is an error naming the tensor and the index.  changes
 * (NFI_PARAM_TENSORS_MAX entries) gets, per tensor in order, how many
 * values the rounding changed; *nchanges their number.  Returns 0, or -1
 * with err (t then unchanged). */
int nfi_task_init_load(nfi_trainer *t, size_t n_train, const char *path,
                       nfi_init_change *changes, size_t *nchanges,
                       nfi_error *err);

/* nfi_trainer_init or nfi_trainer_init_real on the task's data. */
int nfi_task_trainer_init(nfi_trainer *t, const nfi_train_spec *spec,
                          const nfi_task_data *d, nfi_error *err);

#endif
