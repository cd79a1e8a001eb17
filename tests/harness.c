/* nfi tests: the shared harness.  See harness.h. */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_fast.h"
#include "engine_mpfr.h"

static const char *test_name = "test";
static uint64_t test_seed;
static uint64_t n_checks, n_failures;
static struct timespec start_time;
static uint64_t print_limit = HARNESS_MAX_PRINTED;

void harness_init(const char *name, uint64_t default_seed)
{
    test_name = name;
    test_seed = default_seed;
    const char *env = getenv("NFI_TEST_SEED");
    if (env != NULL && *env != '\0') {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(env, &end, 0);
        if (errno != 0 || *end != '\0') {
            fprintf(stderr, "%s: NFI_TEST_SEED='%s' is not a whole number\n",
                    name, env);
            exit(2);
        }
        test_seed = v;
    }
    const char *limit = getenv("NFI_TEST_PRINT_LIMIT");
    if (limit != NULL && *limit != '\0')
        print_limit = strtoull(limit, NULL, 10);
    clock_gettime(CLOCK_MONOTONIC, &start_time);
    /* Full buffering would lose the order of failure lines against the
     * summary when both streams go to one log. */
    setvbuf(stdout, NULL, _IOLBF, 0);
}

uint64_t harness_seed(void)
{
    return test_seed;
}

uint64_t harness_checks(void)
{
    return n_checks;
}

uint64_t harness_failures(void)
{
    return n_failures;
}

double harness_elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start_time.tv_sec) +
           1e-9 * (double)(now.tv_nsec - start_time.tv_nsec);
}

int harness_finish(void)
{
    printf("%s: %llu checks, %llu failures (seed %llu) in %.2f s\n",
           test_name, (unsigned long long)n_checks,
           (unsigned long long)n_failures, (unsigned long long)test_seed,
           harness_elapsed());
    if (n_checks == 0) {
        printf("%s: no check was made\n", test_name);
        return 1;
    }
    return n_failures == 0 ? 0 : 1;
}

/* Counts a check; returns whether its failure should be printed. */
static bool count(bool ok)
{
    n_checks++;
    if (ok)
        return false;
    n_failures++;
    if (n_failures == print_limit + 1)
        printf("%s: more failures follow; only the first %llu are printed "
               "(NFI_TEST_PRINT_LIMIT raises the limit)\n", test_name,
               (unsigned long long)print_limit);
    return n_failures <= print_limit;
}

static void print_prefix(void)
{
    printf("FAIL %s (seed %llu): ", test_name,
           (unsigned long long)test_seed);
}

bool check_true(bool ok, const char *fmt, ...)
{
    if (!count(ok))
        return ok;
    print_prefix();
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return ok;
}

bool same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

bool same_mpfr(mpfr_srcptr a, mpfr_srcptr b)
{
    if (mpfr_nan_p(a) || mpfr_nan_p(b))
        return mpfr_nan_p(a) && mpfr_nan_p(b);
    return mpfr_equal_p(a, b) && !mpfr_signbit(a) == !mpfr_signbit(b);
}

static void print_format_and_op(const nfi_format *f, nfi_round mode,
                                nfi_op op)
{
    char spec[160];
    nfi_format_spell(f, spec, sizeof spec);
    printf("format %s, mode %s, %s", spec, nfi_round_name(mode),
           nfi_op_name(op));
}

bool check_op(const char *label, const nfi_format *f, nfi_round mode,
              nfi_op op, const double *operands, double expected,
              double got)
{
    bool ok = same_double(expected, got);
    if (!count(ok))
        return ok;
    print_prefix();
    printf("%s: ", label);
    print_format_and_op(f, mode, op);
    int arity = nfi_op_arity(op);
    for (int i = 0; i < arity; i++)
        printf("%s%a", i == 0 ? "(" : ", ", operands[i]);
    printf("): expected %a, got %a\n", expected, got);
    return ok;
}

bool check_op_mpfr(const char *label, const nfi_format *f, nfi_round mode,
                   nfi_op op, mpfr_srcptr *operands, mpfr_srcptr expected,
                   mpfr_srcptr got)
{
    bool ok = same_mpfr(expected, got);
    if (!count(ok))
        return ok;
    print_prefix();
    printf("%s: ", label);
    print_format_and_op(f, mode, op);
    int arity = nfi_op_arity(op);
    for (int i = 0; i < arity; i++)
        mpfr_printf("%s%Ra", i == 0 ? "(" : ", ", operands[i]);
    mpfr_printf("): expected %Ra, got %Ra\n", expected, got);
    return ok;
}

bool check_double(double expected, double got, const char *fmt, ...)
{
    bool ok = same_double(expected, got);
    if (!count(ok))
        return ok;
    print_prefix();
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(": expected %a, got %a\n", expected, got);
    return ok;
}

nfi_format harness_format(const char *spec)
{
    nfi_format f;
    nfi_error err;
    if (nfi_format_parse(spec, &f, &err) != 0) {
        printf("FAIL %s: format '%s' does not parse: %s\n", test_name, spec,
               err.message);
        exit(1);
    }
    return f;
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_init(test_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t state = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&state);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(test_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t rng_below(test_rng *r, uint64_t n)
{
    /* Rejection keeps the draw exactly uniform. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = rng_next(r);
    } while (x >= limit);
    return x % n;
}

long rng_range(test_rng *r, long lo, long hi)
{
    return lo + (long)rng_below(r, (uint64_t)(hi - lo) + 1);
}

double rng_unit(test_rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

double exact_scaled(uint64_t m, int e)
{
    return ldexp((double)m, e);
}

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    if (a < b || (a == b && signbit(a) && !signbit(b)))
        return -1;
    if (a > b || (a == b && !signbit(a) && signbit(b)))
        return 1;
    return 0;
}

double *format_values(const nfi_format *f, size_t *n)
{
    int p = (int)f->p, emin = (int)f->emin, emax = (int)f->emax;
    uint64_t binade = 1ULL << (p - 1);
    size_t positive = (size_t)binade * (size_t)(emax - emin + 1) -
                      (size_t)f->reserved_top;
    if (f->subnormals)
        positive += binade - 1;
    size_t total = 2 * positive + 2 + (f->has_inf ? 2 : 0) + 1;
    double *v = malloc(total * sizeof *v);
    if (v == NULL) {
        printf("FAIL %s: out of memory\n", test_name);
        exit(1);
    }
    size_t k = 0;
    v[k++] = 0.0;
    v[k++] = -0.0;
    if (f->subnormals) {
        for (uint64_t m = 1; m < binade; m++) {
            double x = exact_scaled(m, emin - p + 1);
            v[k++] = x;
            v[k++] = -x;
        }
    }
    for (int e = emin; e <= emax; e++) {
        uint64_t top = 2 * binade;
        if (e == emax)
            top -= (uint64_t)f->reserved_top;
        for (uint64_t m = binade; m < top; m++) {
            double x = exact_scaled(m, e - p + 1);
            v[k++] = x;
            v[k++] = -x;
        }
    }
    if (f->has_inf) {
        v[k++] = INFINITY;
        v[k++] = -INFINITY;
    }
    qsort(v, k, sizeof *v, compare_doubles);
    v[k++] = NAN;
    *n = k;
    return v;
}

double format_ulp(const nfi_format *f, double x)
{
    int e;
    frexp(fabs(x), &e); /* |x| in [2^(e-1), 2^e) */
    e -= 1;
    if (x == 0.0 || e < f->emin)
        return f->subnormals ? ldexp(1.0, (int)(f->emin - f->p + 1))
                             : ldexp(1.0, (int)f->emin);
    return ldexp(1.0, e - (int)(f->p - 1));
}

double truncate_to_format(const nfi_format *f, double x)
{
    double a = fabs(x);
    if (!f->subnormals && a < ldexp(1.0, (int)f->emin))
        return copysign(0.0, x);
    double q = format_ulp(f, a);
    double t = trunc(a / q) * q; /* a / q is exact: q a power of two */
    return copysign(t, x);
}

double check_fast_vs_mpfr(nfi_fast *ctx, nfi_op op, double a, double b,
                          double c)
{
    uint64_t index = ctx->counter;
    double got = nfi_fast_op(ctx, op, a, b, c);
    bool rounds = op != NFI_OP_NEG && op != NFI_OP_ABS &&
                  op != NFI_OP_MIN && op != NFI_OP_MAX;
    bool sr = ctx->mode == NFI_ROUND_SR;
    uint32_t u = sr ? nfi_sr_bits(ctx->seed, index) : 0;
    double want = nfi_mpfr_op_d(op, a, b, c, &ctx->format, ctx->mode, u);
    uint64_t used = ctx->counter - index;
    double operands[3] = {a, b, c};
    if (used == (sr && rounds ? 1u : 0u)) {
        check_op("fast vs mpfr", &ctx->format, ctx->mode, op, operands,
                 want, got);
    } else {
        char spec[160];
        nfi_format_spell(&ctx->format, spec, sizeof spec);
        check_true(false, "fast engine, format %s, mode %s, %s(%a, %a, %a) "
                   "took %llu stochastic indices", spec,
                   nfi_round_name(ctx->mode), nfi_op_name(op), a, b, c,
                   (unsigned long long)used);
        ctx->counter = index + (sr && rounds ? 1 : 0);
    }
    return want;
}
