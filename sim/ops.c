/* nfi: names and arities of the engine operations. */
#include "round.h"

#include <strings.h>

static const char *const op_names[NFI_OP_COUNT] = {
    "add", "sub", "mul", "div", "sqrt", "fma", "exp", "log", "cvt",
    "neg", "abs", "min", "max"};

static const int op_arity[NFI_OP_COUNT] = {2, 2, 2, 2, 1, 3, 1, 1, 1,
                                           1, 1, 2, 2};

int nfi_op_arity(nfi_op op)
{
    return (int)op >= 0 && (int)op < NFI_OP_COUNT ? op_arity[op] : 0;
}

int nfi_op_rounds(nfi_op op)
{
    return op != NFI_OP_NEG && op != NFI_OP_ABS && op != NFI_OP_MIN &&
           op != NFI_OP_MAX;
}

const char *nfi_op_name(nfi_op op)
{
    return (int)op >= 0 && (int)op < NFI_OP_COUNT ? op_names[op] : "?";
}

int nfi_op_parse(const char *name, nfi_op *out)
{
    for (int i = 0; i < NFI_OP_COUNT; i++) {
        if (strcasecmp(name, op_names[i]) == 0) {
            *out = (nfi_op)i;
            return 0;
        }
    }
    return -1;
}
