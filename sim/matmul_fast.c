/* nfi: row-at-a-time matrix products for RNE.  See matmul_fast.h for why
 * the results are those of the element-by-element loop. */
#include "matmul_fast.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "lanes.h"
#include "matmul_wide.h"

/* Which arithmetic performs the operations. */
typedef enum { KERNEL_NONE, KERNEL_BINARY32, KERNEL_BINARY64,
               KERNEL_PLAIN, KERNEL_ARRAYS,
               KERNEL_WIDE } kernel_kind;

static kernel_kind choose(const nfi_arith *acc, const nfi_arith *out,
                          const nfi_reduction *order, size_t terms)
{
    if (acc->reference || out->reference || terms == 0 ||
        order->kind != NFI_REDUCTION_SEQUENTIAL ||
        acc->fast.mode != NFI_ROUND_RNE)
        return KERNEL_NONE;
    if (!nfi_format_equal(&out->fast.format, &acc->fast.format) &&
        out->fast.mode != NFI_ROUND_RNE)
        return KERNEL_NONE; /* the cast would take stochastic indices */
    if (acc->fast.native_width == 32)
        return KERNEL_BINARY32;
    if (acc->fast.native_width == 64)
        return KERNEL_BINARY64;
    /* The fused kernel's padding columns make zero products, which it
     * only accepts when no non-zero product can underflow. */
    if (acc->fast.plain_rne && acc->fast.products_never_tiny)
        return KERNEL_PLAIN;
    if (nfi_matmul_wide_applies(&acc->fast))
        return KERNEL_WIDE; /* 26 <= p <= 52: sim/matmul_wide.h */
    return KERNEL_ARRAYS;
}

/* Rounds a row of accumulator values into the output role, in place. */
static void cast_row(nfi_arith *acc, nfi_arith *out, size_t n, double *row)
{
    if (out != acc && !nfi_format_equal(&out->fast.format,
                                        &acc->fast.format))
        nfi_fast_round_array(&out->fast, n, row, row);
}

/* The kernels: row i of c from row i of a (m x k, contiguous) and bt = b
 * transposed (k x w, contiguous, w >= n a multiple of the block, the
 * columns beyond n zero); sums[j] runs through a[i][0] bt[0][j],
 * + a[i][1] bt[1][j], ..., + bias[j] (bias padded to w too).  Columns
 * are taken a block at a time so that the block's running sums stay in
 * registers through the k steps. */
#define BLOCK32 16
#define BLOCK64 8

/* Eight binary32 lanes, as sim/lanes.h has four binary64 ones. */
typedef float v8f __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v8f load8f(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

NFI_FMA_CLONES
static void rows_binary32(size_t m, size_t n, size_t w, size_t k,
                          const double *restrict a, ptrdiff_t a_row,
                          ptrdiff_t ak, const float *restrict bt,
                          const float *restrict bias, double *restrict c)
{
    for (size_t i = 0; i < m; i++) {
        const double *ai = a + (ptrdiff_t)i * a_row;
        for (size_t j0 = 0; j0 < w; j0 += BLOCK32) {
            float y = (float)ai[0]; /* exact: a binary32 value */
            v8f x = {y, y, y, y, y, y, y, y};
            v8f s0 = x * load8f(bt + j0), s1 = x * load8f(bt + j0 + 8);
            for (size_t t = 1; t < k; t++) {
                const float *row = bt + t * w + j0;
                y = (float)ai[(ptrdiff_t)t * ak];
                x = (v8f){y, y, y, y, y, y, y, y};
                s0 = s0 + x * load8f(row);
                s1 = s1 + x * load8f(row + 8);
            }
            if (bias != NULL) {
                s0 = s0 + load8f(bias + j0);
                s1 = s1 + load8f(bias + j0 + 8);
            }
            float s[BLOCK32];
            memcpy(s, &s0, sizeof s0);
            memcpy(s + 8, &s1, sizeof s1);
            for (size_t j = 0; j < BLOCK32 && j0 + j < n; j++)
                c[i * n + j0 + j] = s[j];
        }
    }
}

NFI_FMA_CLONES
static void rows_binary64(size_t m, size_t n, size_t w, size_t k,
                          const double *restrict a, ptrdiff_t a_row,
                          ptrdiff_t ak, const double *restrict bt,
                          const double *restrict bias, double *restrict c)
{
    for (size_t i = 0; i < m; i++) {
        const double *ai = a + (ptrdiff_t)i * a_row;
        for (size_t j0 = 0; j0 < w; j0 += BLOCK64) {
            nfi_v4d x = nfi_splat4(ai[0]);
            nfi_v4d s0 = x * nfi_load4(bt + j0);
            nfi_v4d s1 = x * nfi_load4(bt + j0 + 4);
            for (size_t t = 1; t < k; t++) {
                const double *row = bt + t * w + j0;
                x = nfi_splat4(ai[(ptrdiff_t)t * ak]);
                s0 = s0 + x * nfi_load4(row);
                s1 = s1 + x * nfi_load4(row + 4);
            }
            if (bias != NULL) {
                s0 = s0 + nfi_load4(bias + j0);
                s1 = s1 + nfi_load4(bias + j0 + 4);
            }
            double s[BLOCK64];
            nfi_store4(s, s0);
            nfi_store4(s + 4, s1);
            for (size_t j = 0; j < BLOCK64 && j0 + j < n; j++)
                c[i * n + j0 + j] = s[j];
        }
    }
}

/* Skipping zero terms (the fused p <= 25 and the wide kernels).  In a
 * sequential sum of rounded products in RNE, a term a_t b_t with a_t =
 * +-0 and b_t finite is a zero of some sign.  Adding a zero to a
 * non-zero partial sum s gives s exactly (s is a value of the format);
 * adding a non-zero p to a zero gives p exactly; a zero plus a zero is a
 * zero.  So, by induction over the terms, every partial sum of the full
 * loop and of the loop without those terms are the same number, except
 * that where it is zero its sign may differ (IEEE 754 6.3: x + (-x) is
 * +0 in RNE, a sum of zeros is -0 only when every term is -0).  The bias
 * addition and the cast keep this (a zero sum plus a bias may again
 * differ only in the sign of a zero result).  Therefore a row computed
 * without its zero a-terms equals the full row in every lane that is
 * not a zero; a lane that is zero, and (so that nothing need be argued
 * about NaN payloads) a lane that is NaN, sends the row back to the full
 * kernel.  The lanes' flags agree too: the non-zero values are the same
 * and a zero is never flagged; the range proofs (scan_verdict,
 * nfi_matmul_wide_watch_rows) bound sums of up to k terms, so they hold for
 * fewer.  Skipping needs every b value finite (0 * inf is NaN): the
 * packing of b checks that.  A row whose terms are all zero keeps one
 * (a zero) so that every row has a first term; rows taken together are
 * padded with zero terms, covered by the same argument.  (The argument
 * holds for the IEEE hardware arithmetic of the native kernels as well,
 * but they do too little per term for skipping to pay.)
 *
 * The rows of a as contiguous rows: a itself when ak is 1, otherwise
 * a copied into `copy` (m rows of k), read along its memory when a is
 * transposed.  Returns the first row; row i is at it + i * (*stride). */
static const double *contiguous_rows(const double *a, ptrdiff_t a_row,
                                     ptrdiff_t ak, size_t m, size_t k,
                                     double *copy, ptrdiff_t *stride)
{
    if (ak == 1) {
        *stride = a_row;
        return a;
    }
    *stride = (ptrdiff_t)k;
    if (a_row == 1) {
        for (size_t i0 = 0; i0 < m; i0 += 8) {
            size_t rows = m - i0 < 8 ? m - i0 : 8;
            for (size_t t = 0; t < k; t++) {
                const double *at = a + (ptrdiff_t)t * ak + (ptrdiff_t)i0;
                for (size_t l = 0; l < rows; l++)
                    copy[(i0 + l) * k + t] = at[l];
            }
        }
    } else {
        for (size_t i = 0; i < m; i++)
            for (size_t t = 0; t < k; t++)
                copy[i * k + t] = a[(ptrdiff_t)i * a_row + (ptrdiff_t)t * ak];
    }
    return copy;
}

/* compact_rows: for each row i < m (at rows + i * stride, k terms) the
 * indices t of its non-zero terms, in order, into ix[i * k + ...], and
 * their count into kept[i], at least 1 (an all-zero row keeps its first
 * term).  Four terms at a time: the bits of the non-zero ones select
 * their offsets, stored together (the slots beyond the count are
 * overwritten later or unused). */
typedef uint32_t v4w __attribute__((vector_size(16)));
static void compact_rows(const double *rows, ptrdiff_t stride, size_t m,
                         size_t k, uint32_t *ix, size_t *kept)
{
    static const v4w pick[16] = {
        {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0},
        {2, 0, 0, 0}, {0, 2, 0, 0}, {1, 2, 0, 0}, {0, 1, 2, 0},
        {3, 0, 0, 0}, {0, 3, 0, 0}, {1, 3, 0, 0}, {0, 1, 3, 0},
        {2, 3, 0, 0}, {0, 2, 3, 0}, {1, 2, 3, 0}, {0, 1, 2, 3}};
    static const unsigned char bits[16] = {0, 1, 1, 2, 1, 2, 2, 3,
                                           1, 2, 2, 3, 2, 3, 3, 4};
    for (size_t i = 0; i < m; i++) {
        const double *r = rows + (ptrdiff_t)i * stride;
        uint32_t *where = ix + i * k;
        size_t c = 0, t = 0;
        for (; t + 4 <= k; t += 4) {
            unsigned mask = (unsigned)(r[t] != 0.0) |
                            (unsigned)(r[t + 1] != 0.0) << 1 |
                            (unsigned)(r[t + 2] != 0.0) << 2 |
                            (unsigned)(r[t + 3] != 0.0) << 3;
            uint32_t t0 = (uint32_t)t;
            v4w o = pick[mask] + (v4w){t0, t0, t0, t0};
            memcpy(where + c, &o, sizeof o); /* c + 3 <= t + 3 < k */
            c += bits[mask];
        }
        for (; t < k; t++) {
            where[c] = (uint32_t)t;
            c += r[t] != 0.0;
        }
        if (c == 0) {
            where[0] = 0;
            c = 1;
        }
        kept[i] = c;
    }
}

/* Whether lanes 0..n-1 of row c hold a zero or a NaN: then the row is
 * recomputed in full (see above). */
static bool row_needs_full(size_t n, const double *c)
{
    bool bad = false;
    for (size_t j = 0; j < n; j++)
        bad |= !(c[j] != 0.0 && c[j] == c[j]);
    return bad;
}

/* How the fused kernels round (sim/lanes.h):
 *   LANES_NORMAL  nfi_lanes_round, flagging every result outside the
 *                 format's normal range but zero (formats without
 *                 subnormals, or where nfi_lanes_sub does not apply);
 *   LANES_SUB     products by nfi_lanes_round_sub, sums by
 *                 nfi_lanes_round_split (subnormal results need no flag),
 *                 flagging overflow, infinities and NaN only;
 *   LANES_BOUNDED the same roundings with no flag at all, where
 *                 scan_verdict has shown that no result can overflow and
 *                 the operands are finite;
 *   LANES_NO_TINY as LANES_BOUNDED, and scan_verdict has also shown that
 *                 no non-zero product lies below 2^emin: products are then
 *                 exact values of the normal range or zeros, which
 *                 nfi_lanes_round_split rounds too;
 *   LANES_NORMAL_NO_TINY  where the subnormal lanes do not apply (no
 *                 subnormals, mostly) but scan_verdict rules out overflow
 *                 and tiny products: products by nfi_lanes_round_grid
 *                 unflagged (exact normal values or zeros), sums by it
 *                 with only the flag of a non-zero sum below 2^emin
 *                 (nfi_lanes_flag_below), which the engine rounds
 *                 otherwise; a row without that flag had every rounding
 *                 in the normal range (or exact zeros), so the bound's
 *                 argument holds for it and nothing overflowed. */
enum { LANES_NORMAL, LANES_SUB, LANES_BOUNDED, LANES_NO_TINY,
       LANES_NORMAL_NO_TINY };

static inline __attribute__((always_inline)) nfi_v4d
round_product(const nfi_lanes_rne *cr, const nfi_lanes_sub *cs, int how,
              nfi_v4d v, nfi_v4u *out)
{
    if (how == LANES_NORMAL)
        return nfi_lanes_round(cr, v, out);
    if (how == LANES_NO_TINY)
        return nfi_lanes_round_split(cs, v);
    if (how == LANES_NORMAL_NO_TINY)
        return nfi_lanes_round_grid(cr, v);
    if (how == LANES_SUB)
        nfi_lanes_flag_over(cs, v, out);
    return nfi_lanes_round_sub(cs, v);
}

static inline __attribute__((always_inline)) nfi_v4d
round_sum(const nfi_lanes_rne *cr, const nfi_lanes_sub *cs, int how,
          nfi_v4d v, nfi_v4u *out)
{
    if (how == LANES_NORMAL)
        return nfi_lanes_round(cr, v, out);
    if (how == LANES_NORMAL_NO_TINY) {
        nfi_lanes_flag_below(cr, v, out);
        return nfi_lanes_round_grid(cr, v);
    }
    if (how == LANES_SUB) /* a flagged lane's split is not used */
        nfi_lanes_flag_over(cs, v, out);
    return nfi_lanes_round_split(cs, v);
}

/* RNE with p <= 25, fused, `rows` (1 to ROWS) rows of c at once: the rows
 * share the loads of bt (when the terms are all of them) and give 2 *
 * rows independent chains of sums.  Row r has `count` terms t: with ix
 * NULL, the products a[r * a_row + t * ak] bt[t * w + j]; otherwise
 * av_r[ix_r[t]] bt[ix_r[t] * w + j] for the rows gi[r] (av_r = av +
 * gi[r] * as, ix_r = ix + gi[r] * k: their non-zero terms, padded with
 * zero terms; see compact_rows).  Row r's outputs go to c[r * n + j].
 * Returns whether a lane was flagged: the caller then recomputes the
 * rows with the general array operations. */
#define ROWS 4
/* #pragma GCC unroll ROWS, with ROWS expanded */
#define UNROLL_ROWS NFI_UNROLL(ROWS)
static inline __attribute__((always_inline)) int
rows_body(const nfi_lanes_rne *pc, const nfi_lanes_sub *ps, int how,
          int rows, size_t n, size_t w, size_t k, size_t count,
          const double *restrict a, ptrdiff_t a_row, ptrdiff_t ak,
          const double *restrict av, ptrdiff_t as,
          const uint32_t *restrict ix, const size_t *gi,
          const double *restrict bt, const double *restrict bias,
          double *restrict c)
{
    const double *ar[ROWS] = {NULL};
    const uint32_t *xr[ROWS] = {NULL};
    for (int r = 0; r < rows && ix != NULL; r++) {
        ar[r] = av + (ptrdiff_t)gi[r] * as;
        xr[r] = ix + gi[r] * k;
    }
    const nfi_lanes_rne cr = *pc;
    const nfi_lanes_sub cs = *ps;
    nfi_v4u out = {0, 0, 0, 0};
#define RP(v) round_product(&cr, &cs, how, (v), &out)
#define RS(v) round_sum(&cr, &cs, how, (v), &out)
/* The factor and the row of bt of term t of row r. */
#define ROW(r, t) (bt + (ix ? (size_t)xr[r][t] : (t)) * w + j0)
#define FACTOR(r, t)                                                        \
    nfi_splat4(ix ? ar[r][xr[r][t]] : a[(r) * a_row + (ptrdiff_t)(t) * ak])
    for (size_t j0 = 0; j0 < w; j0 += 8) {
        /* every loop over the rows unrolled, so that the running sums
         * stay in registers */
        nfi_v4d s0[ROWS], s1[ROWS];
        UNROLL_ROWS
        for (int r = 0; r < rows; r++) {
            nfi_v4d x = FACTOR(r, 0);
            s0[r] = RP(x * nfi_load4(ROW(r, 0)));
            s1[r] = RP(x * nfi_load4(ROW(r, 0) + 4));
        }
        for (size_t t = 1; t < count; t++) {
            UNROLL_ROWS
            for (int r = 0; r < rows; r++) {
                nfi_v4d x = FACTOR(r, t);
                nfi_v4d p0 = RP(x * nfi_load4(ROW(r, t)));
                nfi_v4d p1 = RP(x * nfi_load4(ROW(r, t) + 4));
                s0[r] = RS(s0[r] + p0);
                s1[r] = RS(s1[r] + p1);
            }
        }
        if (bias != NULL) {
            nfi_v4d b0 = nfi_load4(bias + j0), b1 = nfi_load4(bias + j0 + 4);
            UNROLL_ROWS
            for (int r = 0; r < rows; r++) {
                s0[r] = RS(s0[r] + b0);
                s1[r] = RS(s1[r] + b1);
            }
        }
        UNROLL_ROWS
        for (int r = 0; r < rows; r++) {
            double s[8];
            nfi_store4(s, s0[r]);
            nfi_store4(s + 4, s1[r]);
            for (size_t j = 0; j < 8 && j0 + j < n; j++)
                c[(size_t)r * n + j0 + j] = s[j];
        }
    }
#undef FACTOR
#undef ROW
#undef RP
#undef RS
    return nfi_lanes_any(out);
}

/* The instances, by rounding and row count. */
#define ROWS_PLAIN(name, how, rows)                                         \
    NFI_FMA_CLONES                                                          \
    static int name(const nfi_lanes_rne *pc, const nfi_lanes_sub *ps,       \
                    size_t n, size_t w, size_t k, const double *a,          \
                    ptrdiff_t a_row, ptrdiff_t ak, const double *bt,        \
                    const double *bias, double *c)                          \
    {                                                                       \
        return rows_body(pc, ps, how, rows, n, w, k, k, a, a_row, ak, NULL, \
                         0, NULL, NULL, bt, bias, c);                       \
    }
ROWS_PLAIN(rows1_normal, LANES_NORMAL, 1)
ROWS_PLAIN(rows2_normal, LANES_NORMAL, 2)
ROWS_PLAIN(rows3_normal, LANES_NORMAL, 3)
ROWS_PLAIN(rows4_normal, LANES_NORMAL, 4)
ROWS_PLAIN(rows1_sub, LANES_SUB, 1)
ROWS_PLAIN(rows2_sub, LANES_SUB, 2)
ROWS_PLAIN(rows3_sub, LANES_SUB, 3)
ROWS_PLAIN(rows4_sub, LANES_SUB, 4)
ROWS_PLAIN(rows1_bounded, LANES_BOUNDED, 1)
ROWS_PLAIN(rows2_bounded, LANES_BOUNDED, 2)
ROWS_PLAIN(rows3_bounded, LANES_BOUNDED, 3)
ROWS_PLAIN(rows4_bounded, LANES_BOUNDED, 4)
ROWS_PLAIN(rows1_no_tiny, LANES_NO_TINY, 1)
ROWS_PLAIN(rows2_no_tiny, LANES_NO_TINY, 2)
ROWS_PLAIN(rows3_no_tiny, LANES_NO_TINY, 3)
ROWS_PLAIN(rows4_no_tiny, LANES_NO_TINY, 4)
ROWS_PLAIN(rows1_normal_no_tiny, LANES_NORMAL_NO_TINY, 1)
ROWS_PLAIN(rows2_normal_no_tiny, LANES_NORMAL_NO_TINY, 2)
ROWS_PLAIN(rows3_normal_no_tiny, LANES_NORMAL_NO_TINY, 3)
ROWS_PLAIN(rows4_normal_no_tiny, LANES_NORMAL_NO_TINY, 4)
#undef ROWS_PLAIN

static inline uint64_t magnitude_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b & 0x7fffffffffffffffULL;
}

static inline double double_of(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* The ranges of the operands of a product by the bit patterns of their
 * magnitudes: the largest (a NaN's is above every number's) and the
 * smallest non-zero less one (UINT64_MAX when none), of a (the rows
 * scanned), of bt and of the bias (its largest only). */
typedef struct scan_ranges {
    uint64_t top_a, low_a, top_b, low_b, top_c;
} scan_ranges;

/* The ranges of the shared operands: the packed bt (k x w) and bias (w,
 * or NULL); a's still empty. */
NFI_FMA_CLONES
static scan_ranges scan_shared(size_t k, size_t w, const double *bt,
                               const double *bias)
{
    scan_ranges r = {0, UINT64_MAX, 0, UINT64_MAX, 0};
    nfi_lanes_span(bt, k * w, &r.top_b, &r.low_b);
    uint64_t low_c = UINT64_MAX; /* not needed */
    if (bias != NULL)
        nfi_lanes_span(bias, w, &r.top_c, &low_c);
    return r;
}

/* Adds a row of a (k terms at stride ak) to a's range in *r.  The
 * smallest non-zero magnitudes as the smallest of the patterns less one
 * (zero wraps to the top), so that the loops have no branch. */
NFI_FMA_CLONES
static void scan_row(scan_ranges *r, size_t k, const double *a,
                     ptrdiff_t ak)
{
    if (ak == 1) { /* contiguous: in lanes */
        nfi_lanes_span(a, k, &r->top_a, &r->low_a);
        return;
    }
    for (size_t t = 0; t < k; t++) {
        uint64_t v = magnitude_bits(a[(ptrdiff_t)t * ak]);
        r->top_a = v > r->top_a ? v : r->top_a;
        r->low_a = v - 1 < r->low_a ? v - 1 : r->low_a;
    }
}

/* Which unflagged rounding of the fused kernel is safe for the rows of
 * a whose range *r holds (k terms each) against the packed bt (k x w)
 * and bias: LANES_NO_TINY, LANES_BOUNDED, or LANES_SUB when neither
 * (the caller maps these for formats the subnormal lanes do not serve).
 * A verdict for some rows of a holds for each of them: their range lies
 * within.
 *
 * No overflow.  With A, B, C the largest magnitudes of a, b and the
 * bias, every product is at most A B before rounding, and RNE to p bits
 * moves a magnitude x to at most (1 + u) x + q / 2 (u = 2^-p, q =
 * 2^(emin - p + 1) the quantum; 2^emin without subnormals, where a
 * magnitude below 2^emin goes to 0 or 2^emin), so by induction over the
 * sequential sum
 * every value rounded (a product, a partial sum plus a product, the sum
 * plus the bias) is at most (1 + u)^(k + 1) (k A B + C + (k + 1) q).
 * (1 + u)^(k + 1) <= exp((k + 1) u) <= 2^ceil(1.5 (k + 1) u) since
 * 1.5 > log2(e); those figures are exact in binary64, and a factor 4
 * covers the roundings of the bound's own binary64 evaluation (each
 * relative 2^-53, a handful).  When the bound is at most the largest
 * finite value, no lane exceeds `above`; finite operands make no NaN (no
 * 0 * inf, no inf - inf).
 *
 * No tiny product.  With a and b the smallest non-zero magnitudes of
 * a and b, every non-zero product is at least a b, computed exactly in
 * binary64 (products never underflow there, a kernel requirement); when
 * a b >= 2^emin, no product is tiny. */
static int scan_verdict(const nfi_fast *f, size_t k, const scan_ranges *r)
{
    double big_a = double_of(r->top_a), big_b = double_of(r->top_b);
    double big_c = double_of(r->top_c);
    if (!(big_a <= DBL_MAX && big_b <= DBL_MAX && big_c <= DBL_MAX))
        return LANES_SUB; /* an infinity or a NaN */
    /* q: the largest absolute error of a rounding below 2^emin is q / 2
     * (without subnormals, up to 2^emin / 2). */
    double u = ldexp(1.0, -f->p);
    double q = ldexp(1.0, f->format.subnormals ? f->emin - f->p + 1
                                               : f->emin);
    double x = ((double)k + 1.0) * u;
    if (x > 512.0)
        return LANES_SUB;
    double grow = ldexp(1.0, (int)ceil(1.5 * x));
    double bound = ((double)k * big_a * big_b + big_c +
                    ((double)k + 1.0) * q) * grow * 4.0;
    if (!(bound <= f->max_finite))
        return LANES_SUB;
    /* All zero: low + 1 wraps to 0, and then no product is tiny either
     * (the bit patterns of zero times anything stay zero). */
    double small_a = double_of(r->low_a + 1);
    double small_b = double_of(r->low_b + 1);
    bool no_tiny = r->low_a == UINT64_MAX || r->low_b == UINT64_MAX ||
                   small_a * small_b >= ldexp(1.0, f->emin);
    return no_tiny ? LANES_NO_TINY : LANES_BOUNDED;
}

/* The verdict of scan_verdict for `rows` rows of a (the rows gi[l] of
 * base, stride as, when gi is given, else rows at a + l a_row, terms at
 * stride ak) against the shared ranges *shared, mapped to the lanes of
 * f's format.  Taken per group of rows rather than for the whole
 * product (the same scan of a in all): late in training a few tiny
 * values of some rows would sink the proof for all of them. */
static int rows_verdict(const nfi_fast *f, const scan_ranges *shared,
                        size_t rows, size_t k, const double *a,
                        ptrdiff_t a_row, ptrdiff_t ak, const size_t *gi)
{
    scan_ranges r = *shared;
    for (size_t l = 0; l < rows; l++)
        scan_row(&r, k, a + (ptrdiff_t)(gi ? gi[l] : l) * a_row, ak);
    int how = scan_verdict(f, k, &r);
    if (!nfi_lanes_sub_applies(f))
        how = how == LANES_NO_TINY ? LANES_NORMAL_NO_TINY : LANES_NORMAL;
    return how;
}

#define ROWS_SKIP(name, how, rows)                                          \
    NFI_FMA_CLONES                                                          \
    static int name(const nfi_lanes_rne *pc, const nfi_lanes_sub *ps,       \
                    size_t n, size_t w, size_t k, size_t count,             \
                    const double *av, ptrdiff_t as, const uint32_t *ix,     \
                    const size_t *gi, const double *bt, const double *bias, \
                    double *c)                                              \
    {                                                                       \
        return rows_body(pc, ps, how, rows, n, w, k, count, NULL, 0, 0, av, \
                         as, ix, gi, bt, bias, c);                          \
    }
ROWS_SKIP(skip1_normal, LANES_NORMAL, 1)
ROWS_SKIP(skip2_normal, LANES_NORMAL, 2)
ROWS_SKIP(skip3_normal, LANES_NORMAL, 3)
ROWS_SKIP(skip4_normal, LANES_NORMAL, 4)
ROWS_SKIP(skip1_sub, LANES_SUB, 1)
ROWS_SKIP(skip2_sub, LANES_SUB, 2)
ROWS_SKIP(skip3_sub, LANES_SUB, 3)
ROWS_SKIP(skip4_sub, LANES_SUB, 4)
ROWS_SKIP(skip1_bounded, LANES_BOUNDED, 1)
ROWS_SKIP(skip2_bounded, LANES_BOUNDED, 2)
ROWS_SKIP(skip3_bounded, LANES_BOUNDED, 3)
ROWS_SKIP(skip4_bounded, LANES_BOUNDED, 4)
ROWS_SKIP(skip1_no_tiny, LANES_NO_TINY, 1)
ROWS_SKIP(skip2_no_tiny, LANES_NO_TINY, 2)
ROWS_SKIP(skip3_no_tiny, LANES_NO_TINY, 3)
ROWS_SKIP(skip4_no_tiny, LANES_NO_TINY, 4)
ROWS_SKIP(skip1_normal_no_tiny, LANES_NORMAL_NO_TINY, 1)
ROWS_SKIP(skip2_normal_no_tiny, LANES_NORMAL_NO_TINY, 2)
ROWS_SKIP(skip3_normal_no_tiny, LANES_NORMAL_NO_TINY, 3)
ROWS_SKIP(skip4_normal_no_tiny, LANES_NORMAL_NO_TINY, 4)

typedef int (*skip_kernel)(const nfi_lanes_rne *, const nfi_lanes_sub *,
                           size_t, size_t, size_t, size_t, const double *,
                           ptrdiff_t, const uint32_t *, const size_t *,
                           const double *, const double *, double *);

typedef int (*rows_kernel)(const nfi_lanes_rne *, const nfi_lanes_sub *,
                           size_t, size_t, size_t, const double *,
                           ptrdiff_t, ptrdiff_t, const double *,
                           const double *, double *);

/* The fast engine's array operations; spread holds n copies of the
 * current a[i][t], prod the rounded products. */
static void rows_arrays(nfi_fast *f, size_t m, size_t n, size_t w,
                        size_t k, const double *a, ptrdiff_t a_row,
                        ptrdiff_t ak, const double *bt, const double *bias,
                        double *sums, double *prod, double *spread,
                        double *c)
{
    for (size_t i = 0; i < m; i++) {
        const double *ai = a + (ptrdiff_t)i * a_row;
        for (size_t j = 0; j < n; j++)
            spread[j] = ai[0];
        nfi_fast_mul_array(f, n, sums, spread, bt);
        for (size_t t = 1; t < k; t++) {
            for (size_t j = 0; j < n; j++)
                spread[j] = ai[(ptrdiff_t)t * ak];
            nfi_fast_mul_array(f, n, prod, spread, bt + t * w);
            nfi_fast_add_array(f, n, sums, sums, prod);
        }
        if (bias != NULL)
            nfi_fast_add_array(f, n, sums, sums, bias);
        for (size_t j = 0; j < n; j++)
            c[i * n + j] = sums[j];
    }
}

/* The zeros among x[i * row + t * step], t < k, for about 8 rows i <
 * count spread evenly (a sample: only the choice of kernel depends on
 * it), and the number of values looked at. */
static size_t count_zeros(const double *x, ptrdiff_t row, ptrdiff_t step,
                          size_t count, size_t k, size_t *seen)
{
    size_t z = 0, every = count / 8 + 1;
    *seen = 0;
    for (size_t i = 0; i < count; i += every) {
        for (size_t t = 0; t < k; t++)
            z += x[(ptrdiff_t)i * row + (ptrdiff_t)t * step] == 0.0;
        *seen += k;
    }
    return z;
}

/* Whether skipping pays: at least one term in eight a zero. */
static bool zeros_pay(size_t zeros, size_t total)
{
    return total > 0 && zeros * 8 >= total;
}

/* order: the rows i < m by increasing kept[i] (a counting sort, so that
 * rows taken together need little padding).  Returns false when memory
 * runs out. */
static bool order_by_count(size_t m, size_t k, const size_t *kept,
                           size_t *order)
{
    size_t *bucket = calloc(k + 1, sizeof *bucket);
    if (bucket == NULL)
        return false;
    for (size_t i = 0; i < m; i++)
        bucket[kept[i]]++;
    for (size_t v = 0, at = 0; v <= k; v++) {
        size_t here = bucket[v];
        bucket[v] = at;
        at += here;
    }
    for (size_t i = 0; i < m; i++)
        order[bucket[kept[i]]++] = i;
    free(bucket);
    return true;
}

/* The non-zero terms of the m rows at base (compact_rows: indices into
 * ix, counts into kept[0..m)) and the rows in the order of their counts
 * (order_by_count, into kept[m..2m)), for the skipping kernels, which
 * take rows together in that order.  Returns false when memory runs
 * out. */
static bool kept_terms(const double *base, ptrdiff_t stride, size_t m,
                       size_t k, uint32_t *ix, size_t *kept)
{
    compact_rows(base, stride, m, k, ix, kept);
    return order_by_count(m, k, kept, kept + m);
}

/* Pads the rows gi[0..rows-1] (in increasing order of their counts)
 * with zero terms to the count of the last: the index of a zero of the
 * row (there is one, since the row has fewer non-zero terms than k);
 * returns that count. */
static size_t pad_group(size_t rows, size_t k, const size_t *gi,
                        const size_t *kept, const double *base,
                        ptrdiff_t stride, uint32_t *ix)
{
    size_t most = kept[gi[rows - 1]];
    for (size_t l = 0; l < rows; l++) {
        if (kept[gi[l]] == most)
            continue;
        const double *r = base + (ptrdiff_t)gi[l] * stride;
        uint32_t zero = 0;
        while (r[zero] != 0.0)
            zero++;
        for (size_t t = kept[gi[l]]; t < most; t++)
            ix[gi[l] * k + t] = zero;
    }
    return most;
}

/* The skip kernel for `how` and `rows` (1 to ROWS) rows. */
static int skip_group(const nfi_lanes_rne *pc, const nfi_lanes_sub *ps,
                      int how, size_t rows, size_t n, size_t w, size_t k,
                      size_t count, const double *av, ptrdiff_t as,
                      const uint32_t *ix, const size_t *gi, const double *bt,
                      const double *bias, double *c)
{
    static const skip_kernel skips[5][ROWS] = {
        {skip1_normal, skip2_normal, skip3_normal, skip4_normal},
        {skip1_sub, skip2_sub, skip3_sub, skip4_sub},
        {skip1_bounded, skip2_bounded, skip3_bounded,
         skip4_bounded},
        {skip1_no_tiny, skip2_no_tiny, skip3_no_tiny,
         skip4_no_tiny},
        {skip1_normal_no_tiny, skip2_normal_no_tiny,
         skip3_normal_no_tiny, skip4_normal_no_tiny}};
    return skips[how][rows - 1](pc, ps, n, w, k, count, av, as, ix, gi,
                                bt, bias, c);
}

/* The watch of `rows` rows of a at a[r] (terms at stride ak) against
 * the shared operands *o (nfi_matmul_wide_watch_rows), in the subnormal
 * lanes from the start once a watched block of the product has reached
 * below 2^emin (*below: the caller sets it when the kernels leave the
 * watch NFI_WIDE_SUBNORMAL): a product whose values reach there once
 * mostly does again. */
static int wide_watch(const nfi_fast *f, const nfi_wide_operands *o,
                      size_t rows, const double *const *a, ptrdiff_t ak,
                      bool *below)
{
    int how = nfi_matmul_wide_watch_rows(f, o, rows, a, ak);
    if (*below && how != NFI_WIDE_UNCHECKED)
        how = NFI_WIDE_SUBNORMAL | (how & NFI_WIDE_PLAINS);
    return how;
}

/* c = a b^T (+ bias) in acc's format by the kernel `kind`, not cast;
 * with `skip`, rows of a are run over their non-zero terms where that
 * is exact (see compact_rows).  Returns 1, or -1 when memory runs out.
 */
static int matmul_core(nfi_arith *acc, kernel_kind kind, size_t m,
                       size_t n, size_t k, const double *a, ptrdiff_t a_row,
                       ptrdiff_t a_k, const double *b, ptrdiff_t b_row,
                       ptrdiff_t b_k, const double *bias, double *c,
                       bool skip)
{
    /* b packed transposed as k x w, w the columns rounded up to the
     * block, the padding zero; in floats for binary32 (exact: the values
     * are binary32 numbers).  a is read in place. */
    size_t lanes = kind == KERNEL_BINARY32 ? BLOCK32 : BLOCK64;
    size_t w = (n + lanes - 1) / lanes * lanes;
    size_t width = kind == KERNEL_BINARY32 ? sizeof(float) : sizeof(double);
    size_t count = k * w + w + 3 * n;
    unsigned char *block = malloc(count * width);
    /* The terms kept by skipping (compact_rows), the rows in the order
     * of their counts, and a group of rows of output. */
    skip = skip && k <= UINT32_MAX;
    double *av = skip ? malloc((m * k + ROWS * n) * sizeof *av) : NULL;
    uint32_t *ix = skip ? malloc(m * k * sizeof *ix) : NULL;
    size_t *kept = skip ? malloc(2 * m * sizeof *kept) : NULL;
    if (block == NULL ||
        (skip && (av == NULL || ix == NULL || kept == NULL))) {
        free(block);
        free(av);
        free(ix);
        free(kept);
        return -1;
    }
    bool finite = true; /* every b value finite: skipping is exact */
    if (kind == KERNEL_BINARY32) {
        float *pb = (float *)block, *pbias = pb + k * w;
        for (size_t t = 0; t < k; t++) {
            float *row = pb + t * w;
            const double *src = b + (ptrdiff_t)t * b_k;
            for (size_t j = 0; j < n; j++)
                row[j] = (float)src[(ptrdiff_t)j * b_row];
            for (size_t j = n; j < w; j++)
                row[j] = 0.0f;
        }
        for (size_t j = 0; j < w; j++)
            pbias[j] = bias != NULL && j < n ? (float)bias[j] : 0.0f;
        const float *pbs = bias ? pbias : NULL;
        rows_binary32(m, n, w, k, a, a_row, a_k, pb, pbs, c);
    } else {
        double *pb = (double *)block, *pbias = pb + k * w;
        double *sums = pbias + w, *prod = sums + n, *spread = prod + n;
        for (size_t t = 0; t < k; t++) {
            double *row = pb + t * w;
            const double *src = b + (ptrdiff_t)t * b_k;
            for (size_t j = 0; j < n; j++) {
                double v = src[(ptrdiff_t)j * b_row];
                finite &= fabs(v) <= DBL_MAX;
                row[j] = v;
            }
            for (size_t j = n; j < w; j++)
                row[j] = 0.0;
        }
        for (size_t j = 0; j < w; j++)
            pbias[j] = bias != NULL && j < n ? bias[j] : 0.0;
        const double *pbs = bias ? pbias : NULL;
        skip = skip && finite;
        if (kind == KERNEL_BINARY64) {
            rows_binary64(m, n, w, k, a, a_row, a_k, pb, pbs, c);
        } else if (kind == KERNEL_PLAIN) {
            const nfi_fast *f = &acc->fast;
            nfi_lanes_rne pc = nfi_lanes_rne_of(f);
            nfi_lanes_sub ps = nfi_lanes_sub_of(f);
            static const rows_kernel kernels[5][ROWS] = {
                {rows1_normal, rows2_normal, rows3_normal, rows4_normal},
                {rows1_sub, rows2_sub, rows3_sub, rows4_sub},
                {rows1_bounded, rows2_bounded, rows3_bounded,
                 rows4_bounded},
                {rows1_no_tiny, rows2_no_tiny, rows3_no_tiny,
                 rows4_no_tiny},
                {rows1_normal_no_tiny, rows2_normal_no_tiny,
                 rows3_normal_no_tiny, rows4_normal_no_tiny}};
            /* When skipping, a's rows made contiguous first, so that the
             * scan reads them along memory (the same values). */
            ptrdiff_t as = a_row;
            const double *base = skip ? contiguous_rows(a, a_row, a_k, m, k,
                                                        av, &as)
                                      : a;
            /* Each group of rows takes the verdict of its own operands
             * (rows_verdict). */
            scan_ranges shared = scan_shared(k, w, pb, pbs);
            for (size_t i = 0; i < m && !skip; i += ROWS) {
                const double *ai = a + (ptrdiff_t)i * a_row;
                double *ci = c + i * n;
                size_t rows = m - i < ROWS ? m - i : ROWS;
                int gh = rows_verdict(f, &shared, rows, k, ai, a_row, a_k,
                                      NULL);
                if (kernels[gh][rows - 1](&pc, &ps, n, w, k, ai, a_row,
                                          a_k, pb, pbs, ci))
                    rows_arrays(&acc->fast, rows, n, w, k, ai, a_row, a_k,
                                pb, pbs, sums, prod, spread, ci);
            }
            if (skip) {
                /* The rows grouped by their counts of terms (a counting
                 * sort), so that little padding is needed; each group's
                 * rows are padded with zero terms to the longest. */
                size_t *order = kept + m;
                if (!kept_terms(base, as, m, k, ix, kept)) {
                    free(block);
                    free(av);
                    free(ix);
                    free(kept);
                    return -1;
                }
                double *cg = av + m * k;
                for (size_t g = 0; g < m; g += ROWS) {
                    size_t rows = m - g < ROWS ? m - g : ROWS;
                    const size_t *gi = order + g;
                    size_t most = pad_group(rows, k, gi, kept, base, as,
                                            ix);
                    int gh = rows_verdict(f, &shared, rows, k, base, as, 1,
                                          gi);
                    int flagged = skip_group(&pc, &ps, gh, rows, n, w, k,
                                             most, base, as, ix, gi, pb,
                                             pbs, cg);
                    for (size_t l = 0; l < rows; l++) {
                        const double *al = a + (ptrdiff_t)gi[l] * a_row;
                        double *cl = c + gi[l] * n;
                        memcpy(cl, cg + l * n, n * sizeof *cl);
                        if ((flagged || row_needs_full(n, cl)) &&
                            kernels[gh][0](&pc, &ps, n, w, k, al, a_row,
                                           a_k, pb, pbs, cl))
                            rows_arrays(&acc->fast, 1, n, w, k, al, a_row,
                                        a_k, pb, pbs, sums, prod, spread,
                                        cl);
                    }
                }
            }
        } else if (kind == KERNEL_WIDE) {
            /* Each pair of rows takes the watch of its own operands
             * (wide_watch), so that a few tiny values of some rows late
             * in training do not slow the others. */
            const nfi_fast *f = &acc->fast;
            nfi_wide_operands wo;
            nfi_matmul_wide_shared(&wo, k, w, pb, pbs);
            bool below = false;
            for (size_t i = 0; i < m && !skip; i += 2) {
                size_t r = m - i < 2 ? m - i : 2;
                const double *ai = a + (ptrdiff_t)i * a_row;
                const double *pair[2] = {ai, ai + (ptrdiff_t)(r - 1) * a_row};
                int how = wide_watch(f, &wo, r, pair, a_k, &below);
                int redo = nfi_matmul_wide_rows(f, r, n, w, k, ai, a_row,
                                                a_k, pb, pbs, c + i * n,
                                                &how);
                below |= (how & ~NFI_WIDE_PLAINS) == NFI_WIDE_SUBNORMAL;
                for (size_t l = 0; l < r; l++)
                    if (redo >> l & 1)
                        rows_arrays(&acc->fast, 1, n, w, k,
                                    ai + (ptrdiff_t)l * a_row, 0, a_k, pb,
                                    pbs, sums, prod, spread,
                                    c + (i + l) * n);
            }
            if (skip) {
                size_t *order = kept + m;
                ptrdiff_t as;
                const double *base = contiguous_rows(a, a_row, a_k, m, k,
                                                     av, &as);
                if (!kept_terms(base, as, m, k, ix, kept)) {
                    free(block);
                    free(av);
                    free(ix);
                    free(kept);
                    return -1;
                }
                double *cg = av + m * k;
                for (size_t g = 0; g < m; g += 2) {
                    size_t rows = m - g < 2 ? m - g : 2;
                    const size_t *gi = order + g;
                    size_t most = pad_group(rows, k, gi, kept, base, as,
                                            ix);
                    const double *gv[2] = {
                        base + (ptrdiff_t)gi[0] * as,
                        base + (ptrdiff_t)gi[rows - 1] * as};
                    const uint32_t *gx[2] = {ix + gi[0] * k,
                                             ix + gi[rows - 1] * k};
                    int how = wide_watch(f, &wo, rows, gv, 1, &below);
                    int flagged = nfi_matmul_wide_terms(f, rows, n, w, most,
                                                        gv, gx, pb, pbs, cg,
                                                        &how);
                    for (size_t l = 0; l < rows; l++) {
                        const double *al = a + (ptrdiff_t)gi[l] * a_row;
                        double *cl = c + gi[l] * n;
                        memcpy(cl, cg + l * n, n * sizeof *cl);
                        if (!(flagged >> l & 1) && !row_needs_full(n, cl))
                            continue;
                        if (nfi_matmul_wide_rows(f, 1, n, w, k, al, a_row,
                                                 a_k, pb, pbs, cl, &how))
                            rows_arrays(&acc->fast, 1, n, w, k, al, 0, a_k,
                                        pb, pbs, sums, prod, spread, cl);
                    }
                    below |= (how & ~NFI_WIDE_PLAINS) == NFI_WIDE_SUBNORMAL;
                }
            }
        } else {
            rows_arrays(&acc->fast, m, n, w, k, a, a_row, a_k, pb, pbs,
                        sums, prod, spread, c);
        }
    }
    free(block);
    free(av);
    free(ix);
    free(kept);
    return 1;
}

int nfi_matmul_fast(nfi_arith *acc, nfi_arith *out,
                    const nfi_reduction *order, size_t m, size_t n,
                    size_t k, const double *a, ptrdiff_t a_row,
                    ptrdiff_t a_k, const double *b, ptrdiff_t b_row,
                    ptrdiff_t b_k, const double *bias, double *c)
{
    kernel_kind kind = choose(acc, out, order, k);
    if (kind == KERNEL_NONE || m * n == 1)
        return 0; /* one element: the element loop is as fast */
    if (m == 0 || n == 0)
        return 1;
    /* The native kernels do too little per term for skipping to pay
     * (measured: a training step of binary32 got slower). */
    bool skips = kind == KERNEL_PLAIN || kind == KERNEL_WIDE;
    size_t seen_a = 0, seen_b = 0;
    size_t zeros_a = skips ? count_zeros(a, a_row, a_k, m, k, &seen_a) : 0;
    size_t zeros_b = skips ? count_zeros(b, b_row, b_k, n, k, &seen_b) : 0;
    int status = 0;
    /* Where b has the zeros, c^T = b a^T: the same products (each
     * rounded once, and RN(x y) = RN(y x) but for the payload of a NaN
     * made from two NaN operands) summed in the same order over k, with
     * the zeros now in the first operand.  A NaN anywhere in the result
     * sends the product back to the usual orientation, so NaN results
     * are always those of the element loop's operand order. */
    if (bias == NULL && zeros_pay(zeros_b, seen_b) &&
        zeros_b * seen_a > 2 * zeros_a * seen_b) {
        double *ct = malloc(m * n * sizeof *ct);
        if (ct == NULL)
            return -1;
        status = matmul_core(acc, kind, n, m, k, b, b_row, b_k, a, a_row,
                             a_k, NULL, ct, true);
        bool nan = false;
        for (size_t e = 0; status == 1 && e < m * n; e++)
            nan |= isnan(ct[e]);
        if (status == 1 && !nan)
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++)
                    c[i * n + j] = ct[j * m + i];
        free(ct);
        if (status == 1 && nan)
            status = 0; /* recompute below */
    }
    if (status == 0)
        status = matmul_core(acc, kind, m, n, k, a, a_row, a_k, b, b_row,
                             b_k, bias, c, zeros_pay(zeros_a, seen_a));
    if (status < 0)
        return -1;
    for (size_t i = 0; i < m; i++)
        cast_row(acc, out, n, c + i * n);
    return 1;
}

/* Sequential sums of rows, fused (sim/lanes.h: sums of format values
 * rounded by nfi_lanes_round_grid, overflow flagged): out[j] = row 0 +
 * row 1 + ... for `vecs` * 4 columns from j, row t at x + row(t) * stride
 * (row(t) = idx[t], or t when idx is NULL).  Returns whether a lane was
 * flagged. */
static inline __attribute__((always_inline)) int
rows_sum_body(const nfi_lanes_rne *pc, const nfi_lanes_sub *ps, int vecs,
              size_t count, const double *restrict x, size_t stride,
              const size_t *idx, size_t j, double *restrict out)
{
    const nfi_lanes_rne cr = *pc;
    const nfi_lanes_sub cs = *ps;
    nfi_v4u flag = {0, 0, 0, 0};
    nfi_v4d s[4];
    const double *row = x + (idx ? idx[0] : 0) * stride + j;
    for (int v = 0; v < vecs; v++)
        s[v] = nfi_load4(row + 4 * v);
    for (size_t t = 1; t < count; t++) {
        row = x + (idx ? idx[t] : t) * stride + j;
        for (int v = 0; v < vecs; v++) {
            nfi_v4d sum = s[v] + nfi_load4(row + 4 * v);
            nfi_lanes_flag_over(&cs, sum, &flag);
            s[v] = nfi_lanes_round_grid(&cr, sum);
        }
    }
    for (int v = 0; v < vecs; v++)
        nfi_store4(out + j + 4 * v, s[v]);
    return nfi_lanes_any(flag);
}

NFI_FMA_CLONES
static void rows_sum_lanes(nfi_fast *f, size_t count, const double *x,
                           size_t stride, const size_t *idx, size_t n,
                           double *out)
{
    nfi_lanes_rne pc = nfi_lanes_rne_of(f);
    nfi_lanes_sub ps = nfi_lanes_sub_of(f);
    size_t j = 0;
    for (; j < n; ) {
        size_t width = n - j >= 16 ? 16 : n - j >= 4 ? 4 : 1;
        int flagged = 0;
        if (width == 16)
            flagged = rows_sum_body(&pc, &ps, 4, count, x, stride, idx, j,
                                    out);
        else if (width == 4)
            flagged = rows_sum_body(&pc, &ps, 1, count, x, stride, idx, j,
                                    out);
        if (flagged || width == 1) {
            /* The engine's array additions, row after row, as the loops
             * this replaces call them (so that even the sign of a NaN
             * made from two NaN operands, which depends on how the
             * compiled code orders them, stays as it was). */
            memcpy(out + j, x + (idx ? idx[0] : 0) * stride + j,
                   width * sizeof *out);
            for (size_t t = 1; t < count; t++)
                nfi_fast_add_array(f, width, out + j, out + j,
                                   x + (idx ? idx[t] : t) * stride + j);
        }
        j += width;
    }
}

int nfi_rows_sum_fast(nfi_arith *acc, size_t count, const double *x,
                      size_t stride, const size_t *idx, size_t n,
                      double *out)
{
    if (acc->reference || count == 0 || acc->fast.mode != NFI_ROUND_RNE)
        return 0;
    if (nfi_lanes_sub_applies(&acc->fast)) {
        rows_sum_lanes(&acc->fast, count, x, stride, idx, n, out);
        return 1;
    }
    if (!nfi_matmul_wide_applies(&acc->fast))
        return 0;
    if (nfi_rows_sum_wide(&acc->fast, count, x, stride, idx, n, out)) {
        /* A flagged value: the engine's array additions, row after row,
         * as in rows_sum_lanes. */
        memcpy(out, x + (idx ? idx[0] : 0) * stride, n * sizeof *out);
        for (size_t t = 1; t < count; t++)
            nfi_fast_add_array(&acc->fast, n, out, out,
                               x + (idx ? idx[t] : t) * stride);
    }
    return 1;
}

/* out[j] = (x0[j] + x1[j]) + bias[j], each sum rounded by
 * nfi_lanes_round_grid (sums of format values: sim/lanes.h), four lanes
 * at a time, the last group padded with zeros.  Returns 1 when no sum
 * was flagged (overflow, infinity, NaN) and no first sum is zero, else 0
 * (out then unspecified). */
NFI_FMA_CLONES
static int pair_bias_lanes(nfi_fast *f, size_t n, const double *x0,
                           const double *x1, const double *bias,
                           double *out)
{
    const nfi_lanes_rne cr = nfi_lanes_rne_of(f);
    const nfi_lanes_sub cs = nfi_lanes_sub_of(f);
    nfi_v4u flag = {0, 0, 0, 0};
#define PAIR_BIAS(a, b, c, z)                                               \
    do {                                                                    \
        nfi_v4d s = (a) + (b);                                              \
        nfi_lanes_flag_over(&cs, s, &flag);                                 \
        s = nfi_lanes_round_grid(&cr, s);                                   \
        flag |= (nfi_v4u)(s == 0.0);                                        \
        nfi_v4d t = s + (c);                                                \
        nfi_lanes_flag_over(&cs, t, &flag);                                 \
        z = nfi_lanes_round_grid(&cr, t);                                   \
    } while (0)
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        nfi_v4d z;
        PAIR_BIAS(nfi_load4(x0 + j), nfi_load4(x1 + j), nfi_load4(bias + j),
                  z);
        nfi_store4(out + j, z);
    }
    if (j < n) { /* padding: 1 + 0 + 0 in the lanes beyond n */
        nfi_v4d z;
        PAIR_BIAS(nfi_load4_part(x0 + j, n - j, 1.0),
                  nfi_load4_part(x1 + j, n - j, 0.0),
                  nfi_load4_part(bias + j, n - j, 0.0), z);
        nfi_store4_part(out + j, n - j, z);
    }
#undef PAIR_BIAS
    return !nfi_lanes_any(flag);
}

int nfi_pair_bias_fast(nfi_arith *acc, size_t n, const double *x0,
                       const double *x1, const double *bias, double *out)
{
    if (acc->reference || acc->fast.mode != NFI_ROUND_RNE)
        return 0;
    if (nfi_lanes_sub_applies(&acc->fast))
        return pair_bias_lanes(&acc->fast, n, x0, x1, bias, out);
    if (nfi_matmul_wide_applies(&acc->fast))
        return nfi_pair_bias_wide(&acc->fast, n, x0, x1, bias, out);
    return 0;
}

NFI_FMA_CLONES
static void column_sums_binary32(size_t rows, size_t cols, const double *x,
                                 float *restrict sums)
{
    for (size_t j = 0; j < cols; j++)
        sums[j] = (float)x[j];
    for (size_t i = 1; i < rows; i++) {
        const double *row = x + i * cols;
        for (size_t j = 0; j < cols; j++)
            sums[j] = sums[j] + (float)row[j];
    }
}

NFI_FMA_CLONES
static void column_sums_binary64(size_t rows, size_t cols, const double *x,
                                 double *restrict sums)
{
    for (size_t j = 0; j < cols; j++)
        sums[j] = x[j];
    for (size_t i = 1; i < rows; i++) {
        const double *row = x + i * cols;
        for (size_t j = 0; j < cols; j++)
            sums[j] = sums[j] + row[j];
    }
}

int nfi_column_sums_fast(nfi_arith *acc, nfi_arith *out,
                         const nfi_reduction *order, size_t rows,
                         size_t cols, const double *x, double *sums)
{
    kernel_kind kind = choose(acc, out, order, rows);
    if (kind == KERNEL_NONE)
        return 0;
    if (kind == KERNEL_BINARY32) {
        float *s = malloc((cols ? cols : 1) * sizeof *s);
        if (s == NULL)
            return -1;
        column_sums_binary32(rows, cols, x, s);
        for (size_t j = 0; j < cols; j++)
            sums[j] = s[j];
        free(s);
    } else if (kind == KERNEL_BINARY64) {
        column_sums_binary64(rows, cols, x, sums);
    } else if (kind == KERNEL_PLAIN && nfi_lanes_sub_applies(&acc->fast)) {
        rows_sum_lanes(&acc->fast, rows, x, cols, NULL, cols, sums);
    } else if (kind != KERNEL_WIDE ||
               nfi_column_sums_wide(&acc->fast, rows, cols, x, sums)) {
        for (size_t j = 0; j < cols; j++)
            sums[j] = x[j];
        for (size_t i = 1; i < rows; i++)
            nfi_fast_add_array(&acc->fast, cols, sums, sums, x + i * cols);
    }
    cast_row(acc, out, cols, sums);
    return 1;
}
