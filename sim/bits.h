/* nfi: the bit patterns of binary64 numbers. */
#ifndef NFI_BITS_H
#define NFI_BITS_H

#include <stdint.h>
#include <string.h>

static inline uint64_t nfi_bits_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline double nfi_double_of(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

#endif
