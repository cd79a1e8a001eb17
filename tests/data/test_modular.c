/* Modular arithmetic tasks (data/modular.h): operation names, primality
 * and inverses against brute force, labels of worked examples and of
 * every pair of small moduli against the definitions, pair counts and the
 * canonical order, split sizes, known splits (computed independently from
 * the rule in the header), determinism, disjoint and covering train and
 * test sets, a uniform shuffle, and the errors of bad moduli, operands
 * and train fractions.
 *
 * Why: a wrong label or a split that leaks a pair into both sets changes
 * the experiment without any visible failure, and the split rule is a
 * promise to other implementations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "modular.h"

static nfi_modular_task task_of(nfi_modular_op op, long p)
{
    nfi_modular_task t;
    nfi_error err = {""};
    if (nfi_modular_task_init(&t, op, p, &err) != 0) {
        fprintf(stderr, "test_modular: task %s mod %ld: %s\n",
                nfi_modular_op_name(op), p, err.message);
        exit(2);
    }
    return t;
}

static void check_names(void)
{
    static const struct {
        const char *name;
        nfi_modular_op op;
    } good[] = {
        {"add", NFI_MODULAR_OP_ADD}, {"ADD", NFI_MODULAR_OP_ADD},
        {"+", NFI_MODULAR_OP_ADD},   {"sub", NFI_MODULAR_OP_SUB},
        {"-", NFI_MODULAR_OP_SUB},   {"Mul", NFI_MODULAR_OP_MUL},
        {"*", NFI_MODULAR_OP_MUL},   {"div", NFI_MODULAR_OP_DIV},
        {"/", NFI_MODULAR_OP_DIV},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        nfi_modular_op op = NFI_MODULAR_OP_ADD;
        nfi_error err = {""};
        int status = nfi_modular_op_parse(good[i].name, &op, &err);
        check_true(status == 0 && op == good[i].op, "'%s' should parse "
                   "to %s, got %d (%s)", good[i].name,
                   nfi_modular_op_name(good[i].op), status, err.message);
    }
    for (int op = 0; op < NFI_MODULAR_OP_COUNT; op++) {
        nfi_modular_op back;
        check_true(nfi_modular_op_parse(nfi_modular_op_name(op), &back,
                                        NULL) == 0 && (int)back == op,
                   "the name of op %d should read back", op);
    }
    static const char *const bad[] = {"", "mod", "pow", "adds", "//", "ad"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nfi_modular_op op = NFI_MODULAR_OP_MUL;
        nfi_error err = {""};
        int status = nfi_modular_op_parse(bad[i], &op, &err);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        check_true(status == -1 && op == NFI_MODULAR_OP_MUL
                   && strstr(err.message, quoted) != NULL,
                   "'%s' should not parse and be named, got %d (%s)",
                   bad[i], status, err.message);
    }
    nfi_modular_op op;
    check_true(nfi_modular_op_parse(NULL, &op, NULL) == -1,
               "a NULL name should not parse");
    check_true(strcmp(nfi_modular_op_name((nfi_modular_op)9), "?") == 0,
               "an op outside the enumeration is named '?'");
}

/* Primes below 70000 by a sieve, against nfi_modular_is_prime, and a few
 * large values. */
static void check_primes(void)
{
    enum { N = 70000 };
    static char composite[N];
    composite[0] = composite[1] = 1;
    for (long i = 2; i * i < N; i++)
        if (!composite[i])
            for (long j = i * i; j < N; j += i)
                composite[j] = 1;
    long wrong = 0, primes = 0;
    for (uint32_t n = 0; n < N; n++) {
        primes += !composite[n];
        if (nfi_modular_is_prime(n) != !composite[n] && wrong++ < 5)
            check_true(false, "is_prime(%u) = %d", n,
                       nfi_modular_is_prime(n));
    }
    check_true(wrong == 0 && primes == 6935, "%ld disagreements with the "
               "sieve, %ld primes below 70000 (expected 6935)", wrong,
               primes);
    check_true(nfi_modular_is_prime(65521) && !nfi_modular_is_prime(65523)
               && nfi_modular_is_prime(4294967291U)
               && !nfi_modular_is_prime(4294967295U)
               && !nfi_modular_is_prime(65521U * 65521U),
               "is_prime of 65521, 65523, 2^32 - 5, 2^32 - 1, 65521^2");
}

static void check_inverses(void)
{
    static const uint32_t primes[] = {2, 3, 5, 7, 23, 97, 113, 65521};
    for (size_t k = 0; k < sizeof primes / sizeof primes[0]; k++) {
        uint32_t p = primes[k];
        long wrong = 0;
        uint32_t step = p > 1000 ? 997 : 1;
        for (uint32_t b = 1; b < p; b += step) {
            uint32_t x = nfi_modular_inverse(b, p);
            if ((x == 0 || x >= p || (uint64_t)b * x % p != 1)
                && wrong++ < 5)
                check_true(false, "inverse(%u, %u) = %u", b, p, x);
        }
        check_true(wrong == 0, "inverses modulo %u", p);
        check_true(nfi_modular_inverse(0, p) == 0
                   && nfi_modular_inverse(p, p) == 0,
                   "0 and %u have no inverse modulo %u", p, p);
    }
    check_true(nfi_modular_inverse(2, 4) == 0
               && nfi_modular_inverse(6, 9) == 0
               && nfi_modular_inverse(5, 9) == 2
               && nfi_modular_inverse(3, 1) == 0,
               "inverses modulo composites and 1");
    check_true(nfi_modular_inverse(65520, 65521) == 65520,
               "-1 is its own inverse");
    check_true(nfi_modular_inverse(12, 5) == 3, "12 = 2 mod 5, inverse 3");
}

static void check_known_labels(void)
{
    static const struct {
        nfi_modular_op op;
        long p;
        uint32_t a, b, label;
    } known[] = {
        {NFI_MODULAR_OP_ADD, 5, 3, 4, 2},
        {NFI_MODULAR_OP_ADD, 5, 0, 0, 0},
        {NFI_MODULAR_OP_SUB, 5, 1, 3, 3},
        {NFI_MODULAR_OP_SUB, 5, 3, 1, 2},
        {NFI_MODULAR_OP_SUB, 5, 0, 4, 1},
        {NFI_MODULAR_OP_MUL, 5, 3, 4, 2},
        {NFI_MODULAR_OP_MUL, 5, 4, 0, 0},
        {NFI_MODULAR_OP_DIV, 5, 3, 2, 4}, /* 3 * 2^-1 = 3 * 3 = 9 = 4 */
        {NFI_MODULAR_OP_DIV, 5, 1, 4, 4}, /* 4 * 4 = 16 = 1 */
        {NFI_MODULAR_OP_DIV, 5, 0, 3, 0},
        {NFI_MODULAR_OP_DIV, 7, 1, 3, 5}, /* 3 * 5 = 15 = 1 */
        {NFI_MODULAR_OP_DIV, 97, 1, 2, 49},
        {NFI_MODULAR_OP_DIV, 2, 1, 1, 1},
        {NFI_MODULAR_OP_ADD, 65521, 65520, 65520, 65519},
        {NFI_MODULAR_OP_SUB, 65521, 0, 65520, 1},
        {NFI_MODULAR_OP_MUL, 65521, 65520, 65520, 1},
        {NFI_MODULAR_OP_DIV, 65521, 1, 65520, 65520},
        {NFI_MODULAR_OP_ADD, 6, 5, 5, 4},
        {NFI_MODULAR_OP_MUL, 6, 2, 3, 0},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        nfi_modular_task t = task_of(known[i].op, known[i].p);
        uint32_t label = 12345;
        nfi_error err = {""};
        int status = nfi_modular_label(&t, known[i].a, known[i].b, &label,
                                       &err);
        check_true(status == 0 && label == known[i].label,
                   "%u %s %u mod %ld: got %u (status %d, %s), expected %u",
                   known[i].a, nfi_modular_op_name(known[i].op), known[i].b,
                   known[i].p, label, status, err.message, known[i].label);
    }
}

/* Every pair of small moduli, in canonical order, against the
 * definitions; div by searching for the c with c * b = a. */
static void check_all_pairs(void)
{
    static const long ps[] = {2, 3, 5, 6, 23, 97};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        long p = ps[k];
        for (int op = 0; op < NFI_MODULAR_OP_COUNT; op++) {
            if (op == NFI_MODULAR_OP_DIV && !nfi_modular_is_prime(p))
                continue;
            nfi_modular_task t = task_of(op, p);
            uint64_t expected_pairs = op == NFI_MODULAR_OP_DIV
                ? (uint64_t)(p * (p - 1)) : (uint64_t)(p * p);
            check_true(t.n_pairs == expected_pairs && t.p == p,
                       "%s mod %ld: %llu pairs, expected %llu",
                       nfi_modular_op_name(op), p,
                       (unsigned long long)t.n_pairs,
                       (unsigned long long)expected_pairs);
            uint64_t index = 0;
            long wrong = 0;
            for (long a = 0; a < p; a++) {
                for (long b = op == NFI_MODULAR_OP_DIV; b < p; b++) {
                    long c;
                    switch (op) {
                    case NFI_MODULAR_OP_ADD: c = (a + b) % p; break;
                    case NFI_MODULAR_OP_SUB: c = ((a - b) % p + p) % p;
                        break;
                    case NFI_MODULAR_OP_MUL: c = a * b % p; break;
                    default:
                        for (c = 0; c < p && c * b % p != a; c++)
                            ;
                    }
                    nfi_modular_sample s;
                    int status = nfi_modular_sample_at(&t, index, &s, NULL);
                    if ((status != 0 || s.a != a || s.b != b
                         || s.label != c) && wrong++ < 5)
                        check_true(false, "%s mod %ld, index %llu: got "
                                   "(%u, %u) -> %u, expected (%ld, %ld) "
                                   "-> %ld", nfi_modular_op_name(op), p,
                                   (unsigned long long)index, s.a, s.b,
                                   s.label, a, b, c);
                    index++;
                }
            }
            check_true(wrong == 0 && index == t.n_pairs, "%s mod %ld: "
                       "%ld wrong samples", nfi_modular_op_name(op), p,
                       wrong);
            nfi_modular_sample s;
            nfi_error err = {""};
            check_true(nfi_modular_sample_at(&t, t.n_pairs, &s, &err) == -1
                       && strstr(err.message, "index") != NULL,
                       "index n_pairs should be out of range (%s)",
                       err.message);
        }
    }
    nfi_modular_task big = task_of(NFI_MODULAR_OP_MUL, 65521);
    check_true(big.n_pairs == 4293001441ULL, "65521^2 pairs");
    big = task_of(NFI_MODULAR_OP_DIV, 65521);
    check_true(big.n_pairs == 4292935920ULL, "65521 * 65520 pairs");
}

static void check_bad_tasks(void)
{
    static const struct {
        nfi_modular_op op;
        long p;
        const char *named;
    } bad[] = {
        {NFI_MODULAR_OP_ADD, 1, "P = 1"},
        {NFI_MODULAR_OP_ADD, 0, "P = 0"},
        {NFI_MODULAR_OP_MUL, -7, "P = -7"},
        {NFI_MODULAR_OP_SUB, 65522, "P = 65522"},
        {NFI_MODULAR_OP_DIV, 65537, "P = 65537"},
        {NFI_MODULAR_OP_ADD, 1L << 40, "P = 1099511627776"},
        {NFI_MODULAR_OP_DIV, 4, "P = 4"},
        {NFI_MODULAR_OP_DIV, 1, "P = 1"},
        {NFI_MODULAR_OP_DIV, 65517, "P = 65517"}, /* 3 * 21839 */
        {NFI_MODULAR_OP_DIV, 9, "P = 9"},
        {(nfi_modular_op)4, 5, "operation 4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nfi_modular_task t = {NFI_MODULAR_OP_ADD, 77, 88};
        nfi_error err = {""};
        int status = nfi_modular_task_init(&t, bad[i].op, bad[i].p, &err);
        check_true(status == -1 && strstr(err.message, bad[i].named) != NULL
                   && t.p == 77 && t.n_pairs == 88,
                   "%s mod %ld should fail naming '%s', got %d (%s)",
                   nfi_modular_op_name(bad[i].op), bad[i].p, bad[i].named,
                   status, err.message);
    }
    check_true(nfi_modular_task_init(&(nfi_modular_task){0},
                                     NFI_MODULAR_OP_ADD, 0, NULL) == -1,
               "a NULL error is allowed");
    /* Composite moduli are fine for add, sub and mul. */
    nfi_modular_task t;
    check_true(nfi_modular_task_init(&t, NFI_MODULAR_OP_MUL, 4, NULL) == 0
               && nfi_modular_task_init(&t, NFI_MODULAR_OP_ADD, 65520,
                                        NULL) == 0,
               "composite moduli for mul and add");

    nfi_modular_task d = task_of(NFI_MODULAR_OP_DIV, 7);
    uint32_t label = 99;
    nfi_error err = {""};
    check_true(nfi_modular_label(&d, 3, 0, &label, &err) == -1
               && strstr(err.message, "b = 0") != NULL && label == 99,
               "division by 0 should fail (%s)", err.message);
    check_true(nfi_modular_label(&d, 7, 1, &label, &err) == -1
               && strstr(err.message, "a = 7") != NULL,
               "a = P should fail (%s)", err.message);
    check_true(nfi_modular_label(&d, 1, 9, &label, &err) == -1
               && strstr(err.message, "b = 9") != NULL,
               "b > P should fail (%s)", err.message);

    /* Tasks not made by nfi_modular_task_init. */
    static const nfi_modular_task forged[] = {
        {NFI_MODULAR_OP_ADD, 0, 0},
        {NFI_MODULAR_OP_ADD, 5, 24},
        {NFI_MODULAR_OP_DIV, 5, 25},
        {(nfi_modular_op)7, 5, 25},
        {NFI_MODULAR_OP_MUL, 70000, 4900000000ULL},
    };
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        nfi_modular_sample sample;
        nfi_modular_split split;
        nfi_error e1 = {""}, e2 = {""}, e3 = {""};
        bool ok = nfi_modular_label(&forged[i], 0, 1, &label, &e1) == -1
                  && nfi_modular_sample_at(&forged[i], 0, &sample, &e2) == -1
                  && nfi_modular_split_make(&split, &forged[i], 0.5, 1, &e3)
                     == -1
                  && split.train == NULL;
        check_true(ok && strstr(e1.message, "nfi_modular_task_init") != NULL
                   && strstr(e2.message, "nfi_modular_task_init") != NULL
                   && strstr(e3.message, "nfi_modular_task_init") != NULL,
                   "forged task %zu should be refused (%s)", i, e1.message);
    }
}

static nfi_modular_split split_of(const nfi_modular_task *t, double frac,
                                  uint64_t seed)
{
    nfi_modular_split s;
    nfi_error err = {""};
    if (nfi_modular_split_make(&s, t, frac, seed, &err) != 0) {
        fprintf(stderr, "test_modular: split: %s\n", err.message);
        exit(2);
    }
    return s;
}

/* Every canonical pair exactly once in train + test, each record's label
 * right; returns whether it holds. */
static bool check_partition(const nfi_modular_split *s)
{
    const nfi_modular_task *t = &s->task;
    unsigned char *seen = calloc(t->n_pairs, 1);
    bool ok = seen != NULL && s->n_train + s->n_test == t->n_pairs;
    for (size_t i = 0; ok && i < s->n_train + s->n_test; i++) {
        const nfi_modular_sample *r = i < s->n_train
            ? &s->train[i] : &s->test[i - s->n_train];
        uint32_t label;
        ok = nfi_modular_label(t, r->a, r->b, &label, NULL) == 0
             && label == r->label;
        uint64_t index = t->op == NFI_MODULAR_OP_DIV
            ? (uint64_t)r->a * (t->p - 1) + r->b - 1
            : (uint64_t)r->a * t->p + r->b;
        ok = ok && seen[index]++ == 0;
    }
    free(seen);
    return check_true(ok, "%s mod %u, seed %llu: train and test should be "
                      "disjoint, cover every pair and carry right labels",
                      nfi_modular_op_name(t->op), t->p,
                      (unsigned long long)s->seed);
}

static bool same_samples(const nfi_modular_sample *x,
                         const nfi_modular_sample *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i].a != y[i].a || x[i].b != y[i].b || x[i].label != y[i].label)
            return false;
    return true;
}

static void check_splits(void)
{
    /* The example of the header. */
    nfi_modular_task t = task_of(NFI_MODULAR_OP_DIV, 23);
    nfi_modular_split s = split_of(&t, 0.5, 2024);
    check_true(t.n_pairs == 506 && s.n_train == 253 && s.n_test == 253,
               "P = 23 div, 0.5: %zu + %zu of %llu", s.n_train, s.n_test,
               (unsigned long long)t.n_pairs);
    check_partition(&s);
    /* Known answers from the rule, computed independently. */
    static const uint32_t train23[][2] = {
        {16, 21}, {1, 18}, {2, 14}, {19, 18}, {13, 5}, {1, 14}};
    static const uint32_t test23[][2] = {
        {20, 19}, {19, 8}, {1, 5}, {2, 17}, {9, 1}, {6, 16}};
    for (int i = 0; i < 6; i++) {
        check_true(s.train[i].a == train23[i][0]
                   && s.train[i].b == train23[i][1],
                   "P = 23 div seed 2024: train[%d] = (%u, %u), expected "
                   "(%u, %u)", i, s.train[i].a, s.train[i].b,
                   train23[i][0], train23[i][1]);
        check_true(s.test[i].a == test23[i][0]
                   && s.test[i].b == test23[i][1],
                   "P = 23 div seed 2024: test[%d] = (%u, %u), expected "
                   "(%u, %u)", i, s.test[i].a, s.test[i].b, test23[i][0],
                   test23[i][1]);
    }
    check_true(s.train[0].label == 16 * 11 % 23, "16 / 21 mod 23 = 16 * 11"
               " (21 * 11 = 231 = 1 mod 23)");

    /* Same seed, same split; another seed, another split. */
    nfi_modular_split again = split_of(&t, 0.5, 2024);
    nfi_modular_split other = split_of(&t, 0.5, 2025);
    check_true(same_samples(s.train, again.train, s.n_train)
               && same_samples(s.test, again.test, s.n_test),
               "the same seed should give the same split");
    check_true(!same_samples(s.train, other.train, s.n_train),
               "seeds 2024 and 2025 should give different splits");
    check_partition(&other);
    nfi_modular_split_free(&again);
    nfi_modular_split_free(&other);
    check_true(s.train_frac == 0.5 && s.seed == 2024 && s.task.p == 23,
               "the split records its parameters");
    nfi_modular_split_free(&s);
    check_true(s.train == NULL && s.n_train == 0, "free zeroes the split");
    nfi_modular_split_free(&s);
    nfi_modular_split_free(NULL);

    /* The whole of a small split. */
    t = task_of(NFI_MODULAR_OP_ADD, 5);
    s = split_of(&t, 0.6, 1);
    static const uint32_t train5[15][2] = {
        {4, 3}, {4, 4}, {3, 1}, {3, 2}, {0, 4}, {2, 3}, {2, 0}, {4, 1},
        {2, 1}, {1, 4}, {4, 0}, {2, 2}, {1, 0}, {0, 2}, {1, 3}};
    static const uint32_t test5[10][2] = {
        {1, 1}, {3, 0}, {0, 3}, {4, 2}, {0, 0}, {3, 4}, {2, 4}, {3, 3},
        {1, 2}, {0, 1}};
    bool ok = s.n_train == 15 && s.n_test == 10;
    for (int i = 0; ok && i < 15; i++)
        ok = s.train[i].a == train5[i][0] && s.train[i].b == train5[i][1];
    for (int i = 0; ok && i < 10; i++)
        ok = s.test[i].a == test5[i][0] && s.test[i].b == test5[i][1];
    check_true(ok, "P = 5 add, 0.6, seed 1: the split of the rule");
    nfi_modular_split_free(&s);

    /* Sizes are floor(fl(frac * n)) over a range of fractions. */
    static const struct {
        nfi_modular_op op;
        long p;
        double frac;
        size_t n_train;
    } sizes[] = {
        {NFI_MODULAR_OP_ADD, 97, 0.3, 2822},   /* 2822.7 */
        {NFI_MODULAR_OP_DIV, 97, 0.3, 2793},   /* 2793.6 */
        {NFI_MODULAR_OP_DIV, 113, 0.5, 6328},
        {NFI_MODULAR_OP_MUL, 2, 0.25, 1},
        {NFI_MODULAR_OP_DIV, 2, 0.5, 1},
        {NFI_MODULAR_OP_SUB, 10, 0.999, 99},
        {NFI_MODULAR_OP_SUB, 10, 0.01, 1},
        /* The largest fraction below 1 still leaves a test pair. */
        {NFI_MODULAR_OP_DIV, 2, 0x1.fffffffffffffp-1, 1},
        {NFI_MODULAR_OP_ADD, 65, 0x1.fffffffffffffp-1, 4224},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        t = task_of(sizes[i].op, sizes[i].p);
        s = split_of(&t, sizes[i].frac, 9);
        check_true(s.n_train == sizes[i].n_train
                   && s.n_test == t.n_pairs - sizes[i].n_train,
                   "%s mod %ld, train_frac %g: %zu train, expected %zu",
                   nfi_modular_op_name(sizes[i].op), sizes[i].p,
                   sizes[i].frac, s.n_train, sizes[i].n_train);
        check_partition(&s);
        nfi_modular_split_free(&s);
    }
}

static void check_bad_fractions(void)
{
    nfi_modular_task t = task_of(NFI_MODULAR_OP_ADD, 5);
    static const struct {
        double frac;
        const char *named;
    } bad[] = {
        {0.0, "train_frac = 0 "},
        {1.0, "train_frac = 1 "},
        {-0.5, "train_frac = -0.5 "},
        {1.5, "train_frac = 1.5 "},
        {NAN, "train_frac = nan"},
        {INFINITY, "train_frac = inf"},
        {-INFINITY, "train_frac = -inf"},
        {0.01, "train_frac = 0.01 "},    /* floor(0.25) = 0: empty train */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nfi_modular_split s;
        memset(&s, 0x5a, sizeof s);
        nfi_error err = {""};
        int status = nfi_modular_split_make(&s, &t, bad[i].frac, 1, &err);
        check_true(status == -1 && strstr(err.message, bad[i].named) != NULL
                   && s.train == NULL && s.test == NULL && s.n_train == 0,
                   "train_frac %g should fail naming '%s' and leave the "
                   "split empty, got %d (%s)", bad[i].frac, bad[i].named,
                   status, err.message);
    }
    nfi_modular_split s;
    check_true(nfi_modular_split_make(&s, &t, 0.0, 1, NULL) == -1,
               "a NULL error is allowed");
    t = task_of(NFI_MODULAR_OP_ADD, 3);
    nfi_error err = {""};
    check_true(nfi_modular_split_make(&s, &t, 0.1, 1, &err) == -1
               && strstr(err.message, "training set") != NULL
               && strstr(err.message, "1/9") != NULL,
               "9 pairs at 0.1 leave the training set empty (%s)",
               err.message);
}

/* The shuffle is uniform: over many seeds, the pair that lands first is
 * each of the 9 pairs of add mod 3 about equally often (chi-square with
 * 8 degrees of freedom, bound far in the tail), and so is the pair that
 * lands last. */
static void check_uniform_shuffle(void)
{
    nfi_modular_task t = task_of(NFI_MODULAR_OP_ADD, 3);
    enum { SEEDS = 9000 };
    long first[9] = {0}, last[9] = {0};
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        nfi_modular_split s = split_of(&t, 0.5, harness_seed() + seed);
        first[s.train[0].a * 3 + s.train[0].b]++;
        last[s.test[s.n_test - 1].a * 3 + s.test[s.n_test - 1].b]++;
        nfi_modular_split_free(&s);
    }
    double chi_first = 0, chi_last = 0, e = SEEDS / 9.0;
    for (int i = 0; i < 9; i++) {
        chi_first += (first[i] - e) * (first[i] - e) / e;
        chi_last += (last[i] - e) * (last[i] - e) / e;
    }
    check_true(chi_first < 40 && chi_last < 40, "position of the pairs "
               "over %d seeds: chi-square %.2f (first), %.2f (last), "
               "expected below 40", SEEDS, chi_first, chi_last);
}

/* Splits from given rows: every seeded split read back as rows gives
 * the same split; each kind of bad row is refused naming set and row. */
static void check_rows(void)
{
    nfi_modular_task task;
    nfi_error err;
    for (int op = 0; op < NFI_MODULAR_OP_COUNT; op++) {
        if (nfi_modular_task_init(&task, (nfi_modular_op)op, 13, &err) != 0)
            continue;
        nfi_modular_split s, r;
        if (nfi_modular_split_make(&s, &task, 0.3, 5, &err) != 0)
            continue;
        size_t n = s.n_train + s.n_test;
        int64_t *rows = malloc(3 * n * sizeof *rows);
        for (size_t i = 0; i < n; i++) {
            const nfi_modular_sample *x = i < s.n_train ? &s.train[i]
                                          : &s.test[i - s.n_train];
            rows[3 * i] = x->a;
            rows[3 * i + 1] = x->b;
            rows[3 * i + 2] = x->label;
        }
        int rc = nfi_modular_split_from_rows(&r, &task, rows, s.n_train,
                                             rows + 3 * s.n_train,
                                             s.n_test, &err);
        if (check_true(rc == 0, "%s: rows of the seeded split: %s",
                       nfi_modular_op_name(task.op), err.message))
            check_true(r.n_train == s.n_train && r.n_test == s.n_test &&
                       memcmp(r.train, s.train, s.n_train *
                              sizeof *s.train) == 0 &&
                       memcmp(r.test, s.test, s.n_test *
                              sizeof *s.test) == 0,
                       "%s: the same split", nfi_modular_op_name(task.op));
        nfi_modular_split_free(&r);
        /* a wrong label in test row 2; a out of range in train row 1 */
        int64_t keep = rows[3 * (s.n_train + 2) + 2];
        rows[3 * (s.n_train + 2) + 2] = (keep + 1) % 13;
        rc = nfi_modular_split_from_rows(&r, &task, rows, s.n_train,
                                         rows + 3 * s.n_train, s.n_test,
                                         &err);
        check_true(rc != 0 && strstr(err.message, "test row 2") != NULL &&
                   r.train == NULL, "%s: wrong label refused: %s",
                   nfi_modular_op_name(task.op), err.message);
        rows[3 * (s.n_train + 2) + 2] = keep;
        rows[3 * 1] = 13;
        rc = nfi_modular_split_from_rows(&r, &task, rows, s.n_train,
                                         rows + 3 * s.n_train, s.n_test,
                                         &err);
        check_true(rc != 0 && strstr(err.message, "train row 1") != NULL,
                   "%s: a = P refused: %s", nfi_modular_op_name(task.op),
                   err.message);
        rows[3 * 1] = -1;
        rc = nfi_modular_split_from_rows(&r, &task, rows, s.n_train,
                                         rows + 3 * s.n_train, s.n_test,
                                         &err);
        check_true(rc != 0, "%s: a = -1 refused",
                   nfi_modular_op_name(task.op));
        rc = nfi_modular_split_from_rows(&r, &task, rows, 0, rows, 0, &err);
        check_true(rc != 0 && strstr(err.message, "empty") != NULL,
                   "no training rows refused");
        free(rows);
        nfi_modular_split_free(&s);
    }
    /* b = 0 for div */
    nfi_modular_task_init(&task, NFI_MODULAR_OP_DIV, 7, &err);
    const int64_t zero[3] = {3, 0, 0};
    nfi_modular_split r;
    check_true(nfi_modular_split_from_rows(&r, &task, zero, 1, NULL, 0,
                                           &err) != 0 &&
               strstr(err.message, "b = 0") != NULL, "div: b = 0 refused");
}

int main(void)
{
    harness_init("test_modular", 1);
    check_rows();
    check_names();
    check_primes();
    check_inverses();
    check_known_labels();
    check_all_pairs();
    check_bad_tasks();
    check_splits();
    check_bad_fractions();
    check_uniform_shuffle();
    return harness_finish();
}
