/* nfi: the arithmetic handle.  See arith.h. */
#include "arith.h"

int nfi_arith_init(nfi_arith *a, const nfi_format *f, nfi_round mode,
                   uint64_t seed, bool reference, nfi_error *err)
{
    if (nfi_fast_init(&a->fast, f, mode, seed, err) != 0)
        return -1;
    a->reference = reference;
    return 0;
}
