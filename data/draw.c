/* nfi: uniform integers from the counter-based draws.  See draw.h. */
#include "draw.h"

uint64_t nfi_draw_below(uint64_t key, uint64_t *counter, uint64_t n)
{
    if (n == 0)
        return 0;

    /* (2^64 - n) mod n, computed in 64-bit arithmetic as (-n) mod n. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = nfi_draw_bits(key, *counter);
        *counter += 1;
        if (x >= threshold)
            return x % n;
    }
}
