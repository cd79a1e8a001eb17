/* Writes a modular train/test split as text, for the independent Python
 * twin (modular_twin.py):
 *     modular_dump P OP TRAIN_FRAC SEED
 * prints "n_train n_test", then one line "a b label" per training pair
 * and per test pair, in split order.  TRAIN_FRAC is read with strtod
 * (exact for the decimal fractions the twin passes, as Python's float()
 * reads them), SEED as a decimal or 0x-hexadecimal 64-bit integer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "modular.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: modular_dump P OP TRAIN_FRAC SEED\n");
        return 2;
    }
    char *end;
    errno = 0;
    long p = strtol(argv[1], &end, 10);
    if (errno != 0 || *end != '\0') {
        fprintf(stderr, "modular_dump: P '%s' is not an integer\n",
                argv[1]);
        return 2;
    }
    double frac = strtod(argv[3], &end);
    if (*end != '\0') {
        fprintf(stderr, "modular_dump: TRAIN_FRAC '%s' is not a number\n",
                argv[3]);
        return 2;
    }
    errno = 0;
    unsigned long long seed = strtoull(argv[4], &end, 0);
    if (errno != 0 || *end != '\0') {
        fprintf(stderr, "modular_dump: SEED '%s' is not a 64-bit integer\n",
                argv[4]);
        return 2;
    }

    nfi_error err = {""};
    nfi_modular_op op;
    nfi_modular_task task;
    nfi_modular_split split;
    if (nfi_modular_op_parse(argv[2], &op, &err) != 0
        || nfi_modular_task_init(&task, op, p, &err) != 0
        || nfi_modular_split_make(&split, &task, frac, seed, &err) != 0) {
        fprintf(stderr, "modular_dump: %s\n", err.message);
        return 1;
    }
    printf("%zu %zu\n", split.n_train, split.n_test);
    for (size_t i = 0; i < split.n_train; i++)
        printf("%u %u %u\n", split.train[i].a, split.train[i].b,
               split.train[i].label);
    for (size_t i = 0; i < split.n_test; i++)
        printf("%u %u %u\n", split.test[i].a, split.test[i].b,
               split.test[i].label);
    nfi_modular_split_free(&split);
    return 0;
}
