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
    memset(s->digit, 0, sizeof s->digit);
    s->lo = NFI_EXACT_DIGITS;
    s->hi = -1;
    s->pending = 0;
    s->limit = 1U << 30;
    s->nan = 0;
    s->inf = 0;
}

void nfi_exact_sum_clear(nfi_exact_sum *s)
{
    (void)s; /* nothing allocated */
}

/* Moves the carries: digits lo..N-2 into [0, 2^32), the top digit
 * signed, the value unchanged (floor division by 2^32 on the signed
 * digits). */
static void move_carries(nfi_exact_sum *s)
{
    for (int i = s->lo < 0 ? 0 : s->lo; i < NFI_EXACT_DIGITS - 1; i++) {
        int64_t d = s->digit[i];
        int64_t c = (d - (int64_t)((uint64_t)d & 0xffffffffULL)) / 4294967296;
        s->digit[i] = d - c * 4294967296;
        s->digit[i + 1] += c;
    }
    if (s->hi >= 0)
        s->hi = NFI_EXACT_DIGITS - 1;
    s->pending = 0;
}

/* Adds (or subtracts, neg) x 2^pos to the digits, x < 2^64, pos >= 0:
 * x 2^(pos mod 32) spans three digits, each part below 2^32.  A digit
 * changes by less than 2^32 an addition, so after `limit` <= 2^30 of
 * them (each touching a digit at most three times) it stays below
 * 2^63 in magnitude: the carries move in time. */
static void add_bits(nfi_exact_sum *s, uint64_t x, long pos, bool neg)
{
    int d = (int)(pos / 32);
    unsigned __int128 t = (unsigned __int128)x << (pos % 32);
    int64_t part[3] = {(int64_t)(uint32_t)t, (int64_t)(uint32_t)(t >> 32),
                       (int64_t)(uint32_t)(t >> 64)};
    for (int k = 0; k < 3; k++)
        s->digit[d + k] += neg ? -part[k] : part[k];
    if (d < s->lo)
        s->lo = d;
    if (d + 2 > s->hi)
        s->hi = d + 2;
    if (++s->pending >= s->limit)
        move_carries(s);
}

/* x = m 2^e exactly with m an integer below 2^53, e >= -1074 (x finite,
 * not zero); *neg its sign.  From the bit pattern: a subnormal has the
 * exponent of the least normal and no hidden bit. */
static uint64_t split_bits(double x, long *e, bool *neg)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    *neg = b >> 63;
    uint64_t field = (b >> 52) & 0x7ff, m = b & ((1ULL << 52) - 1);
    if (field == 0) {
        *e = -1074;
        return m;
    }
    *e = (long)field - 1075;
    return m | (1ULL << 52);
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
    long e;
    bool neg;
    uint64_t m = split_bits(x, &e, &neg);
    add_bits(s, m, e + UNIT_SHIFT, neg); /* e + 2148 >= 1074 */
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
    long ea, eb;
    bool na, nb;
    uint64_t ma = split_bits(a, &ea, &na), mb = split_bits(b, &eb, &nb);
    /* ma mb < 2^106: its low and high 64 bits, at ea + eb + 2148 >= 0 */
    unsigned __int128 m = (unsigned __int128)ma * mb;
    long pos = ea + eb + UNIT_SHIFT;
    add_bits(s, (uint64_t)m, pos, na != nb);
    if ((uint64_t)(m >> 64) != 0)
        add_bits(s, (uint64_t)(m >> 64), pos + 64, na != nb);
}

/* The integer sum_i digit[i] 2^(32 i) into z.  With the carries moved,
 * a negative total shows as a negative top digit (the digits below it
 * in [0, 2^32)); it is then negated digit by digit, its carries moved
 * again, and the magnitude built from the digits touched, then negated.
 * Every digit of a non-negative total is then below 2^32 (the top one
 * too: the total stays far below 2^(32 * 135)). */
static void digits_to_mpz(const nfi_exact_sum *s, mpz_t z)
{
    mpz_set_ui(z, 0);
    if (s->hi < 0)
        return;
    nfi_exact_sum c = *s;
    move_carries(&c);
    bool negative = c.digit[NFI_EXACT_DIGITS - 1] < 0;
    if (negative) {
        for (int i = c.lo; i < NFI_EXACT_DIGITS; i++)
            c.digit[i] = -c.digit[i];
        move_carries(&c);
    }
    int top = NFI_EXACT_DIGITS - 1;
    while (top > c.lo && c.digit[top] == 0)
        top--;
    for (int i = top; i >= c.lo; i--) {
        mpz_mul_2exp(z, z, 32);
        mpz_add_ui(z, z, (unsigned long)c.digit[i]);
    }
    mpz_mul_2exp(z, z, 32 * (mp_bitcnt_t)c.lo);
    if (negative)
        mpz_neg(z, z);
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
    mpz_t z;
    mpz_init(z);
    digits_to_mpz(s, z);
    size_t bits = mpz_sizeinbase(z, 2);
    mpfr_set_prec(out, (mpfr_prec_t)(bits < 2 ? 2 : bits));
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    mpfr_set_z_2exp(out, z, -UNIT_SHIFT, MPFR_RNDN); /* exact */
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
    mpz_clear(z);
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
    if (s->hi < 0)
        return 0;
    nfi_exact_sum c = *s;
    move_carries(&c);
    for (int i = NFI_EXACT_DIGITS - 1; i >= c.lo; i--)
        if (c.digit[i] != 0)
            return c.digit[i] > 0 ? 1 : -1;
    return 0;
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
