/* nfi: engine benchmark.
 *
 * Times the MPFR, fast and native engines against plain C arithmetic on
 * arrays of random format values, in one thread, and prints nanoseconds
 * per operation, the ratios between engines and whether the performance
 * targets are met.  It asserts nothing: it is a measuring program, not a
 * test.  It does count, as a by-product, results of the fast and native
 * engines that differ from the MPFR engine's, and prints them, because a
 * timing of wrong results would mean nothing.
 *
 * Method.  Every figure is the best of several runs over the whole
 * array, timed with CLOCK_MONOTONIC and divided by the element count; the
 * best run is the one least disturbed by the rest of the machine (page
 * faults of a first touch, another process on the core).  Runs repeat
 * until a minimum count and a minimum total time are both reached, so a
 * loop of a fraction of a millisecond gets many chances.  The MPFR
 * engine is one to two orders of magnitude slower, so it runs on a tenth
 * of the elements (the first ones of the same arrays); a per-operation
 * figure does not depend on the count once a run lasts far longer than a
 * clock reading, and MPFR's work does not depend on the cache.  Results
 * are folded into a volatile checksum, so the compiler cannot drop the
 * plain C loops. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmp.h>
#include <mpfr.h>

#include "engine_fast.h"
#include "engine_mpfr.h"
#include "engine_native.h"
#include "format.h"
#include "round.h"

#define DEFAULT_SEED 20240601ULL
#define FAST_ELEMENTS 1000000
#define MPFR_ELEMENTS 100000
#define QUICK_DIVISOR 10
#define FAST_REPS 5 /* at least, for fast, native and plain C */
#define MPFR_REPS 3 /* at least */
#define MIN_SECONDS 0.2 /* per measurement, at least (quick: a tenth) */
#define MAX_REPS 100000

/* Value ranges: |x| = m 2^k, m in [1, 2), k uniform in [lo, hi].  Sums
 * and products of the add/mul values stay far inside binary16's range
 * (products below 2^8).  A dot product of 10^6 terms with random signs
 * grows like sqrt(n) times a typical product; the smaller dot values keep
 * that near 10^3, below binary16's largest value 65504. */
#define ARITH_K_LO (-3)
#define ARITH_K_HI 3
#define DOT_K_LO (-4)
#define DOT_K_HI 0
#define EXP_ARG_MAX 10.0 /* exp arguments in [-10, 10]: finite results */
#define CVT_K_LO (-14)   /* binary16's normal range, for both formats */
#define CVT_K_HI 14

/* Reference figures for rounding arrays, measured on one core of the
 * machine the targets were set for; printed as context only. */
#define REF_LIB_BF16_NS 3.3
#define REF_LIB_BINARY16_NS 5.1
#define REF_MPFR_NS 62.0

/* Targets. */
#define TARGET_ROUND_NS 1.0
#define TARGET_SPEEDUP_ARITH 50.0 /* mpfr / fast, add and mul */
#define TARGET_SPEEDUP_EXP 20.0   /* mpfr / fast, exp */
#define TARGET_NATIVE_RATIO 1.2   /* native / plain float */

typedef enum bench_op {
    BENCH_ADD, BENCH_MUL, BENCH_DOT, BENCH_EXP, BENCH_ROUND
} bench_op;

static const char *const bench_op_names[] = {
    "add", "mul", "dot", "exp", "round"};

typedef enum engine_id {
    ENGINE_MPFR, ENGINE_FAST, ENGINE_NATIVE, ENGINE_DOUBLE, ENGINE_FLOAT,
    ENGINE_COUNT
} engine_id;

/* Engine names in the CSV output; the float column of the rounding rows
 * is the C conversion (float)x. */
static const char *const engine_names[ENGINE_COUNT] = {
    "mpfr", "fast", "native", "double", "float"};

typedef struct options {
    size_t n;      /* elements for fast, native and plain C */
    size_t n_mpfr; /* elements for the MPFR engine */
    uint64_t seed;
    double min_seconds; /* per measurement */
    double loadavg;     /* 1-minute load average at start, -1 unknown */
    bool csv;
} options;

/* A benchmarked format: the label of the table and its specification. */
typedef struct bench_format {
    const char *label;
    const char *spec;
} bench_format;

static const bench_format formats[] = {
    {"bfloat16", "bfloat16"},
    {"binary16", "binary16"},
    {"binary32", "binary32"},
    {"p=20", "p=20,emin=-126,emax=127"},
    {"p=40", "p=40,emin=-126,emax=127"},
};

#define N_FORMATS (sizeof formats / sizeof formats[0])

/* One line of the table. */
typedef struct row {
    const bench_format *format;
    bench_op op;
    nfi_round mode;
    double ns[ENGINE_COUNT];  /* per operation; NAN where not measured */
    size_t n[ENGINE_COUNT];   /* elements timed */
    int reps[ENGINE_COUNT];   /* runs, of which the best is kept */
    double fallbacks;         /* fast engine, per run of n elements */
    size_t ops_per_run;       /* rounded operations in one fast run */
    long mismatches;          /* fast vs mpfr, -1 when not compared */
    size_t compared;
    long native_mismatches;   /* native vs fast, -1 when not compared */
} row;

#define MAX_ROWS 40

/* The arrays one measurement works on.  Which fields are read depends on
 * the engine and the operation; the MPFR arrays hold the first elements
 * of the double arrays. */
typedef struct work {
    bench_op op;
    nfi_round mode;
    const nfi_format *format;
    uint64_t seed;
    size_t n;
    nfi_fast *ctx;
    const double *a, *b;  /* (n) operands; b unused by exp and round */
    double *out;          /* (n) */
    const float *af, *bf; /* (n) binary32 operands */
    float *outf;          /* (n) */
    mpfr_t *ma, *mb;      /* (n_mpfr) */
    mpfr_t *mout;         /* (n_mpfr) */
    mpfr_t macc, mprod;   /* MPFR dot product accumulator and product */
    double result;        /* dot products */
} work;

static volatile double checksum_sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Random numbers from the counter-based generator of stochastic rounding:
 * reproducible from the seed alone. */
typedef struct rng {
    uint64_t seed;
    uint64_t index;
} rng;

static uint64_t rng_u64(rng *r)
{
    uint64_t hi = nfi_sr_bits(r->seed, r->index++);
    return hi << 32 | nfi_sr_bits(r->seed, r->index++);
}

/* Uniform in [0, 1) on the grid 2^-53. */
static double rng_unit(rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1p-53;
}

/* A random binary64 number m 2^k with m uniform in [1, 2) (all 52
 * fraction bits random), k uniform in [k_lo, k_hi], random sign. */
static double random_scaled(rng *r, int k_lo, int k_hi)
{
    uint64_t bits = rng_u64(r);
    int k = k_lo + (int)((bits >> 52) % (uint64_t)(k_hi - k_lo + 1));
    double m = 1.0 + (double)(bits & ((1ULL << 52) - 1)) * 0x1p-52;
    double x = ldexp(m, k);
    return (rng_u64(r) & 1) ? -x : x;
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "bench_engines: out of memory (%zu bytes)\n", size);
        exit(1);
    }
    return p;
}

static mpfr_t *mpfr_array(size_t n, mpfr_prec_t prec, const double *init)
{
    mpfr_t *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        mpfr_init2(v[i], prec);
        mpfr_set_d(v[i], init != NULL ? init[i] : 0.0, MPFR_RNDN);
    }
    return v;
}

static void mpfr_array_free(mpfr_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

static bool same_bits(double x, double y)
{
    if (isnan(x) || isnan(y))
        return isnan(x) && isnan(y);
    return memcmp(&x, &y, sizeof x) == 0;
}

/* The stochastic-rounding bits of the operation with this index, as the
 * fast engine draws them (none outside SR). */
static uint32_t sr_bits(const work *w, uint64_t index)
{
    return w->mode == NFI_ROUND_SR ? nfi_sr_bits(w->seed, index) : 0;
}

/* The runners: one full pass of an operation over the arrays.  Kept out
 * of line so that each timed region is one opaque call. */

__attribute__((noinline)) static void run_mpfr(work *w)
{
    const nfi_format *f = w->format;
    if (w->op == BENCH_DOT) {
        /* The operation order of nfi_fast_dot: product 2i, sum 2i + 1. */
        mpfr_set_zero(w->macc, 1);
        for (size_t i = 0; i < w->n; i++) {
            nfi_mpfr_op(NFI_OP_MUL, w->mprod, w->ma[i], w->mb[i], NULL, f,
                        w->mode, sr_bits(w, 2 * i));
            nfi_mpfr_op(NFI_OP_ADD, w->macc, w->macc, w->mprod, NULL, f,
                        w->mode, sr_bits(w, 2 * i + 1));
        }
        w->result = mpfr_get_d(w->macc, MPFR_RNDN);
        return;
    }
    nfi_op op = w->op == BENCH_ADD ? NFI_OP_ADD :
                w->op == BENCH_MUL ? NFI_OP_MUL :
                w->op == BENCH_EXP ? NFI_OP_EXP : NFI_OP_CVT;
    bool binary = op == NFI_OP_ADD || op == NFI_OP_MUL;
    for (size_t i = 0; i < w->n; i++)
        nfi_mpfr_op(op, w->mout[i], w->ma[i], binary ? w->mb[i] : NULL,
                    NULL, f, w->mode, sr_bits(w, i));
}

__attribute__((noinline)) static void run_fast(work *w)
{
    switch (w->op) {
    case BENCH_ADD:
        nfi_fast_add_array(w->ctx, w->n, w->out, w->a, w->b);
        break;
    case BENCH_MUL:
        nfi_fast_mul_array(w->ctx, w->n, w->out, w->a, w->b);
        break;
    case BENCH_DOT:
        w->result = nfi_fast_dot(w->ctx, w->n, w->a, w->b);
        break;
    case BENCH_EXP:
        nfi_fast_exp_array(w->ctx, w->n, w->out, w->a);
        break;
    case BENCH_ROUND:
        nfi_fast_round_array(w->ctx, w->n, w->out, w->a);
        break;
    }
}

__attribute__((noinline)) static void run_native(work *w)
{
    switch (w->op) {
    case BENCH_ADD:
        nfi_native_add_f32(w->n, w->outf, w->af, w->bf);
        break;
    case BENCH_MUL:
        nfi_native_mul_f32(w->n, w->outf, w->af, w->bf);
        break;
    case BENCH_DOT:
        w->result = nfi_native_dot_f32(w->n, w->af, w->bf);
        break;
    default:
        break; /* the native engine has no exp or array rounding */
    }
}

/* Plain C double arithmetic: the same loops with no rounding into a
 * format.  The build has -ffp-contract=off, so the dot product keeps a
 * separate multiply and add, as the engines do. */
__attribute__((noinline)) static void run_double(work *w)
{
    size_t n = w->n;
    const double *a = w->a, *b = w->b;
    double *out = w->out;
    switch (w->op) {
    case BENCH_ADD:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] + b[i];
        break;
    case BENCH_MUL:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] * b[i];
        break;
    case BENCH_DOT: {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) {
            double prod = a[i] * b[i];
            acc = acc + prod;
        }
        w->result = acc;
        break;
    }
    case BENCH_EXP:
        for (size_t i = 0; i < n; i++)
            out[i] = exp(a[i]);
        break;
    case BENCH_ROUND:
        break;
    }
}

/* Plain C float code; for the rounding rows, the conversion (float)x,
 * the hardware's own binary64 to binary32 rounding. */
__attribute__((noinline)) static void run_float(work *w)
{
    size_t n = w->n;
    const float *a = w->af, *b = w->bf;
    float *out = w->outf;
    switch (w->op) {
    case BENCH_ADD:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] + b[i];
        break;
    case BENCH_MUL:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] * b[i];
        break;
    case BENCH_DOT: {
        float acc = 0.0f;
        for (size_t i = 0; i < n; i++) {
            float prod = a[i] * b[i];
            acc = acc + prod;
        }
        w->result = acc;
        break;
    }
    case BENCH_EXP:
        for (size_t i = 0; i < n; i++)
            out[i] = expf(a[i]);
        break;
    case BENCH_ROUND:
        for (size_t i = 0; i < n; i++)
            out[i] = (float)w->a[i];
        break;
    }
}

/* Folds what a run produced into the volatile sink. */
static void consume(const work *w, engine_id e)
{
    double sum = w->result;
    size_t step = w->n / 1024 + 1;
    for (size_t i = 0; i < w->n; i += step) {
        if (e == ENGINE_MPFR && w->op != BENCH_DOT)
            sum += mpfr_get_d(w->mout[i], MPFR_RNDN);
        else if (e == ENGINE_NATIVE || e == ENGINE_FLOAT)
            sum += w->outf[i];
        else
            sum += w->out[i];
    }
    checksum_sink = checksum_sink + sum;
}

/* Best of at least min_reps runs and min_seconds of running, in ns per
 * element; *reps receives the number of runs. */
static double time_best(void (*run)(work *), work *w, int min_reps,
                        double min_seconds, int *reps)
{
    double best = INFINITY, total = 0.0;
    int r = 0;
    while (r < min_reps || (total < min_seconds * 1e9 && r < MAX_REPS)) {
        double t0 = now_ns();
        run(w);
        double t = now_ns() - t0;
        if (t < best)
            best = t;
        total += t;
        r++;
    }
    *reps = r;
    return best / (double)w->n;
}

/* The data of one format: format values for each operation. */
typedef struct format_data {
    nfi_format format;
    size_t n, n_mpfr;
    double *a, *b;        /* (n) add, mul */
    double *da, *db;      /* (n) dot */
    double *ea;           /* (n) exp arguments */
    float *af, *bf, *daf, *dbf, *eaf; /* (n) binary32 copies, or NULL */
    mpfr_t *ma, *mb, *mda, *mdb, *mea; /* (n_mpfr) */
    double *out;          /* (n) scratch */
    float *outf;          /* (n) scratch */
    mpfr_t *mout;         /* (n_mpfr) scratch */
} format_data;

static float *float_copy(const double *x, size_t n)
{
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)x[i]; /* exact: x holds binary32 values */
    return v;
}

static void format_data_init(format_data *d, const nfi_format *f,
                             const options *opt, bool with_float)
{
    memset(d, 0, sizeof *d);
    d->format = *f;
    d->n = opt->n;
    d->n_mpfr = opt->n_mpfr;

    nfi_fast gen;
    nfi_error err;
    if (nfi_fast_init(&gen, f, NFI_ROUND_RNE, 0, &err) != 0) {
        fprintf(stderr, "bench_engines: %s\n", err.message);
        exit(1);
    }
    rng r = {opt->seed, 0};
    size_t n = d->n;
    d->a = xmalloc(n * sizeof *d->a);
    d->b = xmalloc(n * sizeof *d->b);
    d->da = xmalloc(n * sizeof *d->da);
    d->db = xmalloc(n * sizeof *d->db);
    d->ea = xmalloc(n * sizeof *d->ea);
    d->out = xmalloc(n * sizeof *d->out);
    d->outf = xmalloc(n * sizeof *d->outf);
    for (size_t i = 0; i < n; i++) {
        /* RNE rounding of binary64 numbers gives format values; the
         * draws are the same for every format, so the formats see the
         * same numbers rounded differently. */
        d->a[i] = nfi_fast_round(&gen,
                                 random_scaled(&r, ARITH_K_LO, ARITH_K_HI));
        d->b[i] = nfi_fast_round(&gen,
                                 random_scaled(&r, ARITH_K_LO, ARITH_K_HI));
        d->da[i] = nfi_fast_round(&gen,
                                  random_scaled(&r, DOT_K_LO, DOT_K_HI));
        d->db[i] = nfi_fast_round(&gen,
                                  random_scaled(&r, DOT_K_LO, DOT_K_HI));
        double t = (2.0 * rng_unit(&r) - 1.0) * EXP_ARG_MAX;
        d->ea[i] = nfi_fast_round(&gen, t);
    }
    if (with_float) {
        d->af = float_copy(d->a, n);
        d->bf = float_copy(d->b, n);
        d->daf = float_copy(d->da, n);
        d->dbf = float_copy(d->db, n);
        d->eaf = float_copy(d->ea, n);
    }
    mpfr_prec_t p = (mpfr_prec_t)f->p;
    d->ma = mpfr_array(d->n_mpfr, p, d->a);
    d->mb = mpfr_array(d->n_mpfr, p, d->b);
    d->mda = mpfr_array(d->n_mpfr, p, d->da);
    d->mdb = mpfr_array(d->n_mpfr, p, d->db);
    d->mea = mpfr_array(d->n_mpfr, p, d->ea);
    d->mout = mpfr_array(d->n_mpfr, p, NULL);
}

static void format_data_free(format_data *d)
{
    free(d->a);
    free(d->b);
    free(d->da);
    free(d->db);
    free(d->ea);
    free(d->out);
    free(d->outf);
    free(d->af);
    free(d->bf);
    free(d->daf);
    free(d->dbf);
    free(d->eaf);
    mpfr_array_free(d->ma, d->n_mpfr);
    mpfr_array_free(d->mb, d->n_mpfr);
    mpfr_array_free(d->mda, d->n_mpfr);
    mpfr_array_free(d->mdb, d->n_mpfr);
    mpfr_array_free(d->mea, d->n_mpfr);
    mpfr_array_free(d->mout, d->n_mpfr);
}

static void fast_init_or_die(nfi_fast *ctx, const nfi_format *f,
                             nfi_round mode, uint64_t seed)
{
    nfi_error err;
    if (nfi_fast_init(ctx, f, mode, seed, &err) != 0) {
        fprintf(stderr, "bench_engines: %s\n", err.message);
        exit(1);
    }
}

/* Points w at the operands of op in d. */
static void select_operands(work *w, const format_data *d, bench_op op)
{
    switch (op) {
    case BENCH_DOT:
        w->a = d->da;
        w->b = d->db;
        w->af = d->daf;
        w->bf = d->dbf;
        w->ma = d->mda;
        w->mb = d->mdb;
        break;
    case BENCH_EXP:
        w->a = d->ea;
        w->b = NULL;
        w->af = d->eaf;
        w->bf = NULL;
        w->ma = d->mea;
        w->mb = NULL;
        break;
    default:
        w->a = d->a;
        w->b = d->b;
        w->af = d->af;
        w->bf = d->bf;
        w->ma = d->ma;
        w->mb = d->mb;
        break;
    }
    w->out = d->out;
    w->outf = d->outf;
    w->mout = d->mout;
}

/* Runs the fast engine afresh (stochastic counter at 0, as the MPFR runs
 * assume) over the elements the MPFR engine computed and counts results
 * whose bits differ.  Uses the scratch output, not timed. */
static long compare_fast_mpfr(work *w, double mpfr_dot, size_t *compared)
{
    nfi_fast ctx;
    fast_init_or_die(&ctx, w->format, w->mode, w->seed);
    size_t n_saved = w->n;
    nfi_fast *ctx_saved = w->ctx;
    w->n = *compared;
    w->ctx = &ctx;
    run_fast(w);
    long bad = 0;
    if (w->op == BENCH_DOT) {
        bad = !same_bits(w->result, mpfr_dot);
        *compared = 1;
    } else {
        for (size_t i = 0; i < w->n; i++)
            bad += !same_bits(w->out[i], mpfr_get_d(w->mout[i], MPFR_RNDN));
    }
    w->n = n_saved;
    w->ctx = ctx_saved;
    return bad;
}

/* Measures every engine that applies to (format, op, mode) into r. */
static void measure_row(row *r, const bench_format *bf, format_data *d,
                        bench_op op, nfi_round mode, const options *opt)
{
    const nfi_format *f = &d->format;
    bool native = nfi_native_width(f, mode) == 32 && op != BENCH_EXP &&
                  op != BENCH_ROUND;
    bool with_float = d->af != NULL || op == BENCH_ROUND;
    double min_s = opt->min_seconds;

    memset(r, 0, sizeof *r);
    r->format = bf;
    r->op = op;
    r->mode = mode;
    for (int e = 0; e < ENGINE_COUNT; e++)
        r->ns[e] = NAN;
    r->mismatches = -1;
    r->native_mismatches = -1;
    int *reps = r->reps;

    nfi_fast ctx;
    fast_init_or_die(&ctx, f, mode, opt->seed);
    work w = {.op = op, .mode = mode, .format = f, .seed = opt->seed,
              .ctx = &ctx};
    select_operands(&w, d, op);
    mpfr_inits2((mpfr_prec_t)f->p, w.macc, w.mprod, (mpfr_ptr)0);

    w.n = d->n_mpfr;
    r->n[ENGINE_MPFR] = w.n;
    r->ns[ENGINE_MPFR] = time_best(run_mpfr, &w, MPFR_REPS, min_s,
                                   &reps[ENGINE_MPFR]);
    consume(&w, ENGINE_MPFR);
    double mpfr_dot = w.result;

    w.n = d->n;
    r->n[ENGINE_FAST] = w.n;
    uint64_t before = nfi_fast_fallbacks();
    r->ns[ENGINE_FAST] = time_best(run_fast, &w, FAST_REPS, min_s,
                                   &reps[ENGINE_FAST]);
    r->fallbacks = (double)(nfi_fast_fallbacks() - before) /
                   reps[ENGINE_FAST];
    r->ops_per_run = op == BENCH_DOT ? 2 * w.n : w.n;
    consume(&w, ENGINE_FAST);
    double fast_dot = w.result;

    if (native) {
        r->n[ENGINE_NATIVE] = w.n;
        r->ns[ENGINE_NATIVE] = time_best(run_native, &w, FAST_REPS, min_s,
                                       &reps[ENGINE_NATIVE]);
        consume(&w, ENGINE_NATIVE);
        /* w.out still holds the fast engine's last results. */
        long bad = 0;
        if (op == BENCH_DOT) {
            bad = !same_bits(w.result, fast_dot);
        } else {
            for (size_t i = 0; i < w.n; i++)
                bad += !same_bits(w.outf[i], w.out[i]);
        }
        r->native_mismatches = bad;
    }
    if (op != BENCH_ROUND) {
        r->n[ENGINE_DOUBLE] = w.n;
        r->ns[ENGINE_DOUBLE] = time_best(run_double, &w, FAST_REPS, min_s,
                                       &reps[ENGINE_DOUBLE]);
        consume(&w, ENGINE_DOUBLE);
    }
    if (with_float && mode == NFI_ROUND_RNE) {
        r->n[ENGINE_FLOAT] = w.n;
        r->ns[ENGINE_FLOAT] = time_best(run_float, &w, FAST_REPS, min_s,
                                       &reps[ENGINE_FLOAT]);
        consume(&w, ENGINE_FLOAT);
    }

    r->compared = d->n_mpfr;
    r->mismatches = compare_fast_mpfr(&w, mpfr_dot, &r->compared);
    mpfr_clears(w.macc, w.mprod, (mpfr_ptr)0);
}

/* Rounding of binary64 values into f: fast, mpfr and the (float)x
 * conversion for scale. */
static void measure_round_row(row *r, const bench_format *bf,
                              const nfi_format *f, const options *opt)
{
    format_data d;
    memset(&d, 0, sizeof d);
    d.format = *f;
    d.n = opt->n;
    d.n_mpfr = opt->n_mpfr;
    d.a = xmalloc(d.n * sizeof *d.a);
    d.out = xmalloc(d.n * sizeof *d.out);
    d.outf = xmalloc(d.n * sizeof *d.outf);
    rng g = {opt->seed ^ 0x5eedULL, 0};
    for (size_t i = 0; i < d.n; i++)
        d.a[i] = random_scaled(&g, CVT_K_LO, CVT_K_HI);
    /* The operand keeps all 53 bits: cvt takes any exact value. */
    d.ma = mpfr_array(d.n_mpfr, 53, d.a);
    d.mout = mpfr_array(d.n_mpfr, (mpfr_prec_t)f->p, NULL);
    d.b = NULL;
    measure_row(r, bf, &d, BENCH_ROUND, NFI_ROUND_RNE, opt);
    free(d.a);
    free(d.out);
    free(d.outf);
    mpfr_array_free(d.ma, d.n_mpfr);
    mpfr_array_free(d.mout, d.n_mpfr);
}

/* Ratios: NAN when either side is missing. */
static double ratio(double num, double den)
{
    if (isnan(num) || isnan(den) || den <= 0.0)
        return NAN;
    return num / den;
}

static double speedup(const row *r)
{
    return ratio(r->ns[ENGINE_MPFR], r->ns[ENGINE_FAST]);
}

static double fast_vs_double(const row *r)
{
    return ratio(r->ns[ENGINE_FAST], r->ns[ENGINE_DOUBLE]);
}

static double native_vs_float(const row *r)
{
    return ratio(r->ns[ENGINE_NATIVE], r->ns[ENGINE_FLOAT]);
}

/* A target: a measured value with a limit, met or not. */
typedef struct target {
    const char *what;  /* e.g. "mpfr/fast >= 50x" */
    const char *metric;
    const row *r;
    double value;
    double limit;
    bool at_least;     /* value >= limit, else value <= limit */
} target;

#define MAX_TARGETS 32

static bool target_met(const target *t)
{
    if (isnan(t->value))
        return false;
    return t->at_least ? t->value >= t->limit : t->value <= t->limit;
}

static int collect_targets(const row *rows, int n_rows, target *out)
{
    int n = 0;
    for (int i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        if (r->mode != NFI_ROUND_RNE)
            continue; /* the non-RNE rows are shown for information */
        if (r->op == BENCH_ADD || r->op == BENCH_MUL)
            out[n++] = (target){"mpfr/fast >= 50x", "speedup", r,
                                speedup(r), TARGET_SPEEDUP_ARITH, true};
        if (r->op == BENCH_EXP)
            out[n++] = (target){"mpfr/fast >= 20x", "speedup", r,
                                speedup(r), TARGET_SPEEDUP_EXP, true};
        if (!isnan(r->ns[ENGINE_NATIVE]))
            out[n++] = (target){"native/float <= 1.2x", "native_vs_float",
                                r, native_vs_float(r), TARGET_NATIVE_RATIO,
                                false};
        if (r->op == BENCH_ROUND)
            out[n++] = (target){"fast <= 1 ns/element", "fast_ns", r,
                                r->ns[ENGINE_FAST], TARGET_ROUND_NS, false};
    }
    return n;
}

/* Table output. */

static void print_ns(double ns)
{
    if (isnan(ns))
        printf(" %7s", "-");
    else if (ns >= 1000.0)
        printf(" %7.0f", ns);
    else
        printf(" %7.2f", ns);
}

static void print_ratio(double x)
{
    if (isnan(x))
        printf(" %9s", "-");
    else if (x >= 100.0)
        printf(" %8.0fx", x);
    else
        printf(" %8.2fx", x);
}

static void print_fallbacks(const row *r)
{
    if (r->fallbacks == 0.0) {
        printf(" %15s", "0");
        return;
    }
    char buf[48];
    snprintf(buf, sizeof buf, "%.0f (%.2f%%)", r->fallbacks,
             100.0 * r->fallbacks / (double)r->ops_per_run);
    printf(" %15s", buf);
}

static void print_header(const options *opt)
{
    printf("nfi engine benchmark, one thread; each figure is the best of "
           "at least %d runs\n  (mpfr engine: %d) and %.2f s of running\n",
           FAST_REPS, MPFR_REPS, opt->min_seconds);
    printf("arrays: %zu elements for fast, native and plain C; %zu for "
           "the mpfr engine\n  (its time is scaled to ns per operation "
           "as well); seed %llu (--seed=N)\n", opt->n, opt->n_mpfr,
           (unsigned long long)opt->seed);
    printf("values: random format values m*2^k, m in [1, 2), k in "
           "[%d, %d] (add, mul),\n  [%d, %d] (dot); exp arguments in "
           "[-%g, %g]; all rounded into the format\n", ARITH_K_LO,
           ARITH_K_HI, DOT_K_LO, DOT_K_HI, EXP_ARG_MAX, EXP_ARG_MAX);
    printf("dot: sequential acc = round(acc + round(a*b)), ns per element "
           "(a product and a sum)\n");
    printf("p=20, p=40: binary32's exponent range, "
           "\"p=20,emin=-126,emax=127\"\n");
    /* Other work on the machine inflates every figure; the load average
     * tells the reader how far to trust them. */
    if (opt->loadavg >= 0.0)
        printf("load average at start: %.2f\n", opt->loadavg);
    printf("\n");
}

static void print_ops_table(const row *rows, int n_rows)
{
    printf("%-21s %-39s %-29s\n", "",
           "---------- ns per operation ---------",
           "---------- ratios -----------");
    printf("%-8s %-4s %-5s %7s %7s %7s %7s %7s %9s %9s %9s %15s\n",
           "format", "op", "round", "mpfr", "fast", "native", "double",
           "float", "mpfr/fast", "fast/dbl", "nat/float", "fast fallbacks");
    for (int i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        if (r->op == BENCH_ROUND)
            continue;
        if (i > 0 && rows[i - 1].format != r->format)
            printf("\n");
        printf("%-8s %-4s %-5s", r->format->label, bench_op_names[r->op],
               nfi_round_name(r->mode));
        for (int e = 0; e < ENGINE_COUNT; e++)
            print_ns(r->ns[e]);
        print_ratio(speedup(r));
        print_ratio(fast_vs_double(r));
        print_ratio(native_vs_float(r));
        print_fallbacks(r);
        printf("\n");
    }
    printf("\nmpfr/fast: speedup of the fast engine over the mpfr engine; "
           "fast/dbl: cost of the\n  fast engine relative to plain C "
           "double code; nat/float: native binary32 engine\n  relative to "
           "plain C float code.  fast fallbacks: operations handed to "
           "MPFR per\n  run, and their share (a dot element is two "
           "operations).  exp in double and\n  float: the C library's exp "
           "and expf (not correctly rounded); the native engine\n  has no "
           "exp of its own.\n");
}

static void print_round_table(const row *rows, int n_rows)
{
    printf("\nrounding binary64 -> format, RNE, nfi_fast_round_array; "
           "random binary64 values\n  m*2^k, k in [%d, %d]; mpfr: "
           "nfi_mpfr_op cvt; (float)x: C's conversion to binary32,\n"
           "  for scale\n\n", CVT_K_LO, CVT_K_HI);
    printf("%-8s %7s %7s %9s %8s %15s\n", "format", "mpfr", "fast",
           "mpfr/fast", "(float)x", "fast fallbacks");
    for (int i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        if (r->op != BENCH_ROUND)
            continue;
        printf("%-8s", r->format->label);
        print_ns(r->ns[ENGINE_MPFR]);
        print_ns(r->ns[ENGINE_FAST]);
        print_ratio(speedup(r));
        printf(" ");
        print_ns(r->ns[ENGINE_FLOAT]);
        print_fallbacks(r);
        printf("\n");
    }
    printf("context: the best known C custom-precision rounding library "
           "takes about %.1f ns\n  per element for bfloat16 and %.1f for "
           "binary16 on one core of this machine;\n  MPFR about %.0f ns\n",
           REF_LIB_BF16_NS, REF_LIB_BINARY16_NS, REF_MPFR_NS);
}

static void print_checks(const row *rows, int n_rows)
{
    bool any_mismatch = false;
    for (int i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        if (r->mismatches > 0) {
            printf("%sWARNING: fast and mpfr engines differ on %ld of %zu "
                   "results: %s %s %s\n", any_mismatch ? "" : "\n",
                   r->mismatches, r->compared, r->format->label,
                   bench_op_names[r->op], nfi_round_name(r->mode));
            any_mismatch = true;
        }
        if (r->native_mismatches > 0) {
            printf("%sWARNING: native and fast engines differ on %ld "
                   "results: %s %s\n", any_mismatch ? "" : "\n",
                   r->native_mismatches, r->format->label,
                   bench_op_names[r->op]);
            any_mismatch = true;
        }
    }
    if (!any_mismatch)
        printf("\nchecks: fast identical to mpfr on every compared result, "
               "native identical to fast\n");
}

static void print_targets(const row *rows, int n_rows)
{
    target t[MAX_TARGETS];
    int n_t = collect_targets(rows, n_rows, t);
    int met = 0;
    printf("\ntargets (RNE rows)\n");
    for (int i = 0; i < n_t; i++) {
        bool ok = target_met(&t[i]);
        met += ok;
        char value[32];
        if (strcmp(t[i].metric, "fast_ns") == 0)
            snprintf(value, sizeof value, "%.2f ns", t[i].value);
        else
            snprintf(value, sizeof value, "%.2fx", t[i].value);
        printf("  %-22s %-8s %-5s %10s  %s\n", t[i].what,
               t[i].r->format->label, bench_op_names[t[i].r->op], value,
               ok ? "met" : "NOT MET");
    }
    printf("  %d of %d targets met\n", met, n_t);
}

static void print_table(const row *rows, int n_rows, const options *opt)
{
    print_header(opt);
    print_ops_table(rows, n_rows);
    print_round_table(rows, n_rows);
    print_checks(rows, n_rows);
    print_targets(rows, n_rows);
}

/* CSV output: one record per timing, per ratio and per comparison, with
 * the columns that do not apply left empty. */
static void print_csv(const row *rows, int n_rows)
{
    printf("record,format,op,round,engine,n,runs,ns_per_op,"
           "fallbacks_per_run,ops_per_run,metric,value,limit,met\n");
    for (int i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        const char *fmt = r->format->spec;
        const char *op = bench_op_names[r->op];
        const char *mode = nfi_round_name(r->mode);
        for (int e = 0; e < ENGINE_COUNT; e++) {
            if (isnan(r->ns[e]))
                continue;
            printf("time,\"%s\",%s,%s,%s,%zu,%d,%.4f,", fmt, op, mode,
                   engine_names[e], r->n[e], r->reps[e], r->ns[e]);
            if (e == ENGINE_FAST)
                printf("%.1f,%zu", r->fallbacks, r->ops_per_run);
            else
                printf(",");
            printf(",,,,\n");
        }
        struct {
            const char *metric;
            double value;
        } ratios[] = {
            {"mpfr_over_fast", speedup(r)},
            {"fast_over_double", fast_vs_double(r)},
            {"native_over_float", native_vs_float(r)},
        };
        for (size_t k = 0; k < sizeof ratios / sizeof ratios[0]; k++) {
            if (!isnan(ratios[k].value))
                printf("ratio,\"%s\",%s,%s,,,,,,,%s,%.4f,,\n", fmt, op, mode,
                       ratios[k].metric, ratios[k].value);
        }
        printf("check,\"%s\",%s,%s,fast,%zu,,,,,mismatches_vs_mpfr,%ld,,\n",
               fmt, op, mode, r->compared, r->mismatches);
        if (r->native_mismatches >= 0)
            printf("check,\"%s\",%s,%s,native,%zu,,,,,mismatches_vs_fast,"
                   "%ld,,\n", fmt, op, mode, r->n[ENGINE_NATIVE],
                   r->native_mismatches);
    }
    target t[MAX_TARGETS];
    int n_t = collect_targets(rows, n_rows, t);
    for (int i = 0; i < n_t; i++)
        printf("target,\"%s\",%s,%s,,,,,,,%s,%.4f,%s%.1f,%s\n",
               t[i].r->format->spec, bench_op_names[t[i].r->op],
               nfi_round_name(t[i].r->mode), t[i].metric, t[i].value,
               t[i].at_least ? ">=" : "<=", t[i].limit,
               target_met(&t[i]) ? "yes" : "no");
    printf("context,bfloat16,round,rne,best_known_c_library,,,%.1f,,,,,,\n",
           REF_LIB_BF16_NS);
    printf("context,binary16,round,rne,best_known_c_library,,,%.1f,,,,,,\n",
           REF_LIB_BINARY16_NS);
    printf("context,,round,rne,mpfr_reference,,,%.1f,,,,,,\n", REF_MPFR_NS);
}

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bench_engines [--quick] [--csv] [--seed=N] [--help]\n"
        "Times nfi's mpfr, fast and native engines against plain C on\n"
        "random format values (bfloat16, binary16, binary32, p=20 and\n"
        "p=40 with binary32's range), one thread, and prints ns per\n"
        "operation, ratios and the performance targets.\n"
        "  --quick   arrays 10 times smaller, for a smoke run\n"
        "  --csv     machine-readable records instead of the table\n"
        "  --seed=N  seed of the random values (default %llu)\n"
        "  --help    this text\n", (unsigned long long)DEFAULT_SEED);
}

static int parse_options(int argc, char **argv, options *opt)
{
    opt->n = FAST_ELEMENTS;
    opt->n_mpfr = MPFR_ELEMENTS;
    opt->seed = DEFAULT_SEED;
    opt->min_seconds = MIN_SECONDS;
    opt->csv = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(arg, "--quick") == 0) {
            opt->n = FAST_ELEMENTS / QUICK_DIVISOR;
            opt->n_mpfr = MPFR_ELEMENTS / QUICK_DIVISOR;
            opt->min_seconds = MIN_SECONDS / QUICK_DIVISOR;
        } else if (strcmp(arg, "--csv") == 0) {
            opt->csv = true;
        } else if (strncmp(arg, "--seed=", 7) == 0) {
            char *end;
            unsigned long long s = strtoull(arg + 7, &end, 0);
            if (arg[7] == '\0' || *end != '\0') {
                fprintf(stderr, "bench_engines: '%s' is not a seed; "
                        "example: --seed=42\n", arg);
                return -1;
            }
            opt->seed = s;
        } else {
            fprintf(stderr, "bench_engines: unknown option '%s'\n", arg);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

static void parse_format_or_die(const char *spec, nfi_format *f)
{
    nfi_error err;
    if (nfi_format_parse(spec, f, &err) != 0) {
        fprintf(stderr, "bench_engines: %s\n", err.message);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    options opt;
    if (parse_options(argc, argv, &opt) != 0)
        return 2;
    double load[1];
    opt.loadavg = getloadavg(load, 1) == 1 ? load[0] : -1.0;

    static row rows[MAX_ROWS];
    int n_rows = 0;
    double start = now_ns();
    static const bench_op ops[] = {BENCH_ADD, BENCH_MUL, BENCH_DOT,
                                   BENCH_EXP};

    for (size_t k = 0; k < N_FORMATS; k++) {
        const bench_format *bf = &formats[k];
        nfi_format f;
        parse_format_or_die(bf->spec, &f);
        format_data d;
        format_data_init(&d, &f, &opt,
                         nfi_native_width(&f, NFI_ROUND_RNE) == 32);
        if (k == 0) {
            /* The first measurement of a process runs some 10% slower
             * (clock ramp-up, first touches of the allocator's memory);
             * a discarded one absorbs that. */
            row discarded;
            measure_row(&discarded, bf, &d, BENCH_ADD, NFI_ROUND_RNE, &opt);
        }
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            measure_row(&rows[n_rows++], bf, &d, ops[i], NFI_ROUND_RNE,
                        &opt);

        /* The non-RNE paths: stochastic rounding for binary32 and
         * bfloat16, toward zero for p=40. */
        bool sr = strcmp(bf->label, "binary32") == 0 ||
                  strcmp(bf->label, "bfloat16") == 0;
        bool rz = strcmp(bf->label, "p=40") == 0;
        if (sr || rz)
            measure_row(&rows[n_rows++], bf, &d, BENCH_ADD,
                        sr ? NFI_ROUND_SR : NFI_ROUND_RZ, &opt);
        format_data_free(&d);
        fprintf(stderr, "bench_engines: %-9s done, %5.1f s elapsed\n",
                bf->label, (now_ns() - start) * 1e-9);
    }

    for (size_t k = 0; k < 2; k++) {
        const bench_format *bf = &formats[k]; /* bfloat16, binary16 */
        nfi_format f;
        parse_format_or_die(bf->spec, &f);
        measure_round_row(&rows[n_rows++], bf, &f, &opt);
    }
    fprintf(stderr, "bench_engines: rounding  done, %5.1f s elapsed\n",
            (now_ns() - start) * 1e-9);

    if (opt.csv)
        print_csv(rows, n_rows);
    else
        print_table(rows, n_rows, &opt);
    mpfr_free_cache();
    return 0;
}
