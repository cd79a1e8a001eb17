/* nfi: the fast engine.  See engine_fast.h for the method; the argument
 * for each step is written beside it.  u53(a) below is the binary64 unit
 * in the last place of a, q the format's grid step. */
#include "engine_fast.h"

#include <math.h>
#include <string.h>

#include "elementary.h"
#include "lanes.h"
#include "engine_mpfr.h"
#include "engine_native.h"
#include "bits.h"
#include "cpu.h"

#define SIGN_BIT 0x8000000000000000ULL

/* Magnitude rounding directions; RU and RD become one of the first two by
 * the sign of the result. */
enum { DIR_TOWARD_ZERO, DIR_AWAY, DIR_NEAREST_EVEN, DIR_NEAREST_AWAY,
       DIR_STOCHASTIC };

static _Thread_local uint64_t fallback_count;

uint64_t nfi_fast_fallbacks(void)
{
    return fallback_count;
}


/* floor(log2(a)) for finite a > 0, subnormals included. */
static inline int exponent_of(double a)
{
    uint64_t b = nfi_bits_of(a);
    int biased = (int)(b >> 52);
    if (biased != 0)
        return biased - 1023;
    return -1074 + 63 - __builtin_clzll(b);
}

/* 2^e exactly, -1074 <= e <= 1023. */
static inline double pow2(int e)
{
    if (e >= -1022)
        return nfi_double_of((uint64_t)(e + 1023) << 52);
    return nfi_double_of(1ULL << (e + 1074));
}

/* a > 0 finite, ea = exponent_of(a): a with the bits below 2^qe cleared,
 * that is floor(a / 2^qe) * 2^qe.  The last bit of a weighs 2^(ea - 52)
 * (2^-1074 for a subnormal); when ea >= qe at most 52 bits are cleared. */
static inline double truncate_to(double a, int ea, int qe)
{
    if (ea < qe)
        return 0.0;
    int lsb = ea >= -1022 ? ea - 52 : -1074;
    int k = qe - lsb;
    if (k <= 0)
        return a;
    return nfi_double_of(nfi_bits_of(a) & ~((1ULL << k) - 1));
}

/* Grid exponent at a magnitude whose binade is e. */
static inline int grid_exponent(const nfi_fast *c, int e)
{
    return e >= c->emin ? e - c->p + 1 : c->qe_below_normal;
}

/* Whether T / 2^qe is odd, for T > 0 on the grid of step 2^qe. */
static inline bool grid_odd(double t, int qe)
{
    if (t == 0.0)
        return false;
    uint64_t b = nfi_bits_of(t);
    int et = exponent_of(t);
    int lsb = et >= -1022 ? et - 52 : -1074;
    uint64_t m = et >= -1022 ? (b & ((1ULL << 52) - 1)) | (1ULL << 52) : b;
    return (m >> (qe - lsb)) & 1;
}

/* The error of a result, x - s, in one of three exact descriptions. */
typedef struct exact_error {
    int kind;      /* ERR_DOUBLE, ERR_SIGN, ERR_EXPANSION */
    double e;      /* ERR_DOUBLE: the error; ERR_SIGN: any number of its
                      sign, the error being below u53(s)/2 in magnitude
                      and never exactly u53(s)/2 */
    double terms[4]; /* ERR_EXPANSION: non-overlapping, increasing */
    int n;
} exact_error;

enum { ERR_DOUBLE, ERR_SIGN, ERR_EXPANSION };

static inline void two_sum(double a, double b, double *s, double *t)
{
    /* Knuth's TwoSum: s + t == a + b exactly, barring overflow. */
    *s = a + b;
    double bb = *s - a;
    *t = (a - (*s - bb)) + (b - bb);
}

/* Sign of d + sum(terms): grow the expansion by d (Shewchuk's
 * Grow-Expansion keeps it non-overlapping) and take the sign of its
 * largest non-zero component. */
static int expansion_sign(const double *terms, int n, double d)
{
    double h[5], q = d;
    for (int i = 0; i < n; i++)
        two_sum(q, terms[i], &q, &h[i]);
    h[n] = q;
    for (int i = n; i >= 0; i--) {
        if (h[i] != 0.0)
            return h[i] > 0 ? 1 : -1;
    }
    return 0;
}

static inline int sign_of(double x)
{
    return (x > 0) - (x < 0);
}

/* Sign of d + scale * err, scale 1 or 2, where d is an exact double on a
 * grid no finer than u53(a) * 2^-32 (a the magnitude being rounded).
 * For ERR_DOUBLE, RN(d + e) has the sign of d + e: a sum of two doubles
 * is zero only when exact.  For ERR_SIGN the answer is only known when
 * |d| exceeds the error bound; *hard is set otherwise. */
static inline int error_compare(const exact_error *err, double d,
                                double scale, double u53, bool *hard)
{
    switch (err->kind) {
    case ERR_DOUBLE:
        return sign_of(d + scale * err->e);
    case ERR_SIGN:
        if (d == 0.0)
            return sign_of(err->e);
        if (fabs(d) < scale * u53 * 0.5)
            *hard = true;
        return sign_of(d);
    default: {
        double t[4];
        for (int i = 0; i < err->n; i++)
            t[i] = scale * err->terms[i];
        return expansion_sign(t, err->n, d);
    }
    }
}

static inline int error_sign(const exact_error *err)
{
    bool unused = false;
    return error_compare(err, 0.0, 1.0, 0.0, &unused);
}

/* Rounds the magnitude x = a + err (a > 0 finite, |err| <= u53(a)/2)
 * onto the grid in direction dir.  Returns the grid value, which may lie
 * above the largest finite value (the caller applies overflow).
 *
 * Let T be a truncated to the grid and R = a - T (exact: T <= a < T + q
 * and both lie on a's grid).  When R = 0 and err < 0, x lies just below
 * T: step T down by the grid step below it (half of q when T is a power
 * of two that starts a binade).  Then x = T + R + err with
 * 0 < R + err < q, and only the comparisons of R + err with q/2 (as
 * 2R - q against -2 err, exact even for q = 2^-1074) and with the
 * stochastic threshold remain. */
static inline double round_magnitude(const nfi_fast *c, double a,
                                     const exact_error *err, int dir,
                                     uint32_t u, bool *hard)
{
    int ea = exponent_of(a);
    int qe = grid_exponent(c, ea);
    double t = truncate_to(a, ea, qe);
    double r = a - t;
    double u53 = pow2(ea >= -1022 ? ea - 52 : -1074);

    if (r == 0.0) {
        int es = error_sign(err);
        if (es == 0)
            return a;
        if (es < 0) {
            bool power_of_two = (nfi_bits_of(t) & ((1ULL << 52) - 1)) == 0 &&
                                ea >= -1022;
            qe = grid_exponent(c, power_of_two ? ea - 1 : ea);
            r = pow2(qe);
            t -= r;
        }
    }
    double q = pow2(qe);

    switch (dir) {
    case DIR_TOWARD_ZERO:
        return t;
    case DIR_AWAY:
        return t + q;
    case DIR_NEAREST_EVEN:
    case DIR_NEAREST_AWAY: {
        int cmp = error_compare(err, 2.0 * r - q, 2.0, u53, hard);
        if (cmp < 0)
            return t;
        if (cmp > 0)
            return t + q;
        if (dir == DIR_NEAREST_AWAY)
            return t + q;
        return grid_odd(t, qe) ? t + q : t;
    }
    default: {
        /* hi when R + err >= q (2^32 - u) 2^-32; the threshold has 33
         * bits on the grid 2^(qe-32), representable when qe - 32 >=
         * -1074; R - threshold is then exact (both below q on that grid
         * or a's, at most 53 bits apart). */
        if (qe - 32 < -1074) {
            *hard = true;
            return t;
        }
        double threshold = (double)(0x100000000ULL - u) * pow2(qe - 32);
        int cmp = error_compare(err, r - threshold, 1.0, u53, hard);
        return cmp >= 0 ? t + q : t;
    }
    }
}

/* The general path of finish: any p, any position on the grid. */
static __attribute__((noinline)) double
finish_general(const nfi_fast *c, double s, exact_error *err, uint32_t u,
               bool *hard)
{
    bool neg = signbit(s);
    if (neg) {
        err->e = -err->e;
        for (int i = 0; i < err->n; i++)
            err->terms[i] = -err->terms[i];
    }
    double r = round_magnitude(c, fabs(s), err, c->kind[neg], u, hard);
    if (r > c->max_finite)
        r = c->overflow_value[neg];
    return neg ? -r : r;
}

/* Stochastic rounding of x = s + err by integer arithmetic, for
 * 21 <= p <= 51 (smaller p take the round-to-odd path) and results in
 * the format's normal range; returns 0 when the general path must
 * decide.  With T = s truncated to the grid, L = the bits below
 * it (units of u53(s)) and err' the error toward larger magnitude, x goes
 * away from zero when L u53 + err' >= q (2^32 - u) 2^-32, q = 2^shift
 * u53, that is when D 2^-32 u53 + err' >= 0 with the integer
 * D = L 2^32 - (2^32 - u) 2^shift.  |err'| <= u53 / 2, so |D| > 2^31
 * decides alone; otherwise D 2^-32 u53 is a double (32 bits) and the sign
 * of its sum with err' is exact (a sum of doubles is zero only when
 * exact).  When L = 0 and err' < 0, x lies below T, in the binade below
 * when T is a power of two: the general path takes that case. */
static inline int stochastic_bits(const nfi_fast *c, double s,
                                  const exact_error *err, bool neg,
                                  uint32_t u, double *out)
{
    uint64_t b = nfi_bits_of(s), sign = b & SIGN_BIT, mag = b ^ sign;
    if (mag - c->min_normal_bits > c->normal_span)
        return 0;
    int es = error_sign(err);
    if (neg)
        es = -es;
    uint64_t low = mag & c->low_mask, r = mag - low;
    if (low == 0 && es <= 0) {
        if (es < 0)
            return 0;
        *out = s; /* exact */
        return 1;
    }
    __int128 d = ((__int128)low << 32) -
                 ((__int128)(0x100000000ULL - u) << c->shift);
    bool away;
    if (d > ((__int128)1 << 31)) {
        away = true;
    } else if (d < -((__int128)1 << 31)) {
        away = false;
    } else {
        int ea = (int)(mag >> 52) - 1023;
        if (err->kind != ERR_DOUBLE || ea - 84 < -1074)
            return 0;
        double e = neg ? -err->e : err->e;
        away = (double)(int64_t)d * pow2(ea - 84) + e >= 0.0;
    }
    r += away ? c->low_mask + 1 : 0;
    if (r > c->max_finite_bits)
        return 0;
    *out = nfi_double_of(r | sign);
    return 1;
}

/* Rounds x = s + err into the format; s finite and non-zero.  Sets *hard
 * when the answer could not be decided. */
static inline __attribute__((always_inline)) double
finish(nfi_fast *c, double s, exact_error *err, uint32_t u, bool *hard)
{
    bool neg = signbit(s);
    if (c->sr_bits_path && c->kind[neg] == DIR_STOCHASTIC) {
        double r;
        if (stochastic_bits(c, s, err, neg, u, &r))
            return r;
    } else if (c->bits_path) {
        /* Round-to-odd at 53 bits: s itself when exact or when its last
         * bit is 1, else its binary64 neighbour toward x (adjacent
         * magnitudes have adjacent bit patterns).  With p <= 51 that
         * value rounds to the same p-bit result as x in every mode (Boldo
         * and Melquiond 2008), and for p <= 20 it compares with every
         * stochastic threshold (p + 32 bits) as x does.  The bit rounding
         * below is that of a normal binade; results outside the format's
         * normal range take the general path. */
        uint64_t b = nfi_bits_of(s), sign = b & SIGN_BIT, mag = b ^ sign;
        int es = error_sign(err);
        if (es != 0 && (mag & 1) == 0)
            mag += (es > 0) != neg ? 1 : (uint64_t)-1;
        if (mag - c->min_normal_bits <= c->normal_span) {
            uint64_t low = mag & c->low_mask, r = mag - low;
            switch (c->kind[neg]) {
            case DIR_TOWARD_ZERO:
                break;
            case DIR_AWAY:
                r += low ? c->low_mask + 1 : 0;
                break;
            case DIR_NEAREST_EVEN:
                r = (mag + c->half_minus_one + ((mag >> c->shift) & 1)) &
                    ~c->low_mask;
                break;
            case DIR_NEAREST_AWAY:
                r = (mag + c->half_minus_one + 1) & ~c->low_mask;
                break;
            default: {
                uint64_t threshold = (0x100000000ULL - u) << (c->shift - 32);
                r += low >= threshold ? c->low_mask + 1 : 0;
                break;
            }
            }
            if (r <= c->max_finite_bits)
                return nfi_double_of(r | sign);
        }
    }
    return finish_general(c, s, err, u, hard);
}

/* RNE rounding of an exact binary64 value y; any p <= 53. */
static double round_rne_slow(const nfi_fast *c, double y);

static inline double round_rne(const nfi_fast *c, double y)
{
    uint64_t b = nfi_bits_of(y);
    uint64_t sign = b & SIGN_BIT, mag = b ^ sign;
    if (mag >= c->min_normal_bits && mag <= c->max_finite_bits) {
        /* Round the significand to p bits, ties to even: add just under
         * half a grid step plus the parity bit, then clear; a carry
         * correctly moves into the exponent. */
        int s = c->shift;
        if (s > 0) {
            mag += (1ULL << (s - 1)) - 1 + ((mag >> s) & 1);
            mag &= ~((1ULL << s) - 1);
            if (mag > c->max_finite_bits)
                return sign ? -c->overflow_value[1] : c->overflow_value[0];
        }
        return nfi_double_of(mag | sign);
    }
    return round_rne_slow(c, y);
}

static double round_rne_slow(const nfi_fast *c, double y)
{
    if (isnan(y))
        return y;
    bool neg = signbit(y);
    double a = fabs(y);
    if (isinf(y) || a > c->max_finite) {
        /* Above the largest finite value: round with an unbounded top,
         * then apply overflow. */
        if (isinf(y))
            return neg ? -c->overflow_value[1] : c->overflow_value[0];
        exact_error none = {ERR_DOUBLE, 0.0, {0}, 0};
        bool hard = false;
        double r = round_magnitude(c, a, &none, DIR_NEAREST_EVEN, 0, &hard);
        if (r > c->max_finite)
            r = c->overflow_value[neg];
        return neg ? -r : r;
    }
    if (a == 0.0)
        return y;
    if (!c->format.subnormals) {
        /* Only 0 and 2^emin below 2^emin; the half-way case goes to 0. */
        double half = pow2(c->emin - 1);
        double r = a > half ? pow2(c->emin) : 0.0;
        return neg ? -r : r;
    }
    /* Below 2^emin the grid step is 2^(emin-p+1): one binary64 addition of
     * 2^(emin-p+1+52) rounds to that grid (RNE), the subtraction is
     * exact. */
    double r = (a + c->subnormal_magic) - c->subnormal_magic;
    return neg ? -r : r;
}

/* Exact infinity (from infinite operands or a division by zero). */
static inline double exact_infinity(const nfi_fast *c, bool neg)
{
    return neg ? -c->inf_value[1] : c->inf_value[0];
}

static double fall_back(nfi_fast *c, nfi_op op, double a, double b,
                        double d, uint32_t u)
{
    fallback_count++;
    return nfi_mpfr_op_d(op, a, b, d, &c->format, c->mode, u);
}

static inline uint32_t next_bits(nfi_fast *c)
{
    if (c->mode != NFI_ROUND_SR)
        return 0;
    return nfi_sr_bits(c->seed, c->counter++);
}

int nfi_fast_init(nfi_fast *ctx, const nfi_format *f, nfi_round mode,
                  uint64_t seed, nfi_error *err)
{
    if (nfi_format_validate(f, err) != 0)
        return -1;
    if (!nfi_format_fits_binary64(f))
        return nfi_error_set(err, "the fast engine needs a format inside "
                             "binary64 (p <= 53, -1022 <= emin, emax <= "
                             "1023); this one has p=%ld, emin=%ld, emax=%ld: "
                             "use the mpfr engine", f->p, f->emin, f->emax);
    if ((int)mode < 0 || (int)mode >= NFI_ROUND_COUNT)
        return nfi_error_set(err, "rounding mode %d is not a mode",
                             (int)mode);
    memset(ctx, 0, sizeof *ctx);
    ctx->format = *f;
    ctx->mode = mode;
    ctx->seed = seed;
    ctx->p = (int)f->p;
    ctx->emin = (int)f->emin;
    ctx->qe_below_normal = f->subnormals ? (int)(f->emin - f->p + 1)
                                         : (int)f->emin;
    ctx->plain_rne = mode == NFI_ROUND_RNE && f->p <= 25;
    ctx->max_finite = nfi_format_max_finite_d(f);
    ctx->max_finite_bits = nfi_bits_of(ctx->max_finite);
    ctx->min_normal_bits = nfi_bits_of(pow2((int)f->emin));
    ctx->shift = 53 - (int)f->p;
    ctx->subnormal_magic = pow2((int)(f->emin - f->p + 1) + 52);
    ctx->bits_path = f->p <= 51 && (mode != NFI_ROUND_SR || f->p <= 20);
    ctx->sr_bits_path = f->p > 20 && f->p <= 51 && mode == NFI_ROUND_SR;
    ctx->low_mask = ctx->shift ? (1ULL << ctx->shift) - 1 : 0;
    ctx->half_minus_one = ctx->shift ? (1ULL << (ctx->shift - 1)) - 1 : 0;
    ctx->parity_mask = ctx->shift ? 1 : 0;
    ctx->normal_span = ctx->max_finite_bits - ctx->min_normal_bits;
    ctx->products_never_tiny = 2 * (f->emin - f->p + 1) >= -1022;
    ctx->native_width = nfi_native_width(f, mode);

    for (int neg = 0; neg < 2; neg++) {
        int dir;
        switch (mode) {
        case NFI_ROUND_RNE: dir = DIR_NEAREST_EVEN; break;
        case NFI_ROUND_RNA: dir = DIR_NEAREST_AWAY; break;
        case NFI_ROUND_RZ: dir = DIR_TOWARD_ZERO; break;
        case NFI_ROUND_RU: dir = neg ? DIR_TOWARD_ZERO : DIR_AWAY; break;
        case NFI_ROUND_RD: dir = neg ? DIR_AWAY : DIR_TOWARD_ZERO; break;
        default: dir = DIR_STOCHASTIC; break;
        }
        ctx->kind[neg] = dir;
        bool toward_inf = dir != DIR_TOWARD_ZERO;
        if (f->overflow == NFI_OVERFLOW_SATURATE || !toward_inf)
            ctx->overflow_value[neg] = ctx->max_finite;
        else
            ctx->overflow_value[neg] = f->has_inf ? INFINITY : NAN;
        if (f->has_inf)
            ctx->inf_value[neg] = INFINITY;
        else
            ctx->inf_value[neg] = f->overflow == NFI_OVERFLOW_SATURATE ?
                                      ctx->max_finite : NAN;
    }
    return 0;
}

/* Rounds an exact binary64 value y (finite, non-zero) into the format. */
static inline double round_exact(nfi_fast *c, double y, uint32_t u,
                                 bool *hard)
{
    if (c->mode == NFI_ROUND_RNE)
        return round_rne(c, y);
    exact_error none = {ERR_DOUBLE, 0.0, {0}, 0};
    return finish(c, y, &none, u, hard);
}

static inline double fast_round(nfi_fast *c, double x)
{
    uint32_t u = next_bits(c);
    if (isnan(x) || x == 0.0)
        return x;
    if (isinf(x))
        return exact_infinity(c, x < 0);
    bool hard = false;
    double r = round_exact(c, x, u, &hard);
    return hard ? fall_back(c, NFI_OP_CVT, x, 0.0, 0.0, u) : r;
}

static inline double fast_add(nfi_fast *c, double a, double b)
{
    double s = a + b;
    if (c->plain_rne) {
        /* Sums below 2^-1021 are exact in binary64, so the only rounding
         * before ours is that of a normal result. */
        if (isinf(s) && (isinf(a) || isinf(b)))
            return exact_infinity(c, s < 0);
        return round_rne(c, s);
    }
    uint32_t u = next_bits(c);
    if (!isfinite(s)) {
        if (isnan(s))
            return s;
        if (isinf(a) || isinf(b))
            return exact_infinity(c, s < 0);
        return fall_back(c, NFI_OP_ADD, a, b, 0.0, u);
    }
    if (s == 0.0) {
        /* A binary64 sum is zero only when exact.  IEEE 754 6.3. */
        if (c->mode == NFI_ROUND_RD &&
            (a != 0.0 || signbit(a) || signbit(b)))
            return -0.0;
        return s;
    }
    /* No intermediate of TwoSum overflows when |a|, |b| <= 2^1021: |s|
     * <= 2^1022, |s - a| <= 3 2^1021, |s - bb| <= 5 2^1021, the two
     * differences after them <= 6 2^1021 and 4 2^1021, and their sum is
     * the exact error, below an ulp of s: all below the largest
     * binary64.  Beyond, s - a may overflow (a = 1.5 2^971, b = -the
     * largest binary64: s - a = -(2^1024 - 2^970), a tie that rounds to
     * -inf), so formats that reach so far take the fallback there. */
    if (fabs(a) > 0x1p1021 || fabs(b) > 0x1p1021)
        return fall_back(c, NFI_OP_ADD, a, b, 0.0, u);
    exact_error err = {ERR_DOUBLE, 0.0, {0}, 0};
    double t;
    two_sum(a, b, &s, &t);
    err.e = t;
    bool hard = false;
    double r = finish(c, s, &err, u, &hard);
    return hard ? fall_back(c, NFI_OP_ADD, a, b, 0.0, u) : r;
}

static inline double fast_sub(nfi_fast *c, double a, double b)
{
    return fast_add(c, a, -b);
}

/* Whether an operation on finite a, b gave a special s (0, inf, NaN) that
 * is exact: returns 1 and sets *out, or 0 when s needs the fallback. */
static inline int special_result(nfi_fast *c, double s, double a, double b,
                                 double *out)
{
    if (isnan(s)) {
        *out = s;
        return 1;
    }
    bool operand_special = a == 0.0 || b == 0.0 || isinf(a) || isinf(b);
    if (!operand_special)
        return 0;
    *out = isinf(s) ? exact_infinity(c, s < 0) : s;
    return 1;
}

static inline double fast_mul(nfi_fast *c, double a, double b)
{
    double s = a * b;
    double out;
    if (c->plain_rne) {
        /* Two p <= 25 bit significands multiply exactly into 53 bits, so
         * a normal s is the exact product. */
        if (fabs(s) >= 0x1p-1021 && !isinf(s))
            return round_rne(c, s);
        if (special_result(c, s, a, b, &out))
            return out;
        if (isinf(s))
            return round_rne(c, s);
        return fall_back(c, NFI_OP_MUL, a, b, 0.0, 0);
    }
    uint32_t u = next_bits(c);
    if (!(fabs(s) >= 0x1p-968) || isinf(s)) {
        if (special_result(c, s, a, b, &out))
            return out;
        return fall_back(c, NFI_OP_MUL, a, b, 0.0, u);
    }
    /* |s| >= 2^-968: the product error is a multiple of
     * u53(a) u53(b) >= 2^-1074 and fma gives it exactly. */
    exact_error err = {ERR_DOUBLE, fma(a, b, -s), {0}, 0};
    bool hard = false;
    double r = finish(c, s, &err, u, &hard);
    return hard ? fall_back(c, NFI_OP_MUL, a, b, 0.0, u) : r;
}

static inline double fast_div(nfi_fast *c, double a, double b)
{
    double q = a / b;
    double out;
    uint32_t u = next_bits(c);
    bool ordinary = fabs(a) >= 0x1p-900 && fabs(b) >= 0x1p-900 &&
                    fabs(q) >= 0x1p-900 && fabs(q) <= 0x1p900 &&
                    fabs(b) <= 0x1p900;
    if (!ordinary) {
        if (!isfinite(q) || q == 0.0 || isnan(a) || isnan(b)) {
            if (special_result(c, q, a, b, &out))
                return out;
        }
        return fall_back(c, NFI_OP_DIV, a, b, 0.0, u);
    }
    if (c->plain_rne)
        return round_rne(c, q); /* innocuous: 53 >= 2p */
    /* With no underflow the remainder a - q b is a binary64 number and the
     * FMA gives it exactly; a / b is never a binary64 midpoint, so the
     * sign is all that is needed (ERR_SIGN). */
    double r = fma(-q, b, a);
    double sign = r == 0.0 ? 0.0 : ((r > 0) == (b > 0) ? 1.0 : -1.0);
    exact_error err = {ERR_SIGN, sign, {0}, 0};
    bool hard = false;
    double res = finish(c, q, &err, u, &hard);
    return hard ? fall_back(c, NFI_OP_DIV, a, b, 0.0, u) : res;
}

static inline double fast_sqrt(nfi_fast *c, double a)
{
    uint32_t u = next_bits(c);
    if (!(a > 0.0) || isinf(a)) {
        if (isinf(a) && a > 0)
            return exact_infinity(c, false);
        return a == 0.0 ? a : NAN; /* sqrt(-0) = -0 */
    }
    double s = sqrt(a);
    if (c->plain_rne)
        return round_rne(c, s); /* innocuous: 53 >= 2p + 2; s normal */
    if (a < 0x1p-900)
        return fall_back(c, NFI_OP_SQRT, a, 0.0, 0.0, u);
    /* a - s^2 is exact (no underflow), its sign is that of sqrt(a) - s,
     * and sqrt(a) is never a binary64 midpoint. */
    double r = fma(-s, s, a);
    exact_error err = {ERR_SIGN, (double)sign_of(r), {0}, 0};
    bool hard = false;
    double res = finish(c, s, &err, u, &hard);
    return hard ? fall_back(c, NFI_OP_SQRT, a, 0.0, 0.0, u) : res;
}

/* Shewchuk's Grow-Expansion: adds b to the non-overlapping expansion
 * e[0..n-1] (increasing magnitude), giving n + 1 terms in h. */
static void grow_expansion(const double *e, int n, double b, double *h)
{
    double q = b;
    for (int i = 0; i < n; i++)
        two_sum(q, e[i], &q, &h[i]);
    h[n] = q;
}

static inline double fast_fma(nfi_fast *c, double a, double b, double d)
{
    uint32_t u = next_bits(c);
    double s = fma(a, b, d);
    double ph = a * b;
    bool finite = isfinite(a) && isfinite(b) && isfinite(d);
    if (!finite || isnan(s)) {
        if (isnan(s))
            return s;
        if (isinf(s) && !finite)
            return exact_infinity(c, s < 0);
        return fall_back(c, NFI_OP_FMA, a, b, d, u);
    }
    if (a != 0.0 && b != 0.0 && !(fabs(ph) >= 0x1p-968))
        return fall_back(c, NFI_OP_FMA, a, b, d, u);
    /* The expansions' TwoSums overflow no intermediate when every term
     * stays below 2^1020 (see fast_add). */
    if (isinf(s) || isinf(ph) || fabs(d) > 0x1p1020 || fabs(ph) > 0x1p1020)
        return fall_back(c, NFI_OP_FMA, a, b, d, u);
    if (s == 0.0) {
        /* Exact zero (a b is 0 or a multiple of 2^-1072, d of 2^-1074). */
        if (c->mode == NFI_ROUND_RD &&
            (ph != 0.0 || d != 0.0 || signbit(ph) || signbit(d)))
            return -0.0;
        if (c->mode != NFI_ROUND_RD && ph != 0.0)
            return 0.0;
        return s;
    }
    /* x - s = pl + ph + d - s exactly, as a non-overlapping expansion. */
    double pl = fma(a, b, -ph);
    double e2[2] = {pl, ph}, e3[3], e4[4];
    grow_expansion(e2, 2, d, e3);
    grow_expansion(e3, 3, -s, e4);
    exact_error err = {ERR_EXPANSION, 0.0, {e4[0], e4[1], e4[2], e4[3]}, 4};
    bool hard = false;
    double r = finish(c, s, &err, u, &hard);
    return hard ? fall_back(c, NFI_OP_FMA, a, b, d, u) : r;
}

/* Rounds the enclosure [lo, hi] of an exact transcendental value: when
 * both ends round alike so does every point between (rounding, for a
 * fixed stochastic u too, is monotone).  Returns 1 and sets *out, or 0. */
static inline int round_enclosure(nfi_fast *c, double lo, double hi,
                                  uint32_t u, double *out)
{
    bool hard = false;
    double r1 = round_exact(c, lo, u, &hard);
    double r2 = round_exact(c, hi, u, &hard);
    if (hard || nfi_bits_of(r1) != nfi_bits_of(r2))
        return 0;
    *out = r1;
    return 1;
}

/* Rounds the enclosure [hi + lo - d, hi + lo + d] (hi > 0, |lo| and d
 * far below an ulp of hi) as round_enclosure does: each end is the exact
 * sum s + t of a TwoSum, rounded through finish with that error. */
static inline int round_enclosure_dd(nfi_fast *c, double hi, double lo,
                                     double d, uint32_t u, double *out)
{
    bool hard = false;
    double s, t;
    if (c->native_width == 64) {
        /* IEEE binary64 in RNE: TwoSum's s is the binary64 RNE of each
         * end itself (ends above 2^-1022: no underflow). */
        two_sum(hi, lo - d, &s, &t);
        double s2;
        two_sum(hi, lo + d, &s2, &t);
        if (nfi_bits_of(s) != nfi_bits_of(s2))
            return 0;
        *out = s;
        return 1;
    }
    two_sum(hi, lo - d, &s, &t);
    exact_error below = {ERR_DOUBLE, t, {0}, 0};
    double r1 = t == 0.0 ? round_exact(c, s, u, &hard)
                         : finish(c, s, &below, u, &hard);
    two_sum(hi, lo + d, &s, &t);
    exact_error above = {ERR_DOUBLE, t, {0}, 0};
    double r2 = t == 0.0 ? round_exact(c, s, u, &hard)
                         : finish(c, s, &above, u, &hard);
    if (hard || nfi_bits_of(r1) != nfi_bits_of(r2))
        return 0;
    *out = r1;
    return 1;
}

static inline double fast_exp(nfi_fast *c, double a)
{
    uint32_t u = next_bits(c);
    if (isnan(a))
        return a;
    if (a == 0.0)
        return 1.0; /* exact; 1 is in every format */
    if (isinf(a))
        return a > 0 ? exact_infinity(c, false) : 0.0;
    double y, out;
    /* y is within 2^-48 |exp(a)|; the products below round by at most
     * 2^-53 y, so [lo, hi] holds exp(a). */
    if (nfi_elem_exp(a, &y) &&
        round_enclosure(c, y * (1.0 - 0x1p-47), y * (1.0 + 0x1p-47), u,
                        &out))
        return out;
    /* The second stage: exp(a) = hi + lo within 2^-96, so within
     * [hi + (lo - d), hi + (lo + d)] with d = 2^-95 hi (the roundings of
     * the two ends' low parts, below 2^-105 hi, are covered twice over). */
    double hi, lo;
    if (nfi_elem_exp_dd(a, &hi, &lo) &&
        round_enclosure_dd(c, hi, lo, hi * 0x1p-95, u, &out))
        return out;
    return fall_back(c, NFI_OP_EXP, a, 0.0, 0.0, u);
}

static inline double fast_log(nfi_fast *c, double a)
{
    uint32_t u = next_bits(c);
    if (isnan(a) || a < 0.0)
        return NAN;
    if (a == 0.0)
        return exact_infinity(c, true);
    if (isinf(a))
        return exact_infinity(c, false);
    if (a == 1.0)
        return 0.0;
    double y, out;
    if (nfi_elem_log(a, &y)) {
        double d = fabs(y) * 0x1p-47;
        if (round_enclosure(c, y - d, y + d, u, &out))
            return out;
    }
    return fall_back(c, NFI_OP_LOG, a, 0.0, 0.0, u);
}

double nfi_fast_min(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    if (a == b)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}

double nfi_fast_max(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    if (a == b)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

nfi_order nfi_fast_compare(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NFI_ORDER_UNORDERED;
    return a < b ? NFI_ORDER_LESS : a > b ? NFI_ORDER_GREATER
                                          : NFI_ORDER_EQUAL;
}

static inline double fast_op(nfi_fast *c, nfi_op op, double a, double b,
                             double d)
{
    switch (op) {
    case NFI_OP_ADD: return fast_add(c, a, b);
    case NFI_OP_SUB: return fast_sub(c, a, b);
    case NFI_OP_MUL: return fast_mul(c, a, b);
    case NFI_OP_DIV: return fast_div(c, a, b);
    case NFI_OP_SQRT: return fast_sqrt(c, a);
    case NFI_OP_FMA: return fast_fma(c, a, b, d);
    case NFI_OP_EXP: return fast_exp(c, a);
    case NFI_OP_LOG: return fast_log(c, a);
    case NFI_OP_CVT: return fast_round(c, a);
    case NFI_OP_NEG: return -a;
    case NFI_OP_ABS: return fabs(a);
    case NFI_OP_MIN: return nfi_fast_min(a, b);
    case NFI_OP_MAX: return nfi_fast_max(a, b);
    }
    return NAN;
}

/* Arrays in RNE with p <= 25 (or any p for plain rounding): a first pass
 * without branches rounds a block as if every result were a normal
 * format value and notes whether any was not; such a block is done again
 * element by element.  Blocks keep the inputs intact when out aliases
 * them. */
#define BLOCK 64

enum { ARRAY_ROUND, ARRAY_ADD, ARRAY_MUL, ARRAY_ADD_EXACT,
       ARRAY_MUL_EXACT };

/* One block of at most BLOCK results into block[], rounded as if every
 * result were a normal format value (or an exact zero, where zero_ok);
 * returns non-zero when any was not.  Written without branches and with
 * the context's constants in locals, so that the compiler vectorises it;
 * inlined with a constant kind. */
static inline __attribute__((always_inline)) uint64_t
rne_block(const nfi_fast *c, int kind, size_t m, double *restrict block,
          const double *x, const double *y)
{
    const int shift = c->shift;
    const uint64_t half = c->half_minus_one, parity = c->parity_mask;
    const uint64_t keep = ~c->low_mask, min = c->min_normal_bits;
    const uint64_t span = c->normal_span, max = c->max_finite_bits;
    const uint64_t zero_ok = (kind != ARRAY_MUL && kind != ARRAY_MUL_EXACT) ||
                             c->products_never_tiny;
    /* ARRAY_*_EXACT (RNE, 26 <= p <= 52): s = RN(x) and its exact error
     * t (TwoSum, or fma for products, exact for |s| >= 2^-968).  RNE of s
     * is RNE of x unless s is a grid midpoint and t != 0: a midpoint is
     * at least u53(s) from every other binary64 number that is not one,
     * and |t| <= u53(s)/2 (u53(s)/4 below a power of two, where the grid
     * below is still coarser than 4 u53 for p <= 52).  Then x goes to the
     * neighbour on t's side. */
    const bool exact = kind == ARRAY_ADD_EXACT || kind == ARRAY_MUL_EXACT;
    const uint64_t half_step = half + 1, step = c->low_mask + 1;
    const uint64_t tiny = 0x0370000000000000ULL; /* bits of 2^-968 */
    uint64_t outside = 0;
    for (size_t i = 0; i < m; i++) {
        double v, t = 0.0;
        if (kind == ARRAY_ROUND) {
            v = x[i];
        } else if (kind == ARRAY_ADD || kind == ARRAY_ADD_EXACT) {
            v = x[i] + y[i];
            if (exact) {
                double bb = v - x[i];
                t = (x[i] - (v - bb)) + (y[i] - bb);
            }
        } else {
            v = x[i] * y[i];
            if (exact)
                t = fma(x[i], y[i], -v);
        }
        uint64_t b = nfi_bits_of(v), sign = b & SIGN_BIT, mag = b ^ sign;
        uint64_t r = (mag + half + ((mag >> shift) & parity)) & keep;
        if (exact) {
            /* Integer masks only, so that the loop vectorises. */
            uint64_t tb = nfi_bits_of(t);
            uint64_t t_nonzero = (tb << 1) != 0;
            uint64_t up = ((tb ^ b) >> 63) ^ 1; /* t has s's sign */
            uint64_t mid = -(((mag & ~keep) == half_step) & t_nonzero);
            uint64_t r_mid = (mag & keep) + (step & -up);
            r = (r & ~mid) | (r_mid & mid);
        }
        uint64_t zero = mag == 0;
        outside |= ((uint64_t)(mag - min > span) & ~(zero & zero_ok)) |
                   (uint64_t)(r > max);
        if (kind == ARRAY_MUL_EXACT)
            outside |= (uint64_t)(mag < tiny) & ~zero;
        block[i] = nfi_double_of(r | sign);
    }
    return outside;
}

static inline __attribute__((always_inline)) void
rne_array(nfi_fast *c, int kind, size_t n, double *out, const double *a,
          const double *b)
{
    double block[BLOCK];
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t m = n - start < BLOCK ? n - start : BLOCK;
        const double *x = a + start, *y = b ? b + start : NULL;
        if (rne_block(c, kind, m, block, x, y)) {
            for (size_t i = 0; i < m; i++)
                block[i] = kind == ARRAY_ROUND ? fast_round(c, x[i])
                           : kind == ARRAY_ADD || kind == ARRAY_ADD_EXACT
                               ? fast_add(c, x[i], y[i])
                               : fast_mul(c, x[i], y[i]);
        }
        memcpy(out + start, block, m * sizeof *block);
    }
}

NFI_FMA_CLONES
void nfi_fast_add_array(nfi_fast *c, size_t n, double *out, const double *a,
                        const double *b)
{
    if (c->native_width == 32) {
        /* IEEE binary32 sums of binary32 values held in doubles. */
        for (size_t i = 0; i < n; i++)
            out[i] = (float)a[i] + (float)b[i];
        return;
    }
    if (c->native_width == 64) {
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] + b[i];
        return;
    }
    if (c->plain_rne) {
        rne_array(c, ARRAY_ADD, n, out, a, b);
        return;
    }
    if (c->mode == NFI_ROUND_RNE && c->p <= 52) {
        rne_array(c, ARRAY_ADD_EXACT, n, out, a, b);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = fast_add(c, a[i], b[i]);
}

NFI_FMA_CLONES
void nfi_fast_mul_array(nfi_fast *c, size_t n, double *out, const double *a,
                        const double *b)
{
    if (c->native_width == 32) {
        /* IEEE binary32 products of binary32 values held in doubles. */
        for (size_t i = 0; i < n; i++)
            out[i] = (float)a[i] * (float)b[i];
        return;
    }
    if (c->native_width == 64) {
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] * b[i];
        return;
    }
    /* A normal product of p <= 25 bit significands is exact. */
    if (c->plain_rne) {
        rne_array(c, ARRAY_MUL, n, out, a, b);
        return;
    }
    if (c->mode == NFI_ROUND_RNE && c->p <= 52) {
        rne_array(c, ARRAY_MUL_EXACT, n, out, a, b);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = fast_mul(c, a[i], b[i]);
}

NFI_FMA_CLONES
void nfi_fast_exp_array(nfi_fast *c, size_t n, double *out, const double *a)
{
    size_t i = 0;
    if (c->plain_rne) {
        /* Four at a time: the first stage on four lanes (the scalar
         * stage's bits), both ends of each enclosure rounded as
         * round_enclosure does (RNE by bits in the normal range); a lane
         * that is undecided, outside the normal range or special (the
         * first stage declines NaN, infinities and |a| >= 690; a = 0
         * gives y = 1 exactly, which rounds to 1) takes fast_exp. */
        const nfi_lanes_rne k = nfi_lanes_rne_of(c);
        /* Eight at a time (two independent groups), the rest padded
         * with zeros (whose lanes are computed and dropped). */
        for (; i < n; i += 8) {
            size_t count = n - i < 8 ? n - i : 8;
            double x[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, y[8];
            memcpy(x, a + i, count * sizeof *x);
            unsigned answered = count > 4 ? nfi_elem_exp8(x, y)
                                          : nfi_elem_exp4(x, y);
            for (size_t g = 0; g < count; g += 4) {
                nfi_v4d v = nfi_load4(y + g);
                nfi_v4u outside = {0, 0, 0, 0};
                nfi_v4d lo = nfi_lanes_round(&k, v * (1.0 - 0x1p-47),
                                             &outside);
                nfi_v4d hi = nfi_lanes_round(&k, v * (1.0 + 0x1p-47),
                                             &outside);
                for (size_t l = 0; l < 4 && g + l < count; l++) {
                    bool ok = (answered >> (g + l) & 1) && outside[l] == 0 &&
                              nfi_bits_of(lo[l]) == nfi_bits_of(hi[l]);
                    out[i + g + l] = ok ? lo[l] : fast_exp(c, a[i + g + l]);
                }
            }
        }
    }
    for (; i < n; i++)
        out[i] = fast_exp(c, a[i]);
}

NFI_FMA_CLONES
void nfi_fast_round_array(nfi_fast *c, size_t n, double *out,
                          const double *x)
{
    if (c->mode == NFI_ROUND_RNE) {
        rne_array(c, ARRAY_ROUND, n, out, x, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = fast_round(c, x[i]);
}

NFI_FMA_CLONES
double nfi_fast_sum(nfi_fast *c, size_t n, const double *x)
{
    if (n == 0)
        return 0.0;
    if (c->native_width == 32) {
        /* IEEE binary32 addition is the correctly rounded sum; the terms
         * are binary32 values, so the conversions are exact. */
        float s = (float)x[0];
        for (size_t i = 1; i < n; i++)
            s = s + (float)x[i];
        return s;
    }
    if (c->native_width == 64) {
        double s = x[0];
        for (size_t i = 1; i < n; i++)
            s = s + x[i];
        return s;
    }
    double s = x[0];
    for (size_t i = 1; i < n; i++)
        s = fast_add(c, s, x[i]);
    return s;
}

NFI_FMA_CLONES
double nfi_fast_dot(nfi_fast *c, size_t n, const double *a, const double *b)
{
    if (c->native_width == 32) {
        /* IEEE binary32 products and sums (contraction is off). */
        float acc = 0.0f;
        for (size_t i = 0; i < n; i++)
            acc = acc + (float)a[i] * (float)b[i];
        return acc;
    }
    if (c->native_width == 64) {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++)
            acc = acc + a[i] * b[i];
        return acc;
    }
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc = fast_add(c, acc, fast_mul(c, a[i], b[i]));
    return acc;
}

/* Public entry points: each built with and without FMA instructions. */

NFI_FMA_CLONES
double nfi_fast_round(nfi_fast *c, double x)
{
    return fast_round(c, x);
}

NFI_FMA_CLONES
double nfi_fast_add(nfi_fast *c, double a, double b)
{
    return fast_add(c, a, b);
}

NFI_FMA_CLONES
double nfi_fast_sub(nfi_fast *c, double a, double b)
{
    return fast_sub(c, a, b);
}

NFI_FMA_CLONES
double nfi_fast_mul(nfi_fast *c, double a, double b)
{
    return fast_mul(c, a, b);
}

NFI_FMA_CLONES
double nfi_fast_div(nfi_fast *c, double a, double b)
{
    return fast_div(c, a, b);
}

NFI_FMA_CLONES
double nfi_fast_sqrt(nfi_fast *c, double a)
{
    return fast_sqrt(c, a);
}

NFI_FMA_CLONES
double nfi_fast_fma(nfi_fast *c, double a, double b, double d)
{
    return fast_fma(c, a, b, d);
}

NFI_FMA_CLONES
double nfi_fast_exp(nfi_fast *c, double a)
{
    return fast_exp(c, a);
}

NFI_FMA_CLONES
double nfi_fast_log(nfi_fast *c, double a)
{
    return fast_log(c, a);
}

NFI_FMA_CLONES
double nfi_fast_op(nfi_fast *c, nfi_op op, double a, double b, double d)
{
    return fast_op(c, op, a, b, d);
}
