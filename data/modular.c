/* nfi: modular arithmetic tasks.  See modular.h. */
#include "modular.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "draw.h"
#include "split.h"

static const char *const op_names[NFI_MODULAR_OP_COUNT] = {
    "add", "sub", "mul", "div"
};

static const char *const op_symbols[NFI_MODULAR_OP_COUNT] = {
    "+", "-", "*", "/"
};

const char *nfi_modular_op_name(nfi_modular_op op)
{
    if ((unsigned)op >= NFI_MODULAR_OP_COUNT)
        return "?";
    return op_names[op];
}

int nfi_modular_op_parse(const char *name, nfi_modular_op *out,
                         nfi_error *err)
{
    if (name == NULL)
        return nfi_error_set(err, "modular operation: no name given; "
                             "expected add, sub, mul or div");
    for (int i = 0; i < NFI_MODULAR_OP_COUNT; i++) {
        if (strcasecmp(name, op_names[i]) == 0
            || strcmp(name, op_symbols[i]) == 0) {
            *out = (nfi_modular_op)i;
            return 0;
        }
    }
    return nfi_error_set(err, "modular operation '%s' is unknown; expected "
                         "add, sub, mul or div (or + - * /)", name);
}

int nfi_modular_is_prime(uint32_t n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    /* d * d <= n cannot overflow: d stays below 2^16 + 2 for 32-bit n. */
    for (uint64_t d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

uint32_t nfi_modular_inverse(uint32_t b, uint32_t p)
{
    if (p < 2)
        return 0;

    /* Extended Euclid on (p, b mod p), keeping only the coefficient of b:
     * invariant r0 = t0 * b and r1 = t1 * b modulo p.  |t| <= p, so the
     * signed 64-bit products cannot overflow. */
    int64_t r0 = p, r1 = b % p, t0 = 0, t1 = 1;
    while (r1 != 0) {
        int64_t q = r0 / r1;
        int64_t r2 = r0 - q * r1, t2 = t0 - q * t1;
        r0 = r1;
        r1 = r2;
        t0 = t1;
        t1 = t2;
    }
    if (r0 != 1)
        return 0;
    if (t0 < 0)
        t0 += p;
    return (uint32_t)t0;
}

int nfi_modular_task_init(nfi_modular_task *out, nfi_modular_op op,
                          long p, nfi_error *err)
{
    if ((unsigned)op >= NFI_MODULAR_OP_COUNT)
        return nfi_error_set(err, "modular operation %d is not one of add, "
                             "sub, mul, div", (int)op);
    if (p < NFI_MODULAR_P_MIN || p > NFI_MODULAR_P_MAX)
        return nfi_error_set(err, "modulus P = %ld is out of range; "
                             "expected %d <= P <= %d", p,
                             NFI_MODULAR_P_MIN, NFI_MODULAR_P_MAX);
    if (op == NFI_MODULAR_OP_DIV && !nfi_modular_is_prime((uint32_t)p))
        return nfi_error_set(err, "modulus P = %ld is not prime, so div "
                             "has no inverse for some b; div needs a prime "
                             "P (e.g. 97 or 113)", p);

    out->op = op;
    out->p = (uint32_t)p;
    out->n_pairs = (uint64_t)p * (uint64_t)(op == NFI_MODULAR_OP_DIV
                                             ? p - 1 : p);
    return 0;
}

/* Guards the functions that take a task against one not made by
 * nfi_modular_task_init (a zero modulus would divide by zero).  Primality
 * is left to nfi_modular_task_init: it costs too much to test per
 * label. */
static int task_check(const nfi_modular_task *task, nfi_error *err)
{
    if ((unsigned)task->op >= NFI_MODULAR_OP_COUNT
        || task->p < NFI_MODULAR_P_MIN || task->p > NFI_MODULAR_P_MAX
        || task->n_pairs != (uint64_t)task->p
                            * (task->op == NFI_MODULAR_OP_DIV
                               ? task->p - 1 : task->p))
        return nfi_error_set(err, "modular task (op %d, P = %u, %llu pairs) "
                             "is not one made by nfi_modular_task_init",
                             (int)task->op, task->p,
                             (unsigned long long)task->n_pairs);
    return 0;
}

/* The label of a valid pair: a, b < p, b != 0 for div (p prime). */
static uint32_t label_of(const nfi_modular_task *task, uint32_t a,
                         uint32_t b)
{
    uint64_t p = task->p;
    switch (task->op) {
    case NFI_MODULAR_OP_ADD:
        return (uint32_t)((a + (uint64_t)b) % p);
    case NFI_MODULAR_OP_SUB:
        return (uint32_t)((a + p - b) % p);
    case NFI_MODULAR_OP_MUL:
        return (uint32_t)((uint64_t)a * b % p);
    case NFI_MODULAR_OP_DIV:
        return (uint32_t)((uint64_t)a * nfi_modular_inverse(b, task->p)
                          % p);
    }
    return 0;
}

int nfi_modular_label(const nfi_modular_task *task, uint32_t a, uint32_t b,
                      uint32_t *label, nfi_error *err)
{
    if (task_check(task, err) != 0)
        return -1;
    if (a >= task->p)
        return nfi_error_set(err, "operand a = %u is out of range; expected "
                             "0 <= a < P = %u", a, task->p);
    if (b >= task->p)
        return nfi_error_set(err, "operand b = %u is out of range; expected "
                             "0 <= b < P = %u", b, task->p);
    if (task->op == NFI_MODULAR_OP_DIV && b == 0)
        return nfi_error_set(err, "operand b = 0 has no inverse; div "
                             "expects 1 <= b < P = %u", task->p);
    *label = label_of(task, a, b);
    return 0;
}

/* The pair of a canonical index below task->n_pairs. */
static nfi_modular_sample sample_of(const nfi_modular_task *task,
                                    uint64_t index)
{
    nfi_modular_sample s;
    if (task->op == NFI_MODULAR_OP_DIV) {
        s.a = (uint32_t)(index / (task->p - 1));
        s.b = (uint32_t)(index % (task->p - 1)) + 1;
    } else {
        s.a = (uint32_t)(index / task->p);
        s.b = (uint32_t)(index % task->p);
    }
    s.label = label_of(task, s.a, s.b);
    return s;
}

int nfi_modular_sample_at(const nfi_modular_task *task, uint64_t index,
                          nfi_modular_sample *out, nfi_error *err)
{
    if (task_check(task, err) != 0)
        return -1;
    if (index >= task->n_pairs)
        return nfi_error_set(err, "pair index %llu is out of range; the "
                             "task %s mod %u has %llu pairs",
                             (unsigned long long)index,
                             nfi_modular_op_name(task->op), task->p,
                             (unsigned long long)task->n_pairs);
    *out = sample_of(task, index);
    return 0;
}

int nfi_modular_split_make(nfi_modular_split *out,
                           const nfi_modular_task *task, double train_frac,
                           uint64_t seed, nfi_error *err)
{
    memset(out, 0, sizeof *out);
    uint64_t n_pairs = task->n_pairs, n_train = 0;
    if (task_check(task, err) != 0
        || nfi_split_size(n_pairs, train_frac, &n_train, err) != 0)
        return -1;

    /* Canonical indices fit in 32 bits (P <= 65521), halving the memory
     * of the permutation. */
    uint32_t *perm = malloc(n_pairs * sizeof *perm);
    nfi_modular_sample *train = malloc(n_train * sizeof *train);
    nfi_modular_sample *test = malloc((n_pairs - n_train) * sizeof *test);
    if (perm == NULL || train == NULL || test == NULL) {
        free(perm);
        free(train);
        free(test);
        return nfi_error_set(err, "could not allocate %llu bytes for the "
                             "%llu pairs of %s mod %u; use a smaller P",
                             (unsigned long long)(16 * n_pairs),
                             (unsigned long long)n_pairs,
                             nfi_modular_op_name(task->op), task->p);
    }

    uint64_t key = nfi_draw_key(seed, NFI_MODULAR_TAG), counter = 0;
    for (uint64_t i = 0; i < n_pairs; i++)
        perm[i] = (uint32_t)i;
    for (uint64_t i = n_pairs - 1; i >= 1; i--) {
        uint64_t j = nfi_draw_below(key, &counter, i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }

    for (uint64_t i = 0; i < n_train; i++)
        train[i] = sample_of(task, perm[i]);
    for (uint64_t i = n_train; i < n_pairs; i++)
        test[i - n_train] = sample_of(task, perm[i]);
    free(perm);

    out->task = *task;
    out->train_frac = train_frac;
    out->seed = seed;
    out->n_train = (size_t)n_train;
    out->n_test = (size_t)(n_pairs - n_train);
    out->train = train;
    out->test = test;
    return 0;
}

/* Checks rows of (a, b, label) and copies them into out. */
static int take_rows(const nfi_modular_task *task, const char *set,
                     const int64_t *rows, size_t n, nfi_modular_sample *out,
                     nfi_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int64_t a = rows[3 * i], b = rows[3 * i + 1], y = rows[3 * i + 2];
        if (a < 0 || a >= task->p || b < 0 || b >= task->p)
            return nfi_error_set(err, "%s row %zu is (%lld, %lld, %lld): "
                                 "a and b must lie in [0, %u)", set, i,
                                 (long long)a, (long long)b, (long long)y,
                                 task->p);
        if (task->op == NFI_MODULAR_OP_DIV && b == 0)
            return nfi_error_set(err, "%s row %zu is (%lld, 0, %lld): div "
                                 "has no pairs with b = 0", set, i,
                                 (long long)a, (long long)y);
        uint32_t label;
        if (nfi_modular_label(task, (uint32_t)a, (uint32_t)b, &label,
                              err) != 0)
            return -1;
        if (y != (int64_t)label)
            return nfi_error_set(err, "%s row %zu is (%lld, %lld, %lld), "
                                 "but (%lld %s %lld) mod %u is %u", set, i,
                                 (long long)a, (long long)b, (long long)y,
                                 (long long)a, nfi_modular_op_name(task->op),
                                 (long long)b, task->p, label);
        out[i] = (nfi_modular_sample){(uint32_t)a, (uint32_t)b, label};
    }
    return 0;
}

int nfi_modular_split_from_rows(nfi_modular_split *out,
                                const nfi_modular_task *task,
                                const int64_t *train, size_t n_train,
                                const int64_t *test, size_t n_test,
                                nfi_error *err)
{
    memset(out, 0, sizeof *out);
    if (task_check(task, err) != 0)
        return -1;
    if (n_train == 0)
        return nfi_error_set(err, "the training set is empty; give at "
                             "least one row");
    nfi_modular_sample *tr = malloc(n_train * sizeof *tr);
    nfi_modular_sample *te = malloc((n_test > 0 ? n_test : 1) * sizeof *te);
    if (tr == NULL || te == NULL) {
        free(tr);
        free(te);
        return nfi_error_set(err, "out of memory for %zu samples",
                             n_train + n_test);
    }
    if (take_rows(task, "train", train, n_train, tr, err) != 0 ||
        take_rows(task, "test", test, n_test, te, err) != 0) {
        free(tr);
        free(te);
        return -1;
    }
    out->task = *task;
    out->n_train = n_train;
    out->n_test = n_test;
    out->train = tr;
    out->test = te;
    return 0;
}

void nfi_modular_split_free(nfi_modular_split *split)
{
    if (split == NULL)
        return;
    free(split->train);
    free(split->test);
    memset(split, 0, sizeof *split);
}
