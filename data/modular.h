/* nfi: modular arithmetic tasks, the canonical grokking benchmark.
 *
 * A task is an operation op in {add, sub, mul, div} and a modulus P.  Its
 * samples are every pair (a, b) with a and b in [0, P), except b = 0 for
 * div, labelled (a op b) mod P:
 *     add  (a + b) mod P          sub  (a - b) mod P, in [0, P)
 *     mul  (a * b) mod P          div  (a * b^-1) mod P, b^-1 the inverse
 *                                      of b modulo P (P must be prime).
 * There are K = P classes.  A sample is given as the two indices (a, b),
 * not as a vector: a model reads one-hot(a) concatenated with one-hot(b),
 * an input of width 2P, and does the one-hot or the gather itself.  All
 * of it is integer arithmetic: exact, and the same on every platform.
 *
 * Canonical order.  Pairs are numbered in lexicographic order of (a, b):
 * index a * P + b for add, sub and mul (n_pairs = P^2), and
 * a * (P - 1) + (b - 1) for div (n_pairs = P (P - 1)).
 *
 * Train/test split, given train_frac and a 64-bit seed.  Exact rule, for
 * reproduction by another implementation (with draw.h):
 *   1. n_train = floor(fl(train_frac * n_pairs)), the product rounded to
 *      nearest binary64 (n_pairs < 2^53 converts exactly), and
 *      n_test = n_pairs - n_train; both must be at least 1.
 *   2. key = mix(seed ^ NFI_MODULAR_TAG); counter c = 0.
 *   3. perm[i] = i for i in [0, n_pairs): the canonical order.
 *   4. Fisher-Yates, from the top: for i = n_pairs - 1 down to 1,
 *      j = nfi_draw_below(key, &c, i + 1) (rejected draws advance c
 *      too), then swap perm[i] and perm[j].
 *   5. The pairs perm[0], ..., perm[n_train - 1], in that order, are the
 *      training set; perm[n_train], ..., perm[n_pairs - 1] the test set.
 * Example: P = 23, div: 506 pairs; train_frac 0.5 gives 253 and 253.
 *
 * Limits.  2 <= P <= NFI_MODULAR_P_MAX = 65521, the largest prime below
 * 2^16, so that a, b, labels and pair indices fit in 32 bits.  The split
 * holds every pair: 12 bytes a pair plus 4 a pair while shuffling, so P
 * = 97 takes about 150 kB, P = 4096 about 270 MB, and the largest P
 * about 69 GB, more than most machines have (the allocation then fails
 * with an error, or the system may refuse memory later).  Grokking
 * studies use P near 100. */
#ifndef NFI_MODULAR_H
#define NFI_MODULAR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NFI_MODULAR_P_MIN 2
#define NFI_MODULAR_P_MAX 65521

/* The stream tag of the shuffle: the ASCII bytes "nfi-mod:". */
#define NFI_MODULAR_TAG 0x6e66692d6d6f643aULL

typedef enum nfi_modular_op {
    NFI_MODULAR_OP_ADD,
    NFI_MODULAR_OP_SUB,
    NFI_MODULAR_OP_MUL,
    NFI_MODULAR_OP_DIV
} nfi_modular_op;

#define NFI_MODULAR_OP_COUNT 4

/* One sample: the operands as indices in [0, P) and the class label. */
typedef struct nfi_modular_sample {
    uint32_t a, b, label;
} nfi_modular_sample;

typedef struct nfi_modular_task {
    nfi_modular_op op;
    uint32_t p;       /* modulus = number of classes K = one-hot width of
                         each operand */
    uint64_t n_pairs; /* P^2, or P (P - 1) for div */
} nfi_modular_task;

typedef struct nfi_modular_split {
    nfi_modular_task task;
    double train_frac;
    uint64_t seed;
    size_t n_train, n_test;     /* n_train + n_test = task.n_pairs */
    nfi_modular_sample *train;  /* (n_train), in shuffled order */
    nfi_modular_sample *test;   /* (n_test), in shuffled order */
} nfi_modular_split;

/* The name of op: "add", "sub", "mul" or "div"; "?" for a value outside
 * the enumeration. */
const char *nfi_modular_op_name(nfi_modular_op op);

/* Reads an operation name (the names above, also "+", "-", "*" and "/";
 * case is ignored) into *out.  Returns 0, or -1 with an error naming the
 * string and the valid names (*out unchanged). */
int nfi_modular_op_parse(const char *name, nfi_modular_op *out,
                         nfi_error *err);

/* Whether n is prime (trial division; exact for every uint32_t). */
int nfi_modular_is_prime(uint32_t n);

/* The inverse of b modulo p: the x in [1, p) with b x = 1 mod p, by the
 * extended Euclidean algorithm.  Returns 0 when there is none (b = 0 mod
 * p, or gcd(b, p) > 1, or p < 2). */
uint32_t nfi_modular_inverse(uint32_t b, uint32_t p);

/* Describes the task (op, p) in *out: checks op, NFI_MODULAR_P_MIN <= p
 * <= NFI_MODULAR_P_MAX and, for div, that p is prime.  Returns 0, or -1
 * with an error naming the value of p (or op) and the valid range, *out
 * unchanged. */
int nfi_modular_task_init(nfi_modular_task *out, nfi_modular_op op,
                          long p, nfi_error *err);

/* The functions below take a task made by nfi_modular_task_init; given
 * another (an out-of-range op or P, or a wrong n_pairs) they return -1
 * with an error saying so. */

/* The label of (a, b); a and b in [0, P), b != 0 for div.  Returns 0
 * with the label in *label, or -1 with an error naming the operand out
 * of range. */
int nfi_modular_label(const nfi_modular_task *task, uint32_t a, uint32_t b,
                      uint32_t *label, nfi_error *err);

/* The sample whose canonical index is index, in [0, task->n_pairs).
 * Returns 0, or -1 with an error naming the index and the bound. */
int nfi_modular_sample_at(const nfi_modular_task *task, uint64_t index,
                          nfi_modular_sample *out, nfi_error *err);

/* Makes the train/test split of the task by the rule in the comment at
 * the top: a pure function of (task, train_frac, seed).  train_frac must
 * be a number with 0 < train_frac < 1 and leave both sets non-empty.
 * Returns 0 with *out filled (free it with nfi_modular_split_free), or
 * -1 with an error naming the bad value (or the allocation that failed)
 * and *out zeroed, so that freeing it is harmless. */
int nfi_modular_split_make(nfi_modular_split *out,
                           const nfi_modular_task *task, double train_frac,
                           uint64_t seed, nfi_error *err);

/* Makes a split from given rows (a, b, label): train holds n_train rows
 * of 3 integers, test n_test rows, row-major, in the order the training
 * set is to be used (another program's split).  Every a and b must lie
 * in [0, P), b != 0 for div, and label must be (a op b) mod P; n_train
 * must be at least 1 (n_test may be 0).  Duplicates are allowed.
 * train_frac and seed of *out are set to 0.  Returns 0 with *out filled
 * (free it with nfi_modular_split_free), or -1 with an error naming the
 * set ("train" or "test"), the row (from 0) and what is wrong, *out
 * zeroed. */
int nfi_modular_split_from_rows(nfi_modular_split *out,
                                const nfi_modular_task *task,
                                const int64_t *train, size_t n_train,
                                const int64_t *test, size_t n_test,
                                nfi_error *err);

/* Releases the arrays of a split and zeroes it; NULL is allowed. */
void nfi_modular_split_free(nfi_modular_split *split);

#endif
