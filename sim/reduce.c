/* nfi: reductions in a declared order.  See reduce.h. */
#include "reduce.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ORDERS "sequential, pairwise, blocked:B, lanes:L (L a power of " \
               "two) or exact"

int nfi_reduction_parse(const char *text, nfi_reduction *out,
                        nfi_error *err)
{
    static const struct {
        const char *name;
        nfi_reduction_kind kind;
    } plain[] = {{"sequential", NFI_REDUCTION_SEQUENTIAL},
                 {"pairwise", NFI_REDUCTION_PAIRWISE},
                 {"exact", NFI_REDUCTION_EXACT}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        if (strcasecmp(text, plain[i].name) == 0) {
            out->kind = plain[i].kind;
            out->param = 0;
            return 0;
        }
    }
    const char *colon = strchr(text, ':');
    nfi_reduction_kind kind;
    if (colon != NULL && (size_t)(colon - text) == 7 &&
        strncasecmp(text, "blocked", 7) == 0)
        kind = NFI_REDUCTION_BLOCKED;
    else if (colon != NULL && (size_t)(colon - text) == 5 &&
             strncasecmp(text, "lanes", 5) == 0)
        kind = NFI_REDUCTION_LANES;
    else
        return nfi_error_set(err, "unknown reduction order '%s': use "
                             ORDERS, text);
    char *end;
    errno = 0;
    long v = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || v < 1 ||
        v > NFI_REDUCTION_PARAM_MAX)
        return nfi_error_set(err, "reduction order '%s': the number after "
                             "the colon must be a whole number from 1 to "
                             "%d, e.g. blocked:64 or lanes:8", text,
                             NFI_REDUCTION_PARAM_MAX);
    if (kind == NFI_REDUCTION_LANES && (v & (v - 1)) != 0)
        return nfi_error_set(err, "reduction order '%s': the lane count "
                             "must be a power of two (lanes combine by "
                             "halving), e.g. lanes:8", text);
    out->kind = kind;
    out->param = v;
    return 0;
}

int nfi_reduction_spell(const nfi_reduction *r, char *buf, size_t size)
{
    switch (r->kind) {
    case NFI_REDUCTION_SEQUENTIAL: return snprintf(buf, size, "sequential");
    case NFI_REDUCTION_PAIRWISE: return snprintf(buf, size, "pairwise");
    case NFI_REDUCTION_BLOCKED:
        return snprintf(buf, size, "blocked:%ld", r->param);
    case NFI_REDUCTION_LANES:
        return snprintf(buf, size, "lanes:%ld", r->param);
    case NFI_REDUCTION_EXACT: return snprintf(buf, size, "exact");
    }
    return snprintf(buf, size, "?");
}

/* ---- exact accumulation ------------------------------------------- */

#define UNIT_SHIFT 2148 /* products of binary64 numbers are multiples of
                           2^-2148 */

void nfi_exact_sum_init(nfi_exact_sum *s)
{
    mpz_init(s->units);
    s->nan = 0;
    s->inf = 0;
}

void nfi_exact_sum_clear(nfi_exact_sum *s)
{
    mpz_clear(s->units);
}

/* x = m 2^e exactly with m an integer (|m| < 2^53), e >= -1074. */
static void split(double x, mpz_t m, long *e)
{
    int ex;
    double frac = frexp(x, &ex); /* exact: x = frac 2^ex, |frac| < 1 */
    mpz_set_d(m, ldexp(frac, 53));
    *e = (long)ex - 53;
    if (*e < -1074) {
        /* A subnormal x is a multiple of 2^-1074: the low bits of m are
         * zeros, and dropping them keeps every shift below >= 0. */
        mpz_tdiv_q_2exp(m, m, (mp_bitcnt_t)(-1074 - *e));
        *e = -1074;
    }
}

static void note_special(nfi_exact_sum *s, double x)
{
    if (isnan(x)) {
        s->nan = 1;
    } else {
        int sign = x > 0 ? 1 : -1;
        if (s->inf != 0 && s->inf != sign)
            s->nan = 1;
        s->inf = sign;
    }
}

void nfi_exact_sum_add(nfi_exact_sum *s, double x)
{
    if (!isfinite(x)) {
        note_special(s, x);
        return;
    }
    if (x == 0.0)
        return;
    mpz_t m;
    long e;
    mpz_init(m);
    split(x, m, &e);
    mpz_mul_2exp(m, m, (mp_bitcnt_t)(e + UNIT_SHIFT));
    mpz_add(s->units, s->units, m);
    mpz_clear(m);
}

void nfi_exact_sum_add_product(nfi_exact_sum *s, double a, double b)
{
    double p = a * b;
    if (!isfinite(a) || !isfinite(b)) {
        note_special(s, isnan(p) ? NAN : p);
        return;
    }
    if (a == 0.0 || b == 0.0)
        return;
    mpz_t ma, mb;
    long ea, eb;
    mpz_inits(ma, mb, (mpz_ptr)0);
    split(a, ma, &ea);
    split(b, mb, &eb);
    mpz_mul(ma, ma, mb);
    mpz_mul_2exp(ma, ma, (mp_bitcnt_t)(ea + eb + UNIT_SHIFT));
    mpz_add(s->units, s->units, ma);
    mpz_clears(ma, mb, (mpz_ptr)0);
}

void nfi_exact_sum_get(const nfi_exact_sum *s, mpfr_t out)
{
    if (s->nan) {
        mpfr_set_nan(out);
        return;
    }
    if (s->inf) {
        mpfr_set_inf(out, s->inf);
        return;
    }
    size_t bits = mpz_sizeinbase(s->units, 2);
    mpfr_set_prec(out, (mpfr_prec_t)(bits < 2 ? 2 : bits));
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    mpfr_set_z_2exp(out, s->units, -UNIT_SHIFT, MPFR_RNDN); /* exact */
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
}

double nfi_exact_sum_get_d(const nfi_exact_sum *s)
{
    mpfr_t x;
    mpfr_init2(x, 2);
    nfi_exact_sum_get(s, x);
    double d = mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(x);
    return d;
}

int nfi_exact_sum_sign(const nfi_exact_sum *s)
{
    if (s->nan)
        return 0;
    if (s->inf)
        return s->inf;
    return mpz_sgn(s->units);
}

/* ---- ordered sums -------------------------------------------------- */

static double sum_sequential(nfi_arith *acc, size_t n, const double *x,
                             ptrdiff_t stride)
{
    if (stride == 1 && !acc->reference)
        return nfi_fast_sum(&acc->fast, n, x); /* the same additions */
    if (n == 0)
        return 0.0;
    double s = x[0];
    for (size_t i = 1; i < n; i++)
        s = nfi_arith_add(acc, s, x[(ptrdiff_t)i * stride]);
    return s;
}

static double sum_pairwise(nfi_arith *acc, size_t n, const double *x,
                           ptrdiff_t stride)
{
    if (n == 0)
        return 0.0;
    if (n == 1)
        return x[0];
    size_t h = n / 2;
    double left = sum_pairwise(acc, h, x, stride);
    double right = sum_pairwise(acc, n - h, x + (ptrdiff_t)h * stride,
                                stride);
    return nfi_arith_add(acc, left, right);
}

static double sum_blocked(nfi_arith *acc, size_t block, size_t n,
                          const double *x, ptrdiff_t stride)
{
    double total = 0.0;
    for (size_t start = 0; start < n; start += block) {
        size_t m = n - start < block ? n - start : block;
        double part = sum_sequential(acc, m, x + (ptrdiff_t)start * stride,
                                     stride);
        total = start == 0 ? part : nfi_arith_add(acc, total, part);
    }
    return total;
}

static double sum_lanes(nfi_arith *acc, size_t lanes, size_t n,
                        const double *x, ptrdiff_t stride)
{
    if (n == 0)
        return 0.0;
    double stack_lane[64];
    double *lane = lanes <= 64 ? stack_lane : malloc(lanes * sizeof *lane);
    if (lane == NULL)
        return NAN; /* out of memory: no silent wrong sum */
    /* Terms in element order, as a SIMD loop takes them: term j < L
     * starts lane j, later terms add into lane j mod L. */
    size_t used = n < lanes ? n : lanes; /* lanes l < used have terms */
    for (size_t j = 0; j < n; j++) {
        double v = x[(ptrdiff_t)j * stride];
        lane[j % lanes] = j < lanes ? v
                                    : nfi_arith_add(acc, lane[j % lanes], v);
    }
    for (size_t w = lanes / 2; w >= 1; w /= 2) {
        for (size_t l = 0; l < w; l++) {
            if (l + w < used) /* lane l + w has terms, so lane l has */
                lane[l] = nfi_arith_add(acc, lane[l], lane[l + w]);
        }
        if (used > w)
            used = w;
    }
    double total = lane[0];
    if (lane != stack_lane)
        free(lane);
    return total;
}

/* Rounds an exact sum into acc's format: one rounding, one index. */
static double round_exact_sum(nfi_arith *acc, const nfi_exact_sum *s)
{
    mpfr_t x, r;
    mpfr_inits2(2, x, r, (mpfr_ptr)0);
    nfi_exact_sum_get(s, x);
    uint32_t u = 0;
    if (acc->fast.mode == NFI_ROUND_SR)
        u = nfi_sr_bits(acc->fast.seed, acc->fast.counter++);
    if (mpfr_zero_p(x))
        mpfr_set_zero(x, 1);
    nfi_mpfr_round(r, x, 0, &acc->fast.format, acc->fast.mode, u);
    double d = mpfr_get_d(r, MPFR_RNDN); /* exact: a format value */
    mpfr_clears(x, r, (mpfr_ptr)0);
    return d;
}

double nfi_reduce_sum(nfi_arith *acc, const nfi_reduction *r, size_t n,
                      const double *x, ptrdiff_t stride)
{
    switch (r->kind) {
    case NFI_REDUCTION_SEQUENTIAL:
        return sum_sequential(acc, n, x, stride);
    case NFI_REDUCTION_PAIRWISE:
        return sum_pairwise(acc, n, x, stride);
    case NFI_REDUCTION_BLOCKED:
        return sum_blocked(acc, (size_t)r->param, n, x, stride);
    case NFI_REDUCTION_LANES:
        return sum_lanes(acc, (size_t)r->param, n, x, stride);
    case NFI_REDUCTION_EXACT: {
        nfi_exact_sum s;
        nfi_exact_sum_init(&s);
        for (size_t i = 0; i < n; i++)
            nfi_exact_sum_add(&s, x[(ptrdiff_t)i * stride]);
        double d = round_exact_sum(acc, &s);
        nfi_exact_sum_clear(&s);
        return d;
    }
    }
    return NAN;
}

double nfi_reduce_dot(nfi_arith *acc, const nfi_reduction *r, size_t n,
                      const double *a, ptrdiff_t stride_a, const double *b,
                      ptrdiff_t stride_b)
{
    if (r->kind == NFI_REDUCTION_EXACT) {
        nfi_exact_sum s;
        nfi_exact_sum_init(&s);
        for (size_t i = 0; i < n; i++)
            nfi_exact_sum_add_product(&s, a[(ptrdiff_t)i * stride_a],
                                      b[(ptrdiff_t)i * stride_b]);
        double d = round_exact_sum(acc, &s);
        nfi_exact_sum_clear(&s);
        return d;
    }
    if (n == 0)
        return 0.0;
    if (!acc->reference && r->kind == NFI_REDUCTION_SEQUENTIAL &&
        acc->fast.native_width != 0) {
        /* IEEE binary32 or binary64 in RNE: the hardware product and sum
         * are the correctly rounded ones, in the same order (no
         * contraction: the build sets -ffp-contract=off). */
        if (acc->fast.native_width == 32) {
            float s = (float)a[0] * (float)b[0];
            for (size_t i = 1; i < n; i++)
                s = s + (float)a[(ptrdiff_t)i * stride_a] *
                            (float)b[(ptrdiff_t)i * stride_b];
            return s;
        }
        double s = a[0] * b[0];
        for (size_t i = 1; i < n; i++)
            s = s + a[(ptrdiff_t)i * stride_a] * b[(ptrdiff_t)i * stride_b];
        return s;
    }
    if (acc->reference && r->kind == NFI_REDUCTION_SEQUENTIAL) {
        /* The reference twin's sequential order in one call into the MPFR
         * engine: the same roundings of the same values (each product,
         * then each sum), without converting the running values to
         * binary64 between them.  RNA and SR go on below. */
        double d;
        if (nfi_mpfr_dot_d(&acc->fast.format, acc->fast.mode, n, a,
                           stride_a, b, stride_b, &d) == 0)
            return d;
    }
    double stack_products[256];
    double *products = n <= 256 ? stack_products
                                : malloc(n * sizeof *products);
    if (products == NULL)
        return NAN; /* out of memory: no silent wrong sum */
    if (acc->reference) {
        for (size_t i = 0; i < n; i++)
            products[i] = nfi_arith_mul(acc, a[(ptrdiff_t)i * stride_a],
                                        b[(ptrdiff_t)i * stride_b]);
    } else {
        /* The fast engine's array product: the same roundings with the
         * same indices (element order), vectorised where it can be.  The
         * operands are gathered when strided. */
        double stack_x[256], stack_y[256];
        double *x = (double *)a, *y = (double *)b, *buffer = NULL;
        if (stride_a != 1 || stride_b != 1) {
            buffer = n <= 256 ? NULL : malloc(2 * n * sizeof *buffer);
            x = buffer ? buffer : stack_x;
            y = buffer ? buffer + n : stack_y;
            if (n > 256 && buffer == NULL) {
                if (products != stack_products)
                    free(products);
                return NAN;
            }
            for (size_t i = 0; i < n; i++) {
                x[i] = a[(ptrdiff_t)i * stride_a];
                y[i] = b[(ptrdiff_t)i * stride_b];
            }
        }
        nfi_fast_mul_array(&acc->fast, n, products, x, y);
        free(buffer);
    }
    double d = nfi_reduce_sum(acc, r, n, products, 1);
    if (products != stack_products)
        free(products);
    return d;
}
