/* nfi: benchmark of the fused matrix-product kernels (sim/matmul_fast.c)
 * on the shapes of the canonical run's MLP (264 samples, 128 hidden, 23
 * classes): the logits H W2^T, the input gradient dZ W2 and the weight
 * gradient dZ^T H, and the bias gradient's column sums.
 *
 * Usage: bench_matmul [FORMAT [SCALE]]; FORMAT defaults to p=20 with
 * binary32's exponent range, SCALE (default 1) multiplies every operand:
 * 1e-19 puts most results of p=20 in the subnormal range, as late in a
 * run.  Prints CPU nanoseconds per multiply-add (per addition for the
 * column sums), the best of several repetitions.  It asserts nothing: a
 * measuring program, not a test (tests/kernels/test_matmul_fast checks
 * the kernels' results). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "format.h"
#include "matmul.h"

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t state = 0x9e3779b97f4a7c15ULL;

static double uniform(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) * 0x1p-53 - 0.5;
}

static void fill(nfi_arith *a, double scale, size_t n, double *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] = nfi_arith_round(a, uniform() * scale);
}

int main(int argc, char **argv)
{
    const char *spec = argc > 1 ? argv[1] : "p=20,emin=-126,emax=127";
    double scale = argc > 2 ? atof(argv[2]) : 1.0;
    nfi_format f;
    nfi_error err;
    nfi_arith acc;
    nfi_reduction order;
    if (nfi_format_parse(spec, &f, &err) != 0 ||
        nfi_arith_init(&acc, &f, NFI_ROUND_RNE, 0, false, &err) != 0 ||
        nfi_reduction_parse("sequential", &order, &err) != 0) {
        fprintf(stderr, "bench_matmul: %s\n", err.message);
        return 2;
    }
    enum { N = 264, H = 128, K = 23 };
    double *h = malloc(N * H * sizeof *h), *w = malloc(K * H * sizeof *w);
    double *d = malloc(N * K * sizeof *d), *out = malloc(N * H * sizeof *out);
    if (!h || !w || !d || !out)
        return 1;
    fill(&acc, scale, N * H, h);
    fill(&acc, scale, K * H, w);
    fill(&acc, scale, N * K, d);
    struct {
        const char *name;
        size_t m, n, k;
        nfi_matrix_view a, b;
    } cases[] = {
        {"logits H W^T   ", N, K, H, {h, H, 1, NULL}, {w, H, 1, NULL}},
        {"input grad dZ W", N, H, K, {d, K, 1, NULL}, {w, 1, H, NULL}},
        {"weight grad dZ^T H", K, H, N, {d, 1, K, NULL}, {h, 1, H, NULL}},
    };
    printf("format %s, operand scale %g\n", spec, scale);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double best = INFINITY;
        for (int rep = 0; rep < 15; rep++) {
            double t0 = cpu_seconds();
            nfi_matmul(&acc, &acc, &order, cases[c].m, cases[c].n,
                       cases[c].k, cases[c].a, cases[c].b, NULL, NULL, out);
            double t = cpu_seconds() - t0;
            best = t < best ? t : best;
        }
        double ops = (double)cases[c].m * cases[c].n * cases[c].k;
        printf("%-20s %7.3f ns per multiply-add, %7.1f us per call\n",
               cases[c].name, 1e9 * best / ops, 1e6 * best);
    }
    double best = INFINITY;
    for (int rep = 0; rep < 15; rep++) {
        double t0 = cpu_seconds();
        nfi_column_sums(&acc, &acc, &order, N, H, h, out);
        double t = cpu_seconds() - t0;
        best = t < best ? t : best;
    }
    printf("%-20s %7.3f ns per addition,     %7.1f us per call\n",
           "column sums", 1e9 * best / (N * H), 1e6 * best);
    free(h);
    free(w);
    free(d);
    free(out);
    return 0;
}
