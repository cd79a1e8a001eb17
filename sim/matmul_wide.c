/* nfi: fused row kernels for RNE with 26 <= p <= 52.  The rounding of
 * each lane and why it is exact are in lanes_wide.h. */
#include "matmul_wide.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "lanes_wide.h"

bool nfi_matmul_wide_applies(const nfi_fast *f)
{
    return nfi_lanes_wide_apply(f);
}

/* Adds count contiguous values to s: their range by nfi_lanes_span,
 * read as numbers (a largest pattern above DBL_MAX's is an infinity or
 * a NaN, and a NaN fails the comparisons). */
NFI_FMA_CLONES
static void span_add_run(nfi_wide_span *s, const double *v, size_t count)
{
    uint64_t top = 0, low = UINT64_MAX;
    nfi_lanes_span(v, count, &top, &low);
    double most, least;
    memcpy(&most, &top, sizeof most);
    s->finite &= most <= DBL_MAX;
    if (most > s->most)
        s->most = most;
    if (low != UINT64_MAX) {
        uint64_t b = low + 1;
        memcpy(&least, &b, sizeof least);
        if (least < s->least)
            s->least = least;
    }
}

/* Adds count values at v, v + stride, ... to s, one at a time (the
 * comparisons as in span_add_run: a NaN fails them all, and leaves
 * finite false). */
static void span_add_strided(nfi_wide_span *s, const double *v,
                             size_t count, ptrdiff_t stride)
{
    for (size_t t = 0; t < count; t++) {
        double x = fabs(v[(ptrdiff_t)t * stride]);
        s->finite &= x <= DBL_MAX;
        if (x > s->most)
            s->most = x;
        if (x != 0.0 && x < s->least)
            s->least = x;
    }
}

static const nfi_wide_span empty_span = {INFINITY, 0.0, true};

/* Whether a sequential sum of `terms` values, each a rounded product of
 * an `x` and a `y` value or (once) a `z` value, needs no watch of the
 * range (x, y, z finite format values; z empty when it has no non-zero
 * value): every rounded product is a zero or a normal format value, and
 * every rounded sum too or, in a format with subnormals, an exact sum
 * below 2^emin.
 *   - Low end, products: a non-zero |x| >= 2^lx, |y| >= 2^ly (lx, ly
 *     their exponents), so a non-zero exact product is at least
 *     2^(lx + ly), and its rounding too: none is below 2^emin when
 *     lx + ly >= emin.
 *   - Low end, sums, with subnormals: every format value is a multiple
 *     of the subnormal step Q = 2^(emin - p + 1), so a sum of two whose
 *     exact value lies below 2^emin is m Q with m < 2^(p - 1): binary64
 *     holds it (a normal number: Q >= 2^-511 by products_never_tiny), it
 *     is its own RNE in the format, and the kernels' unwatched roundings
 *     leave it as it is (lanes_wide.h: its bits below the p-bit grid of
 *     its own binade are zero, so neither the bit rounding nor the
 *     split moves it, and an exact sum is not marked).  Nothing more is
 *     needed.
 *   - Low end, sums, without subnormals: a z value is a multiple of
 *     2^(lz - p + 1), a rounded product of 2^(lx + ly - p + 1).  Sums of
 *     multiples of 2^q stay multiples of 2^q when rounded (a rounded
 *     value that is not the sum has a grid step above 2^q, a multiple of
 *     it), so a non-zero one is at least 2^q: no value is non-zero below
 *     2^emin when q = min(lx + ly, lz) - p + 1 >= emin.
 *   - High end: every rounded product is at most 2^(ux + uy) (ux, uy the
 *     exponents of the largest plus one), and RNE in the normal range
 *     has a relative error at most 2^-p, so a partial sum of t terms is
 *     at most (terms 2^(ux+uy) + max|z|) (1 + 2^-p)^terms, below twice
 *     the first factor when terms <= 2^(p-2) (e^(1/4) < 2); no value
 *     exceeds max_finite when 4 times the first factor (computed in
 *     binary64, a margin for its own rounding) is at most max_finite. */
static bool sums_bounded(const nfi_fast *f, const nfi_wide_span *x,
                         const nfi_wide_span *y, const nfi_wide_span *z,
                         size_t terms);

static bool sums_stay_normal(const nfi_fast *f, const nfi_wide_span *x,
                             const nfi_wide_span *y, const nfi_wide_span *z,
                             size_t terms)
{
    if (!sums_bounded(f, x, y, z, terms))
        return false;
    int q = INT32_MAX;
    if (x->most != 0.0 && y->most != 0.0)
        q = ilogb(x->least) + ilogb(y->least);
    if (f->format.subnormals)
        return q >= f->emin;
    if (z->most != 0.0 && ilogb(z->least) < q)
        q = ilogb(z->least);
    return q == INT32_MAX || q - f->p + 1 >= f->emin;
}

/* The high end of sums_stay_normal's argument alone: finite operands
 * and no rounded product or sum above max_finite, whatever becomes of
 * the products at the low end (a rounded product is at most
 * 2^(ux + uy) there too: rounding is monotone). */
static bool sums_bounded(const nfi_fast *f, const nfi_wide_span *x,
                         const nfi_wide_span *y, const nfi_wide_span *z,
                         size_t terms)
{
    if (!x->finite || !y->finite || !z->finite)
        return false;
    if ((double)terms > ldexp(1.0, f->p - 2))
        return false;
    double top = 0.0;
    if (x->most != 0.0 && y->most != 0.0)
        top = ldexp((double)terms, ilogb(x->most) + ilogb(y->most) + 2);
    return 4.0 * (top + z->most) <= f->max_finite;
}

/* Whether every rounded product of an x and a y value is a normal
 * format value or a zero: both finite, and with lx, ly the exponents of
 * their least non-zero magnitudes and ux, uy those of their largest, a
 * non-zero exact product lies in [2^(lx + ly), 2^(ux + uy + 2)), so its
 * rounding too (rounding is monotone and both ends are format values or
 * above the range) when lx + ly >= emin and ux + uy + 2 <= emax. */
static bool products_stay_normal(const nfi_fast *f, const nfi_wide_span *x,
                                 const nfi_wide_span *y)
{
    if (!x->finite || !y->finite)
        return false;
    if (x->most == 0.0 || y->most == 0.0)
        return true; /* every product is zero */
    return ilogb(x->least) + ilogb(y->least) >= f->emin &&
           ilogb(x->most) + ilogb(y->most) + 2 <= f->format.emax;
}

void nfi_matmul_wide_shared(nfi_wide_operands *o, size_t k, size_t w,
                            const double *bt, const double *bias)
{
    o->k = k;
    o->b = empty_span;
    o->bias = empty_span;
    span_add_run(&o->b, bt, k * w);
    if (bias != NULL)
        span_add_run(&o->bias, bias, w);
}

/* The watch for a values of range *sa against the shared operands. */
static int watch_of(const nfi_fast *f, const nfi_wide_operands *o,
                    const nfi_wide_span *sa)
{
    if (sums_stay_normal(f, sa, &o->b, &o->bias, o->k + 1))
        return NFI_WIDE_UNCHECKED;
    /* Not both: with subnormals, products proven normal and sums
     * bounded make the first case. */
    if (products_stay_normal(f, sa, &o->b))
        return NFI_WIDE_CHECKED | NFI_WIDE_PLAIN_PRODUCTS;
    if (f->format.subnormals && sums_bounded(f, sa, &o->b, &o->bias,
                                             o->k + 1))
        return NFI_WIDE_CHECKED | NFI_WIDE_PLAIN_SUMS;
    return NFI_WIDE_CHECKED;
}

int nfi_matmul_wide_watch_rows(const nfi_fast *f,
                               const nfi_wide_operands *o, size_t rows,
                               const double *const *a, ptrdiff_t ak)
{
    nfi_wide_span sa = empty_span;
    for (size_t r = 0; r < rows; r++) {
        if (ak == 1)
            span_add_run(&sa, a[r], o->k);
        else
            span_add_strided(&sa, a[r], o->k, ak);
    }
    return watch_of(f, o, &sa);
}

/* The operands of rows_kernel's rows (see there), for rows_block. */
typedef struct rows_terms {
    const double *a1, *a2;     /* the factors of rows 0 and 1 */
    const uint32_t *x1, *x2;   /* their term indices, or NULL */
    ptrdiff_t ak;              /* the factors' stride without indices */
    const double *bt, *bias;
    size_t w;
} rows_terms;

/* How the kernels round what they do not watch: with the error terms
 * (SPLIT_NONE), by the split marking lanes that need their error
 * term (SPLIT_MARKED), by the split alone (SPLIT_EXACT, where
 * nfi_wide_split_exact). */
enum { SPLIT_NONE, SPLIT_MARKED, SPLIT_EXACT };

/* The four rounded products of term t in columns j0..j0+7: q[0], q[1]
 * of row 0, q[2], q[3] of row 1.  With split (not SPLIT_NONE), by the
 * split, unwatched, marking in *mark (NULL for none: SPLIT_EXACT) the
 * lanes that need their error term (lanes_wide.h); otherwise with the
 * error terms under the flags p1, p2. */
static inline __attribute__((always_inline)) void
term_products(const nfi_lanes_wide *cw, const rows_terms *o, size_t t,
              size_t j0, int split, nfi_v4u *mark, nfi_wide_flags *p1,
              nfi_wide_flags *p2, nfi_v4d q[4])
{
    const bool ix = o->x1 != NULL;
    const double *r1 = o->bt + (ix ? (size_t)o->x1[t] : t) * o->w + j0;
    const double *r2 = o->bt + (ix ? (size_t)o->x2[t] : t) * o->w + j0;
    nfi_v4d x = nfi_splat4(ix ? o->a1[o->x1[t]]
                              : o->a1[(ptrdiff_t)t * o->ak]);
    nfi_v4d y = nfi_splat4(ix ? o->a2[o->x2[t]]
                              : o->a2[(ptrdiff_t)t * o->ak]);
    nfi_v4d b[4] = {nfi_load4(r1), nfi_load4(r1 + 4), nfi_load4(r2),
                    nfi_load4(r2 + 4)};
    for (int v = 0; v < 4; v++)
        q[v] = split ? nfi_wide_mul_split(cw, v < 2 ? x : y, b[v], mark)
                     : nfi_wide_mul(cw, v < 2 ? x : y, b[v],
                                    v < 2 ? p1 : p2);
}

/* A sum of rows_block, as term_products rounds a product (mark NULL
 * for none). */
static inline __attribute__((always_inline)) nfi_v4d
block_sum(const nfi_lanes_wide *cw, nfi_v4d a, nfi_v4d b, int split,
          nfi_v4u *mark, nfi_wide_flags *g)
{
    return split ? nfi_wide_add_split(cw, a, b, mark)
                 : nfi_wide_add(cw, a, b, g);
}

/* Columns j0..j0+7 of up to two rows into v[0..3] (row 0's two vectors,
 * then row 1's): four vectors of running sums stay in registers through
 * the terms, independent chains for the pipeline.  The products are
 * rounded as split_products says, the sums as split_sums (marks in
 * *mark), those not split with their error terms under the flags p1, p2
 * (products) and g1, g2 (sums), NULL for none. */
static inline __attribute__((always_inline)) void
rows_block(const nfi_lanes_wide *cw, const rows_terms *o, size_t count,
           size_t j0, int split_products, int split_sums, nfi_v4u *mark,
           nfi_wide_flags *g1, nfi_wide_flags *g2, nfi_wide_flags *p1,
           nfi_wide_flags *p2, nfi_v4d v[4])
{
    /* the marks each kind of operation takes: none unless SPLIT_MARKED */
    nfi_v4u *pm = split_products == SPLIT_MARKED ? mark : NULL;
    nfi_v4u *sm = split_sums == SPLIT_MARKED ? mark : NULL;
    nfi_v4d q[4];
    term_products(cw, o, 0, j0, split_products, pm, p1, p2, v);
    for (size_t t = 1; t < count; t++) {
        term_products(cw, o, t, j0, split_products, pm, p1, p2, q);
        for (int r = 0; r < 4; r++)
            v[r] = block_sum(cw, v[r], q[r], split_sums, sm,
                             r < 2 ? g1 : g2);
    }
    if (o->bias != NULL) {
        nfi_v4d b0 = nfi_load4(o->bias + j0), b1 = nfi_load4(o->bias + j0 + 4);
        for (int r = 0; r < 4; r++)
            v[r] = block_sum(cw, v[r], r % 2 ? b1 : b0, split_sums, sm,
                             r < 2 ? g1 : g2);
    }
}

/* Up to two rows of a product, eight columns at a time (rows_block).
 * Row r (0 or 1) has `count` terms t: with ix NULL, the products
 * a_r[t ak] bt[t w + j] of the rows a_r = a + r a_row; otherwise
 * av[r][ix[r][t]] bt[ix[r][t] w + j] (matmul_fast.c drops the zero terms
 * of a row and pads with zero terms).  With checked false, no range is
 * recorded (g NULL); with plain_products, the products are rounded
 * without a watch, with plain_sums the sums.  With split SPLIT_MARKED or
 * SPLIT_EXACT (nfi_wide_split_applies), the values rounded without a
 * watch are rounded by the split (lanes_wide.h), and a block with a
 * marked lane is computed again with the error terms (the flags of its
 * first pass stay: at worst they send a row to the general operations
 * needlessly).  Returns the flags, bit r for row r. */
static inline __attribute__((always_inline)) int
rows_kernel(const nfi_fast *f, size_t rows, size_t n, size_t w,
            size_t count, const double *a, ptrdiff_t a_row, ptrdiff_t ak,
            const double *const *av, const uint32_t *const *ix,
            const double *bt, const double *bias, double *c, bool checked,
            bool subnormal, bool plain_products, bool plain_sums, int split)
{
    const nfi_lanes_wide cw = nfi_lanes_wide_of(f);
    rows_terms o = {ix ? av[0] : a,
                    ix ? av[rows > 1] : rows > 1 ? a + a_row : a,
                    ix ? ix[0] : NULL, ix ? ix[rows > 1] : NULL,
                    ak, bt, bias, w};
    nfi_wide_flags f1 = nfi_wide_flags_new(subnormal), f2 = f1;
    /* the sums' and the products' watches: none where proven in range */
    nfi_wide_flags *g1 = checked && !plain_sums ? &f1 : NULL;
    nfi_wide_flags *g2 = checked && !plain_sums ? &f2 : NULL;
    nfi_wide_flags *p1 = checked && !plain_products ? &f1 : NULL;
    nfi_wide_flags *p2 = checked && !plain_products ? &f2 : NULL;
    const int split_products = plain_products || !checked ? split
                                                          : SPLIT_NONE;
    const int split_sums = plain_sums || !checked ? split : SPLIT_NONE;
    for (size_t j0 = 0; j0 < w; j0 += 8) {
        nfi_v4d v[4];
        nfi_v4u mark = {0, 0, 0, 0};
        rows_block(&cw, &o, count, j0, split_products, split_sums, &mark,
                   g1, g2, p1, p2, v);
        if ((split_products == SPLIT_MARKED ||
             split_sums == SPLIT_MARKED) && nfi_lanes_any(mark))
            rows_block(&cw, &o, count, j0, SPLIT_NONE, SPLIT_NONE, &mark,
                       g1, g2, p1, p2, v);
        double s[16];
        for (int q = 0; q < 4; q++)
            nfi_store4(s + 4 * q, v[q]);
        for (size_t j = 0; j < 8 && j0 + j < n; j++) {
            c[j0 + j] = s[j];
            if (rows > 1)
                c[n + j0 + j] = s[8 + j];
        }
    }
    if (!checked)
        return 0;
    return nfi_wide_flagged(&cw, &f1) |
           (rows > 1 ? nfi_wide_flagged(&cw, &f2) << 1 : 0);
}

/* rows_kernel under the watch *how (matmul_wide.h): unchecked; the
 * subnormal lanes; or checked, and when a block is flagged in a format
 * with subnormals, that block again in the subnormal lanes and *how
 * moved to them for the calls after.  Values below 2^emin are rare
 * where the proof fails only for its margin: flag them first, and round
 * them in the lanes only when they occur (and from then on). */
static inline __attribute__((always_inline)) int
rows_watched(const nfi_fast *f, size_t rows, size_t n, size_t w,
             size_t count, const double *a, ptrdiff_t a_row, ptrdiff_t ak,
             const double *const *av, const uint32_t *const *ix,
             const double *bt, const double *bias, double *c, int *how)
{
    int watch = *how & ~NFI_WIDE_PLAINS;
    bool plain = (*how & NFI_WIDE_PLAIN_PRODUCTS) != 0;
    bool plain_sums = (*how & NFI_WIDE_PLAIN_SUMS) != 0;
    int split = !nfi_wide_split_applies(f) ? SPLIT_NONE
                : nfi_wide_split_exact(f)    ? SPLIT_EXACT
                                             : SPLIT_MARKED;
/* the kernel with constant watch flags, so that each instance drops the
 * work its watch does not need */
#define ROWS(checked, subnormal, plain, sums, split)                        \
    rows_kernel(f, rows, n, w, count, a, a_row, ak, av, ix, bt, bias, c,    \
                checked, subnormal, plain, sums, split)
#define SPLITS(checked, subnormal, plain, sums)                             \
    (split == SPLIT_EXACT                                                   \
         ? ROWS(checked, subnormal, plain, sums, SPLIT_EXACT)               \
     : split == SPLIT_MARKED                                                \
         ? ROWS(checked, subnormal, plain, sums, SPLIT_MARKED)              \
         : ROWS(checked, subnormal, plain, sums, SPLIT_NONE))
#define KERNEL(checked, subnormal)                                          \
    (plain ? SPLITS(checked, subnormal, true, false)                        \
     : plain_sums ? SPLITS(checked, subnormal, false, true)                 \
     : ROWS(checked, subnormal, false, false, SPLIT_NONE))
    if (watch == NFI_WIDE_UNCHECKED)
        return SPLITS(false, false, false, false);
    if (watch == NFI_WIDE_SUBNORMAL && f->format.subnormals)
        return KERNEL(true, true);
    int r = KERNEL(true, false);
    if (r == 0 || !f->format.subnormals)
        return r;
    *how = NFI_WIDE_SUBNORMAL | (*how & NFI_WIDE_PLAINS);
    return KERNEL(true, true);
#undef KERNEL
#undef SPLITS
#undef ROWS
}

NFI_FMA_CLONES
int nfi_matmul_wide_rows(const nfi_fast *f, size_t rows, size_t n,
                         size_t w, size_t k, const double *a,
                         ptrdiff_t a_row, ptrdiff_t ak, const double *bt,
                         const double *bias, double *c, int *how)
{
    return rows_watched(f, rows, n, w, k, a, a_row, ak, NULL, NULL, bt,
                        bias, c, how);
}

NFI_FMA_CLONES
int nfi_matmul_wide_terms(const nfi_fast *f, size_t rows, size_t n,
                          size_t w, size_t count, const double *const *av,
                          const uint32_t *const *ix, const double *bt,
                          const double *bias, double *c, int *how)
{
    return rows_watched(f, rows, n, w, count, NULL, 0, 0, av, ix, bt, bias,
                        c, how);
}

/* Columns j..j + 4 vecs - 1 of the sum of `rows` rows, row i at x +
 * r_i * stride (r_i = idx[i], or i when idx is NULL): vecs independent
 * chains of sums. */
static inline __attribute__((always_inline)) void
sums_block(const nfi_lanes_wide *c, int vecs, size_t rows, const double *x,
           size_t stride, const size_t *idx, size_t j, double *out,
           nfi_wide_flags *g)
{
    nfi_v4d s[4];
    const double *row = x + (idx ? idx[0] : 0) * stride + j;
    for (int v = 0; v < vecs; v++)
        s[v] = nfi_load4(row + 4 * v);
    for (size_t i = 1; i < rows; i++) {
        row = x + (idx ? idx[i] : i) * stride + j;
        for (int v = 0; v < vecs; v++)
            s[v] = nfi_wide_add(c, s[v], nfi_load4(row + 4 * v), g);
    }
    for (int v = 0; v < vecs; v++)
        nfi_store4(out + j + 4 * v, s[v]);
}

/* The sums of `rows` rows (as in sums_block) into sums[0..cols): sixteen
 * columns at a time, then four, then the last few padded with zeros,
 * whose sums are exact zeros. */
static inline __attribute__((always_inline)) int
sums_kernel(const nfi_fast *f, size_t rows, size_t cols, const double *x,
            size_t stride, const size_t *idx, double *sums, bool checked,
            bool subnormal)
{
    const nfi_lanes_wide c = nfi_lanes_wide_of(f);
    nfi_wide_flags fl = nfi_wide_flags_new(subnormal);
    nfi_wide_flags *g = checked ? &fl : NULL;
    size_t j = 0;
    for (; j + 16 <= cols; j += 16)
        sums_block(&c, 4, rows, x, stride, idx, j, sums, g);
    for (; j + 4 <= cols; j += 4)
        sums_block(&c, 1, rows, x, stride, idx, j, sums, g);
    if (j < cols) {
        size_t m = cols - j;
        nfi_v4d s = nfi_load4_part(x + (idx ? idx[0] : 0) * stride + j, m,
                                   0.0);
        for (size_t i = 1; i < rows; i++)
            s = nfi_wide_add(&c, s,
                             nfi_load4_part(x + (idx ? idx[i] : i) * stride
                                            + j, m, 0.0), g);
        nfi_store4_part(sums + j, m, s);
    }
    return checked ? nfi_wide_flagged(&c, &fl) : 0;
}

NFI_FMA_CLONES
int nfi_rows_sum_wide(const nfi_fast *f, size_t count, const double *x,
                      size_t stride, const size_t *idx, size_t n,
                      double *out)
{
    int r = sums_kernel(f, count, n, x, stride, idx, out, true, false);
    if (r == 0 || !f->format.subnormals)
        return r;
    return sums_kernel(f, count, n, x, stride, idx, out, true, true);
}

NFI_FMA_CLONES
int nfi_pair_bias_wide(const nfi_fast *f, size_t n, const double *x0,
                       const double *x1, const double *bias, double *out)
{
    const nfi_lanes_wide c = nfi_lanes_wide_of(f);
    nfi_wide_flags fl = nfi_wide_flags_new(false);
    nfi_v4u zero = {0, 0, 0, 0};
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        nfi_v4d s = nfi_wide_add(&c, nfi_load4(x0 + j), nfi_load4(x1 + j),
                                 &fl);
        zero |= (nfi_v4u)(s == 0.0);
        nfi_store4(out + j, nfi_wide_add(&c, s, nfi_load4(bias + j), &fl));
    }
    if (j < n) { /* padding: 1 + 0 + 0 in the lanes beyond n */
        nfi_v4d s = nfi_wide_add(&c, nfi_load4_part(x0 + j, n - j, 1.0),
                                 nfi_load4_part(x1 + j, n - j, 0.0), &fl);
        zero |= (nfi_v4u)(s == 0.0);
        nfi_store4_part(out + j, n - j,
                        nfi_wide_add(&c, s,
                                     nfi_load4_part(bias + j, n - j, 0.0),
                                     &fl));
    }
    return !nfi_wide_flagged(&c, &fl) && !nfi_lanes_any(zero);
}

NFI_FMA_CLONES
int nfi_column_sums_wide(const nfi_fast *f, size_t rows, size_t cols,
                         const double *x, double *sums)
{
    /* The terms as products x * 1 (exact: 1 is a format value). */
    nfi_wide_span sx = empty_span, one = {1.0, 1.0, true};
    nfi_wide_span none = empty_span;
    span_add_run(&sx, x, rows * cols);
    if (sums_stay_normal(f, &sx, &one, &none, rows))
        return sums_kernel(f, rows, cols, x, cols, NULL, sums, false,
                           false);
    return nfi_rows_sum_wide(f, rows, x, cols, NULL, cols, sums);
}
