/* nfi: compiling hot functions for the FMA and AVX2 instructions where
 * the processor has them.
 *
 * C's fma() is exact by the standard; without FMA instructions in the
 * target it is a library call, and without AVX2 the compiler cannot
 * vectorise the 64-bit integer rounding loops well.  NFI_FMA_CLONES makes
 * GCC and Clang build a function twice on x86-64, once for x86-64-v3
 * processors (FMA, AVX2) and once for the baseline, and pick one at load
 * time.  Both versions compute the same bits: no option here changes a
 * floating-point result (contraction stays off). */
#ifndef NFI_CPU_H
#define NFI_CPU_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(NFI_NO_CLONES)
#define NFI_FMA_CLONES \
    __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NFI_FMA_CLONES
#endif

#endif
