/* Random differential test of the fast and native engines against the
 * MPFR engine, over formats of every precision p = 2..53 with tiny,
 * binary16-, binary32- and binary64-sized and asymmetric exponent ranges,
 * subnormals on and off, overflow to infinity and saturating, the named
 * formats, and every mode including SR; every operation (add sub mul div
 * sqrt fma exp log cvt neg abs min max).  Operands are values of the
 * format built exactly from an integer significand and an exponent, and
 * weighted toward the cases where rounding is decided: near the largest
 * finite value (overflow), at the bottom of the range (subnormals, the
 * smallest normal, the smallest positive value), exact ties (a + b with b
 * half a unit of a, products of short significands that land on
 * midpoints, quotients shifted into the subnormal range), cancellation
 * (a - b with a close to b, fma(a, b, -ab)), exp near its overflow and
 * underflow thresholds and near 0, log near 1.  Every tuple is compared
 * bit for bit with the MPFR engine.
 *
 * The run is split into shards (command line "I/N": shard I of N), which
 * meson runs in parallel; together they compare more than 10^7 tuples.
 * The array forms (add, mul, round, exp; output aliasing an input or not)
 * are compared element by element for every format and mode, and SR
 * conversions exactly at and just below the threshold of the index they
 * take are checked against the rule of sim/round.h.  With the
 * argument "quick" a fortieth of the work is done, as a unit test.
 * Each shard also compares the native engine (binary32 and binary64,
 * RNE) with the MPFR engine, through nfi_native_op and through
 * nfi_engine_op, on its share of 10^6 tuples, and its binary32 array and
 * dot functions; nfi_fast_dot with a sequence of MPFR operations; and
 * cvt through nfi_engine_op of values that are not binary64 numbers.
 *
 * Why: the exhaustive tests cover formats of at most 16 bits; the fast
 * engine's other paths (p > 25, round-to-odd emulation, the error
 * expansions of fma, binary64 underflow and overflow fallbacks) are only
 * reached by wider formats. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_fast.h"
#include "engine_mpfr.h"
#include "engine_native.h"
#include "harness.h"

/* Tuples per (format, mode) and operation; with the format list below
 * (2 * 5 * 52 + 8 formats, 6 modes, 13 operations) this gives 1.06e7
 * tuples over all shards, plus arrays and dot products.  The quick run
 * (a unit test, also under the sanitizers and on the baseline build of
 * the hot functions) does a fortieth of it. */
#define TUPLES_PER_OP 260
#define NATIVE_TUPLES 1000000
#define ENGINE_TUPLES 100000
#define QUICK_DIVISOR 40

static int tuples_per_op = TUPLES_PER_OP;
static unsigned array_every = 1; /* check the arrays of every n-th combo */

static const nfi_op all_ops[] = {NFI_OP_ADD, NFI_OP_SUB, NFI_OP_MUL,
                                 NFI_OP_DIV, NFI_OP_SQRT, NFI_OP_FMA,
                                 NFI_OP_EXP, NFI_OP_LOG, NFI_OP_CVT,
                                 NFI_OP_NEG, NFI_OP_ABS, NFI_OP_MIN,
                                 NFI_OP_MAX};
#define N_OPS (sizeof all_ops / sizeof all_ops[0])

/* The format list: for every p, five exponent ranges, each with
 * subnormals on and off; overflow alternates between inf and saturate. */
static nfi_format format_at(size_t index)
{
    static const char *const named[] = {
        "e4m3", "e4m3,overflow=saturate", "e5m2", "bfloat16", "tf32",
        "binary32", "binary64", "binary64,subnormals=off,overflow=saturate"};
    size_t n_named = sizeof named / sizeof named[0];
    if (index < n_named)
        return harness_format(named[index]);
    index -= n_named;
    long p = 2 + (long)(index / 10);
    int range = (int)(index / 2 % 5);
    nfi_format f = {p, 0, 0, index % 2 == 0, true, 0,
                    (index / 2 + (size_t)p) % 3 == 0 ? NFI_OVERFLOW_SATURATE
                                                     : NFI_OVERFLOW_INF,
                    NFI_ROUND_RNE};
    switch (range) {
    case 0: f.emin = -(p % 5 + 1); f.emax = p % 7 + 1; break;
    case 1: f.emin = -14; f.emax = 15; break;
    case 2: f.emin = -126; f.emax = 127; break;
    case 3: f.emin = -1022; f.emax = 1023; break;
    default: f.emin = -1022 + p * 37 % 900; f.emax = 50 + p * 53 % 970;
    }
    return f;
}

#define N_FORMATS (8 + 52 * 10)

/* Generation of format values.  g holds what the generators need. */
typedef struct generator {
    test_rng *rng;
    const nfi_format *f;
    int p, emin, emax;
    int min_exp;   /* exponent of the smallest positive value */
    double max;    /* largest finite value */
} generator;

static double random_sign(generator *g, double x)
{
    return rng_below(g->rng, 2) ? -x : x;
}

/* 2^e when it is a value of the format, else 0. */
static double power_of_two(const generator *g, int e)
{
    if (e < g->min_exp || e > g->emax)
        return 0.0;
    return ldexp(1.0, e);
}

/* A random significand of exactly p bits. */
static uint64_t full_significand(generator *g)
{
    uint64_t m = rng_next(g->rng) >> (64 - g->p);
    return m | (1ULL << (g->p - 1));
}

/* A value of the format, of a randomly chosen kind. */
static double value(generator *g)
{
    int p = g->p;
    uint64_t m;
    int e;
    switch (rng_below(g->rng, 20)) {
    case 0: case 1: case 2: case 3: case 4: case 5:
        e = (int)rng_range(g->rng, g->emin, g->emax);
        m = full_significand(g);
        break;
    case 6: case 7:
        /* Near the largest finite value. */
        e = g->emax;
        m = (1ULL << p) - 1 - (uint64_t)g->f->reserved_top -
            rng_below(g->rng, p > 3 ? 4 : 1);
        if (m < (1ULL << (p - 1)))
            m = 1ULL << (p - 1);
        break;
    case 8: case 9:
        /* The smallest normal binade, starting with 2^emin. */
        e = g->emin;
        m = rng_below(g->rng, 3) ? full_significand(g)
                                 : (1ULL << (p - 1)) + rng_below(g->rng, 2);
        break;
    case 10: case 11:
        /* Subnormals: small multiples of the smallest positive value,
         * and random ones. */
        if (!g->f->subnormals || p < 2)
            return random_sign(g, power_of_two(g, g->emin));
        e = g->emin;
        m = rng_below(g->rng, 2) ? 1 + rng_below(g->rng, 4)
                                 : 1 + (rng_next(g->rng) >> (65 - p));
        if (m >= 1ULL << (p - 1))
            m = (1ULL << (p - 1)) - 1;
        break;
    case 12: case 13:
        /* Short significands (1, 3, 5, 7 on top), whose products and
         * sums often land exactly on midpoints. */
        e = (int)rng_range(g->rng, g->emin, g->emax);
        m = (1 + 2 * rng_below(g->rng, 4)) << (p >= 3 ? p - 3 : 0);
        while (m >= 1ULL << p)
            m >>= 1;
        if (m < 1ULL << (p - 1))
            m = 1ULL << (p - 1);
        break;
    case 14: case 15: case 16:
        /* Around 1. */
        e = (int)rng_range(g->rng, g->emin > -3 ? g->emin : -3,
                           g->emax < 3 ? g->emax : 3);
        m = full_significand(g);
        break;
    case 17: case 18:
        /* A random value of the whole range, subnormals included. */
        e = (int)rng_range(g->rng, g->min_exp, g->emax);
        m = full_significand(g);
        if (e < g->emin) {
            m >>= g->emin - e;
            e = g->emin;
            if (m == 0)
                m = 1;
        }
        break;
    default: {
        int k = (int)rng_below(g->rng, 4);
        if (k == 0)
            return random_sign(g, 0.0);
        if (k == 1 && g->f->has_inf)
            return random_sign(g, INFINITY);
        if (k == 2)
            return NAN;
        return random_sign(g, g->max);
    }
    }
    /* m < 2^p, and m < 2^(p-1) only at e = emin (a subnormal); the
     * reserved significands of the top binade are not values. */
    uint64_t top = (1ULL << p) - 1 - (uint64_t)g->f->reserved_top;
    if (e == g->emax && m > top)
        m = top;
    return random_sign(g, exact_scaled(m, e - p + 1));
}

/* Operands whose binary64 sum or product is exactly a midpoint of the
 * format's grid while the exact result is not: the binary64 rounding
 * hides a residue r below half a binary64 unit, and only r tells which
 * way the format rounds.  For 29 <= p <= 52, scaled by 2^k.
 *   sum:     a = 1 + m 2^(1-p) (any m), b = 2^-p +- 2^(-p-j),
 *            54 - p <= j <= p - 1, so that b has at most p bits;
 *   product: a = 1 + 2^-j, b = 1 + 2^(j-p) + 2^(2-p), 56 - p <= j <= p - 2:
 *            ab = 1 + 2^-j + 2^(j-p) + 2^(2-p) + 2^-p + 2^(2-p-j), whose
 *            lower neighbour on the grid is even, so that a tie rule
 *            applied to the binary64 product would go the wrong way.
 * Returns false when p is outside that range. */
static bool hidden_midpoint(generator *g, bool product, double *a, double *b)
{
    int p = g->p;
    if (p < 29 || p > 52)
        return false;
    double x, y;
    if (product) {
        int j = (int)rng_range(g->rng, 56 - p, p - 2);
        x = 1.0 + ldexp(1.0, -j);
        y = 1.0 + ldexp(1.0, j - p) + ldexp(1.0, 2 - p);
    } else {
        int j = (int)rng_range(g->rng, 54 - p, p - 1);
        x = 1.0 + ldexp((double)(rng_next(g->rng) >> (65 - p)), 1 - p);
        y = ldexp(1.0, -p) + random_sign(g, ldexp(1.0, -p - j));
    }
    /* Scale into the normal range, keeping results below the top. */
    int lo = g->emin + 1, hi = g->emax - 2;
    if (lo > hi)
        return false;
    int k = (int)rng_range(g->rng, lo, hi);
    if (product) {
        int k1 = k / 2, k2 = k - k / 2;
        x = ldexp(x, k1);
        y = ldexp(y, k2);
        if (ilogb(x) < g->emin || ilogb(y) < g->emin)
            return false;
        *a = random_sign(g, x);
        *b = random_sign(g, y);
    } else {
        x = ldexp(x, k);
        y = ldexp(y, k);
        if (ilogb(y) < g->emin)
            return false;
        double s = rng_below(g->rng, 2) ? -1.0 : 1.0;
        *a = s * x;
        *b = s * y;
    }
    return true;
}

/* A second operand for add or sub that makes a tie or a cancellation
 * with a, or a random value. */
static double partner_for_sum(generator *g, double a)
{
    if (!isfinite(a) || a == 0.0 || rng_below(g->rng, 3) == 0)
        return value(g);
    double ulp = format_ulp(g->f, a);
    if (rng_below(g->rng, 2)) {
        /* Half a unit of a (a tie), three halves, or a quarter. */
        double h = power_of_two(g, ilogb(ulp) - 1 - (int)rng_below(g->rng,
                                                                   2));
        if (h == 0.0)
            return value(g);
        if (rng_below(g->rng, 3) == 0)
            h *= 3;
        return random_sign(g, h);
    }
    /* a plus or minus a few units, truncated onto the grid: a - b then
     * cancels. */
    double b = a + ulp * (double)rng_range(g->rng, -4, 4);
    if (fabs(b) > g->max)
        b = a;
    b = truncate_to_format(g->f, b);
    return rng_below(g->rng, 2) ? b : -b;
}

/* A second operand for mul or div: often a power of two that moves a
 * into the subnormal range or toward overflow, or a short significand. */
static double partner_for_product(generator *g, double a)
{
    if (!isfinite(a) || a == 0.0 || rng_below(g->rng, 2))
        return value(g);
    int ea = ilogb(a);
    double b;
    switch (rng_below(g->rng, 3)) {
    case 0: /* a b near the bottom of the range */
        b = power_of_two(g, g->emin - ea - (int)rng_below(g->rng, g->p + 2));
        break;
    case 1: /* a b near the top */
        b = power_of_two(g, g->emax - ea + (int)rng_range(g->rng, -1, 1));
        break;
    default: /* 1.5, 1.25, 1.75 times a power of two */
        b = power_of_two(g, (int)rng_range(g->rng, -2, 2));
        b *= 1.0 + (double)(1 + rng_below(g->rng, 3)) * 0.25;
        b = truncate_to_format(g->f, b);
        break;
    }
    return b == 0.0 ? value(g) : random_sign(g, b);
}

/* An argument of exp: across the range where exp is finite and non-zero
 * and beyond, near the overflow and underflow thresholds, or tiny. */
static double exp_argument(generator *g)
{
    double ln2 = 0x1.62e42fefa39efp-1;
    double x;
    switch (rng_below(g->rng, 4)) {
    case 0:
        x = (2.2 * rng_unit(g->rng) - 1.1) * ln2 *
            (rng_below(g->rng, 2) ? g->emax + 1 : g->min_exp);
        break;
    case 1: /* log of the largest finite value, plus a little */
        x = log(g->max) * (1.0 + (rng_unit(g->rng) - 0.5) * 0x1p-10);
        break;
    case 2: /* log of the smallest positive value, plus a little */
        x = (g->min_exp - 1) * ln2 *
            (1.0 + (rng_unit(g->rng) - 0.5) * 0x1p-8);
        break;
    default: /* tiny: exp(x) = 1 + x + ..., rounding decided by x */
        x = ldexp(rng_unit(g->rng) - 0.5, -(int)rng_range(g->rng, 0,
                                                            g->p + 4));
        break;
    }
    if (fabs(x) > g->max)
        x = copysign(g->max, x);
    return truncate_to_format(g->f, x);
}

/* A binary64 value (not necessarily a format value) for cvt. */
static double cvt_argument(generator *g)
{
    double v = value(g);
    if (!isfinite(v))
        return v;
    double ulp = format_ulp(g->f, v);
    switch (rng_below(g->rng, 5)) {
    case 0: { /* random bit pattern */
        uint64_t bits = rng_next(g->rng);
        double x;
        memcpy(&x, &bits, sizeof x);
        return x;
    }
    case 1: /* exact midpoint */
        return v + copysign(ulp / 2, v);
    case 2: { /* midpoint plus or minus a binary64 unit or two */
        double x = v + copysign(ulp / 2, v);
        int k = (int)rng_range(g->rng, -2, 2);
        for (; k != 0; k += k > 0 ? -1 : 1)
            x = nextafter(x, k > 0 ? INFINITY : -INFINITY);
        return x;
    }
    case 3: /* random fraction of a unit */
        return v + copysign(ulp * rng_unit(g->rng), v);
    default: /* below the smallest positive value, or far above */
        return random_sign(g, rng_below(g->rng, 2) ?
                           ldexp(rng_unit(g->rng), g->min_exp) :
                           g->max * (1.0 + rng_unit(g->rng)));
    }
}

static void operands(generator *g, nfi_op op, double x[3])
{
    x[0] = value(g);
    x[1] = value(g);
    x[2] = value(g);
    switch (op) {
    case NFI_OP_ADD:
    case NFI_OP_SUB:
        x[1] = partner_for_sum(g, x[0]);
        if (rng_below(g->rng, 8) == 0 &&
            hidden_midpoint(g, false, &x[0], &x[1]) && op == NFI_OP_SUB)
            x[1] = -x[1];
        break;
    case NFI_OP_MUL:
        x[1] = partner_for_product(g, x[0]);
        if (rng_below(g->rng, 8) == 0)
            hidden_midpoint(g, true, &x[0], &x[1]);
        break;
    case NFI_OP_DIV:
        x[1] = partner_for_product(g, x[0]);
        break;
    case NFI_OP_SQRT: {
        double a = fabs(x[0]);
        if (rng_below(g->rng, 3) == 0 && isfinite(a)) {
            /* An exact square, or a neighbour of one. */
            double r = truncate_to_format(g->f, sqrt(a));
            double s = truncate_to_format(g->f, r * r);
            a = s > 0 ? s : a;
        }
        x[0] = rng_below(g->rng, 8) ? a : x[0];
        break;
    }
    case NFI_OP_FMA:
        if (rng_below(g->rng, 2)) {
            x[1] = partner_for_product(g, x[0]);
            double ab = x[0] * x[1];
            if (isfinite(ab) && fabs(ab) <= g->max) {
                /* c = -ab onto the grid: the result is the rounding error
                 * of the product, or a tie when ab has p + 1 bits. */
                x[2] = -truncate_to_format(g->f, ab);
                if (rng_below(g->rng, 3) == 0)
                    x[2] = partner_for_sum(g, x[2]);
            }
        }
        break;
    case NFI_OP_EXP:
        if (rng_below(g->rng, 8))
            x[0] = exp_argument(g);
        break;
    case NFI_OP_LOG:
        if (rng_below(g->rng, 3) == 0 && g->emin <= 0 && g->emax >= 0) {
            double ulp1 = format_ulp(g->f, 1.0);
            x[0] = truncate_to_format(g->f, 1.0 + ulp1 *
                                      (double)rng_range(g->rng, -3, 3));
        } else if (rng_below(g->rng, 8)) {
            x[0] = fabs(x[0]);
        }
        break;
    case NFI_OP_CVT:
        x[0] = cvt_argument(g);
        break;
    default:
        break;
    }
}

/* Operands whose results are normal values of the format: the case the
 * branch-free block loops of the array forms handle without falling back
 * to element-by-element work (a single special value sends a whole block
 * there).  A quarter are hidden midpoints where p allows. */
static void clean_operands(generator *g, nfi_op op, double x[2])
{
    if (op != NFI_OP_CVT && rng_below(g->rng, 4) == 0 &&
        hidden_midpoint(g, op == NFI_OP_MUL, &x[0], &x[1]))
        return;
    int span = g->emax - g->emin < 8 ? 0 : 2;
    for (int k = 0; k < 2; k++) {
        int e = (int)rng_range(g->rng, -span, span);
        if (e < g->emin)
            e = g->emin;
        x[k] = random_sign(g, exact_scaled(full_significand(g),
                                           e - g->p + 1));
    }
    if (op == NFI_OP_ADD && rng_below(g->rng, 2))
        x[1] = partner_for_sum(g, x[0]);
    if (op == NFI_OP_CVT)
        x[0] *= 1.0 + rng_unit(g->rng) * 0x1p-20; /* not a format value */
    if (!isfinite(x[1]) || x[1] == 0.0)
        x[1] = 1.0;
}

/* The array forms against the MPFR engine, element i taking stochastic
 * index counter + i; the output aliases the first input every other
 * time.  Each operation is tried on mixed operands (operands()) and on
 * clean ones (clean_operands()). */
static void check_arrays(nfi_fast *ctx, generator *g)
{
    enum { N = 96 };
    double a[N], b[N], out[N], want[N];
    static const nfi_op ops[] = {NFI_OP_ADD, NFI_OP_MUL, NFI_OP_CVT,
                                 NFI_OP_EXP, NFI_OP_ADD, NFI_OP_MUL,
                                 NFI_OP_CVT};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        nfi_op op = ops[k];
        bool clean = k >= 4;
        for (int i = 0; i < N; i++) {
            double x[3];
            if (clean)
                clean_operands(g, op, x);
            else
                operands(g, op, x);
            a[i] = x[0];
            b[i] = x[1];
        }
        uint64_t start = ctx->counter;
        for (int i = 0; i < N; i++) {
            uint32_t u = ctx->mode == NFI_ROUND_SR
                             ? nfi_sr_bits(ctx->seed, start + (uint64_t)i)
                             : 0;
            want[i] = nfi_mpfr_op_d(op, a[i], b[i], 0, &ctx->format,
                                    ctx->mode, u);
        }
        bool alias = rng_below(g->rng, 2);
        double *dst = alias ? a : out;
        double copy[N];
        memcpy(copy, a, sizeof copy);
        /* lengths that leave every remainder of the kernels' blocks */
        int len = N - (int)rng_below(g->rng, 16);
        switch (op) {
        case NFI_OP_ADD: nfi_fast_add_array(ctx, len, dst, a, b); break;
        case NFI_OP_MUL: nfi_fast_mul_array(ctx, len, dst, a, b); break;
        case NFI_OP_CVT: nfi_fast_round_array(ctx, len, dst, a); break;
        default: nfi_fast_exp_array(ctx, len, dst, a); break;
        }
        for (int i = 0; i < len; i++) {
            double x[3] = {copy[i], b[i], 0};
            check_op(alias ? "array form, output aliasing the input"
                           : "array form", &ctx->format, ctx->mode, op, x,
                     want[i], dst[i]);
        }
        uint64_t used = ctx->counter - start;
        check_true(used == (ctx->mode == NFI_ROUND_SR ? (uint64_t)len : 0),
                   "array %s took %llu stochastic indices for %d elements",
                   nfi_op_name(op), (unsigned long long)used, len);
        ctx->counter = start + (ctx->mode == NFI_ROUND_SR ? (uint64_t)len
                                                          : 0);
    }
}

/* SR exactly at its threshold: x = lo + q (2^32 - u) / 2^32, with u the
 * bits of the index the next operation takes, must go away from zero;
 * one binary64 unit toward lo it must not.  x is a binary64 number when
 * p + 32 <= 53 and q 2^-32 >= 2^-1074. */
static void check_sr_thresholds(nfi_fast *ctx, generator *g, int n)
{
    if (ctx->mode != NFI_ROUND_SR || g->p > 21 || g->min_exp - 32 < -1074)
        return;
    for (int i = 0; i < n; i++) {
        double lo = value(g);
        if (!isfinite(lo))
            continue;
        double q = format_ulp(g->f, lo);
        if (fabs(lo) + q > g->max)
            continue;
        double sign = signbit(lo) ? -1.0 : 1.0;
        for (int below = 0; below < 2; below++) {
            uint32_t u = nfi_sr_bits(ctx->seed, ctx->counter);
            double x = lo + sign * q * ldexp((double)(0x100000000ULL - u),
                                              -32);
            if (below)
                x = nextafter(x, lo);
            double want = below ? lo : lo + sign * q;
            if (same_double(x, lo))
                want = lo; /* u = 0 and below: x is lo itself */
            double got = check_fast_vs_mpfr(ctx, NFI_OP_CVT, x, 0, 0);
            double operands[3] = {x, 0, 0};
            check_op(below ? "SR one unit below its threshold"
                           : "SR at its threshold", g->f, NFI_ROUND_SR,
                     NFI_OP_CVT, operands, want, got);
        }
    }
}

static void check_format_mode(const nfi_format *f, nfi_round mode,
                              test_rng *rng, uint64_t seed, bool arrays)
{
    nfi_fast ctx;
    if (!check_true(nfi_fast_init(&ctx, f, mode, seed, NULL) == 0,
                    "fast engine refuses p=%ld, emin=%ld, emax=%ld", f->p,
                    f->emin, f->emax))
        return;
    generator g = {rng, f, (int)f->p, (int)f->emin, (int)f->emax,
                   (int)(f->subnormals ? f->emin - f->p + 1 : f->emin),
                   nfi_format_max_finite_d(f)};
    for (size_t k = 0; k < N_OPS; k++) {
        for (int i = 0; i < tuples_per_op; i++) {
            double x[3];
            operands(&g, all_ops[k], x);
            check_fast_vs_mpfr(&ctx, all_ops[k], x[0], x[1], x[2]);
        }
    }
    if (arrays)
        check_arrays(&ctx, &g);
    check_sr_thresholds(&ctx, &g, tuples_per_op / 4);
    /* A few dot products: acc = fl(acc + fl(a_i b_i)), the product of
     * each step taking its stochastic index before the sum. */
    for (int t = 0; t < 8; t++) {
        double a[24], b[24];
        size_t n = 1 + rng_below(rng, 24);
        for (size_t i = 0; i < n; i++) {
            a[i] = value(&g);
            b[i] = value(&g);
        }
        uint64_t index = ctx.counter;
        double got = nfi_fast_dot(&ctx, n, a, b);
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) {
            uint32_t u1 = nfi_sr_bits(seed, index);
            index += mode == NFI_ROUND_SR;
            double prod = nfi_mpfr_op_d(NFI_OP_MUL, a[i], b[i], 0, f, mode,
                                        u1);
            uint32_t u2 = nfi_sr_bits(seed, index);
            index += mode == NFI_ROUND_SR;
            acc = nfi_mpfr_op_d(NFI_OP_ADD, acc, prod, 0, f, mode, u2);
        }
        double dims[3] = {(double)n, 0, 0};
        check_op("nfi_fast_dot vs sequential mpfr (operand: length)", f,
                 mode, NFI_OP_ADD, dims, acc, got);
        check_true(ctx.counter == index, "nfi_fast_dot of length %zu took "
                   "%llu indices", n,
                   (unsigned long long)(ctx.counter - index));
        ctx.counter = index;
    }
}

/* The binary32 array functions of the native engine against the MPFR
 * engine element by element; the dot product against a sequence of MPFR
 * operations (each product and each sum rounded to binary32, in order). */
static void check_native_arrays(test_rng *rng, long rounds)
{
    nfi_format f = harness_format("binary32");
    generator g = {rng, &f, 24, -126, 127, -149, 0x1.fffffep+127};
    enum { N = 64 };
    float a[N], b[N], sum[N], prod[N];
    for (long r = 0; r < rounds; r++) {
        size_t n = 1 + rng_below(rng, N);
        for (size_t i = 0; i < n; i++) {
            double x[3];
            operands(&g, r % 2 ? NFI_OP_ADD : NFI_OP_MUL, x);
            a[i] = (float)x[0]; /* exact: binary32 values */
            b[i] = (float)x[1];
        }
        nfi_native_add_f32(n, sum, a, b);
        nfi_native_mul_f32(n, prod, a, b);
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) {
            double x[3] = {a[i], b[i], 0};
            check_op("nfi_native_add_f32", &f, NFI_ROUND_RNE, NFI_OP_ADD, x,
                     nfi_mpfr_op_d(NFI_OP_ADD, a[i], b[i], 0, &f,
                                   NFI_ROUND_RNE, 0), sum[i]);
            double p = nfi_mpfr_op_d(NFI_OP_MUL, a[i], b[i], 0, &f,
                                     NFI_ROUND_RNE, 0);
            check_op("nfi_native_mul_f32", &f, NFI_ROUND_RNE, NFI_OP_MUL, x,
                     p, prod[i]);
            acc = nfi_mpfr_op_d(NFI_OP_ADD, acc, p, 0, &f, NFI_ROUND_RNE, 0);
        }
        double dims[3] = {(double)n, 0, 0};
        check_op("nfi_native_dot_f32 vs sequential mpfr (operand: length)",
                 &f, NFI_ROUND_RNE, NFI_OP_ADD, dims, acc,
                 nfi_native_dot_f32(n, a, b));
    }
}

/* cvt through nfi_engine_op of values that are not binary64 numbers
 * (more bits, or beyond binary64's range) and of binary64 values held at
 * a high precision, on every engine that takes the format, against the
 * MPFR engine with the same stochastic index. */
static void check_engine_cvt(test_rng *rng, long n)
{
    static const char *const specs[] = {"binary32", "binary64", "bfloat16",
                                        "e4m3", "p=30,emin=-200,emax=200"};
    static const nfi_engine_kind kinds[] = {NFI_ENGINE_FAST,
                                            NFI_ENGINE_NATIVE};
    mpfr_t x, r1, r2;
    mpfr_inits2(120, x, r1, r2, (mpfr_ptr)0);
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        nfi_format f = harness_format(specs[s]);
        for (int m = 0; m < NFI_ROUND_COUNT; m++) {
            for (size_t k = 0; k < 2; k++) {
                nfi_engine eng, ref;
                if (nfi_engine_init(&eng, kinds[k], &f, (nfi_round)m, 3,
                                    NULL) != 0)
                    continue;
                nfi_engine_init(&ref, NFI_ENGINE_MPFR, &f, (nfi_round)m, 3,
                                NULL);
                for (long i = 0; i < n; i++) {
                    /* 120 random bits (or 53, or 20) at 2^e, e across
                     * and beyond binary64's range. */
                    static const int widths[] = {120, 53, 20};
                    int w = widths[rng_below(rng, 3)];
                    mpz_t mz;
                    mpz_init(mz);
                    mpz_set_ui(mz, rng_next(rng) | 1);
                    mpz_mul_2exp(mz, mz, 64);
                    mpz_add_ui(mz, mz, rng_next(rng));
                    mpz_fdiv_q_2exp(mz, mz, (mp_bitcnt_t)(128 - w));
                    long e = rng_range(rng, -1250, 1100);
                    if (rng_below(rng, 2))
                        e = rng_range(rng, f.emin - f.p - 4, f.emax + 2) -
                            w;
                    mpfr_set_z_2exp(x, mz, e, MPFR_RNDN);
                    if (rng_below(rng, 2))
                        mpfr_neg(x, x, MPFR_RNDN);
                    mpz_clear(mz);
                    nfi_engine_op(&eng, NFI_OP_CVT, r1, x, NULL, NULL);
                    nfi_engine_op(&ref, NFI_OP_CVT, r2, x, NULL, NULL);
                    mpfr_srcptr operands[1] = {x};
                    check_op_mpfr(kinds[k] == NFI_ENGINE_FAST ?
                                  "nfi_engine fast cvt vs mpfr" :
                                  "nfi_engine native cvt vs mpfr", &f,
                                  (nfi_round)m, NFI_OP_CVT, operands, r2,
                                  r1);
                }
            }
        }
    }
    mpfr_clears(x, r1, r2, (mpfr_ptr)0);
}

/* The native engine against the MPFR engine: nfi_native_op for the
 * operations it computes, nfi_engine_op (native, which hands exp and log
 * to the fast engine) for all. */
static void check_native(test_rng *rng, long tuples, long engine_tuples)
{
    static const char *const specs[] = {"binary32", "binary64"};
    mpfr_t a, b, c, r1, r2;
    mpfr_inits2(53, a, b, c, r1, r2, (mpfr_ptr)0);
    for (size_t s = 0; s < 2; s++) {
        nfi_format f = harness_format(specs[s]);
        int width = nfi_native_width(&f, NFI_ROUND_RNE);
        check_true(width == (s == 0 ? 32 : 64), "native width of %s is %d",
                   specs[s], width);
        generator g = {rng, &f, (int)f.p, (int)f.emin, (int)f.emax,
                       (int)(f.emin - f.p + 1), nfi_format_max_finite_d(&f)};
        for (long i = 0; i < tuples / 2; i++) {
            /* Every operation but exp and log, which are not native. */
            nfi_op op = all_ops[rng_below(rng, N_OPS - 2)];
            if (op == NFI_OP_EXP)
                op = NFI_OP_MIN;
            else if (op == NFI_OP_LOG)
                op = NFI_OP_MAX;
            double x[3];
            operands(&g, op, x);
            double got = nfi_native_op(width, op, x[0], x[1], x[2]);
            double want = nfi_mpfr_op_d(op, x[0], x[1], x[2], &f,
                                        NFI_ROUND_RNE, 0);
            check_op("native vs mpfr", &f, NFI_ROUND_RNE, op, x, want, got);
        }
        nfi_engine native, reference;
        nfi_engine_init(&native, NFI_ENGINE_NATIVE, &f, NFI_ROUND_RNE, 1,
                        NULL);
        nfi_engine_init(&reference, NFI_ENGINE_MPFR, &f, NFI_ROUND_RNE, 1,
                        NULL);
        for (long i = 0; i < engine_tuples / 2; i++) {
            nfi_op op = all_ops[rng_below(rng, N_OPS)];
            double x[3];
            operands(&g, op, x);
            mpfr_set_d(a, x[0], MPFR_RNDN);
            mpfr_set_d(b, x[1], MPFR_RNDN);
            mpfr_set_d(c, x[2], MPFR_RNDN);
            nfi_engine_op(&native, op, r1, a, b, c);
            nfi_engine_op(&reference, op, r2, a, b, c);
            check_op("nfi_engine native vs mpfr", &f, NFI_ROUND_RNE, op, x,
                     mpfr_get_d(r2, MPFR_RNDN), mpfr_get_d(r1, MPFR_RNDN));
        }
    }
    mpfr_clears(a, b, c, r1, r2, (mpfr_ptr)0);
    check_native_arrays(rng, tuples / 100);
    check_engine_cvt(rng, engine_tuples / 100);
}

int main(int argc, char **argv)
{
    harness_init("test_random", 1);
    unsigned shard = 0, shards = 1;
    long native = NATIVE_TUPLES, engine = ENGINE_TUPLES;
    if (argc > 1 && strcmp(argv[1], "quick") == 0) {
        tuples_per_op /= QUICK_DIVISOR;
        array_every = 8;
        native /= QUICK_DIVISOR;
        engine /= QUICK_DIVISOR;
    } else if (argc > 1 && (sscanf(argv[1], "%u/%u", &shard, &shards) != 2 ||
                            shards == 0 || shard >= shards)) {
        check_true(false, "usage: test_random [I/N | quick] (shard I of N, "
                   "from 0)");
        return harness_finish();
    }
    test_rng rng;
    rng_init(&rng, harness_seed(), 1000 + shard);
    size_t combos = 0;
    for (size_t i = 0; i < N_FORMATS; i++) {
        nfi_format f = format_at(i);
        for (int m = 0; m < NFI_ROUND_COUNT; m++, combos++) {
            if (combos % shards != shard)
                continue;
            check_format_mode(&f, (nfi_round)m, &rng,
                              harness_seed() * 1000003 + combos,
                              combos / shards % array_every == 0);
        }
    }
    check_native(&rng, native / shards, engine / shards);
    printf("test_random: shard %u of %u, %llu fast-engine fallbacks to "
           "MPFR\n", shard, shards,
           (unsigned long long)nfi_fast_fallbacks());
    return harness_finish();
}
