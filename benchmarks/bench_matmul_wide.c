/* nfi: matrix-product benchmark for the fast engine's row kernels.
 *
 * Times nfi_matmul (which takes the row kernels of sim/matmul_fast.c and
 * sim/matmul_wide.c) on the three products of one training step of the
 * canonical experiment (full batch of 264, MLP hidden width 128, 23
 * classes), for several precisions with binary32's exponent range, and
 * the same elements computed one by one with the engine's scalar
 * operations (nfi_fast_mul and nfi_fast_add in sequential order, the
 * element loop's work).  Prints CPU nanoseconds per multiply-add and the
 * ratio.  Operands are random format values of moderate size, or, in the
 * "tiny" rows, with a fifth of them near 2^-120 so that the kernels must
 * check the range (and round subnormals).  It asserts nothing; it does
 * count results that differ from the scalar loop and prints the count,
 * because a timing of wrong results would mean nothing.  Each figure is
 * the best of several runs (CLOCK_PROCESS_CPUTIME_ID). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arith.h"
#include "bits.h"
#include "engine_fast.h"
#include "matmul.h"
#include "reduce.h"

#define RUNS 5

static uint64_t state = 0x9e3779b97f4a7c15ULL;

static uint64_t next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fill(nfi_fast *f, size_t count, double *x, bool tiny)
{
    for (size_t i = 0; i < count; i++) {
        double u = (double)(next_random() >> 11) * 0x1p-53 - 0.5;
        int scale = tiny && next_random() % 5 == 0 ? -120 : 0;
        x[i] = nfi_fast_round(f, ldexp(u, scale));
    }
}

/* One shape: c (m x n) = a (m x k) b^T (b n x k, row-major). */
static void bench(const char *spec, size_t m, size_t n, size_t k,
                  bool tiny)
{
    nfi_format fmt;
    nfi_error err;
    nfi_arith acc;
    nfi_reduction order;
    if (nfi_format_parse(spec, &fmt, &err) != 0 ||
        nfi_arith_init(&acc, &fmt, NFI_ROUND_RNE, 0, false, &err) != 0 ||
        nfi_reduction_parse("sequential", &order, &err) != 0) {
        fprintf(stderr, "bench_matmul_wide: %s: %s\n", spec, err.message);
        exit(1);
    }
    double *a = malloc(m * k * sizeof *a), *b = malloc(n * k * sizeof *b);
    double *c = malloc(m * n * sizeof *c), *d = malloc(m * n * sizeof *d);
    if (a == NULL || b == NULL || c == NULL || d == NULL) {
        fprintf(stderr, "bench_matmul_wide: out of memory\n");
        exit(1);
    }
    fill(&acc.fast, m * k, a, tiny);
    fill(&acc.fast, n * k, b, tiny);
    nfi_matrix_view av = {a, (ptrdiff_t)k, 1, NULL};
    nfi_matrix_view bv = {b, (ptrdiff_t)k, 1, NULL};

    double best_kernel = INFINITY, best_scalar = INFINITY;
    for (int r = 0; r < RUNS; r++) {
        double t0 = cpu_seconds();
        nfi_matmul(&acc, &acc, &order, m, n, k, av, bv, NULL, NULL, c);
        double t1 = cpu_seconds();
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double s = nfi_fast_mul(&acc.fast, a[i * k], b[j * k]);
                for (size_t t = 1; t < k; t++)
                    s = nfi_fast_add(&acc.fast, s,
                                     nfi_fast_mul(&acc.fast, a[i * k + t],
                                                  b[j * k + t]));
                d[i * n + j] = s;
            }
        double t2 = cpu_seconds();
        best_kernel = t1 - t0 < best_kernel ? t1 - t0 : best_kernel;
        best_scalar = t2 - t1 < best_scalar ? t2 - t1 : best_scalar;
    }
    size_t differ = 0;
    for (size_t i = 0; i < m * n; i++)
        differ += nfi_bits_of(c[i]) != nfi_bits_of(d[i]);
    double macs = (double)(m * n * k);
    printf("%-26s %4zu x %4zu x %4zu %-5s %8.2f %8.2f %6.1fx %zu\n", spec,
           m, n, k, tiny ? "tiny" : "", 1e9 * best_kernel / macs,
           1e9 * best_scalar / macs, best_scalar / best_kernel, differ);
    free(a);
    free(b);
    free(c);
    free(d);
}

int main(void)
{
    static const char *const specs[] = {
        "p=20,emin=-126,emax=127", "p=28,emin=-126,emax=127",
        "p=40,emin=-126,emax=127", "p=51,emin=-126,emax=127",
    };
    /* forward logits, gradient of the hidden layer, of the classifier */
    static const size_t shapes[][3] = {{264, 23, 128}, {264, 128, 23},
                                       {23, 128, 264}};
    printf("%-26s %-18s %-5s %8s %8s %7s %s\n", "format", "m x n x k", "",
           "ns/mac", "scalar", "ratio", "differ");
    for (size_t f = 0; f < sizeof specs / sizeof *specs; f++)
        for (size_t s = 0; s < 3; s++)
            for (int tiny = 0; tiny < 2; tiny++)
                bench(specs[f], shapes[s][0], shapes[s][1], shapes[s][2],
                      tiny);
    return 0;
}
