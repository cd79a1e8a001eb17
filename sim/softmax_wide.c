/* nfi: softmax cross-entropy steps on four lanes for RNE with
 * 26 <= p <= 52.  The rounding of each lane and why it is exact are in
 * lanes_wide.h; a block with a lane outside the normal range (above
 * max_finite, infinite or NaN, or a non-zero value below 2^emin where
 * the lanes do not round onto the subnormal grid, at any operation) is
 * recomputed by the scalar operations, so the lanes need only be right
 * where every operand is a format value and every result a zero, a
 * normal value or (when rounded so) a subnormal. */
#include "softmax_wide.h"

#include "bits.h"
#include "cpu.h"
#include "elementary.h"
#include "lanes_wide.h"

bool nfi_ce_wide_applies(const nfi_arith *a)
{
    return !a->reference && nfi_lanes_wide_apply(&a->fast);
}

/* x - c is the sum x + (-c): the same exact value and the same signed
 * zero in RNE (+0 for an exact cancellation; -0 - +0 = -0 + -0 = -0).
 * A flagged block is tried again with the lanes rounding onto the
 * subnormal grid (lanes_wide.h) when the format has subnormals (only
 * then: that rounding costs work that is wasted in the common case). */
NFI_FMA_CLONES
static void sub_lanes(nfi_arith *a, size_t k, double *out, const double *x,
                      double c)
{
    const nfi_lanes_wide lw = nfi_lanes_wide_of(&a->fast);
    const bool subnormals = a->fast.format.subnormals;
    const nfi_v4d minus_c = nfi_splat4(-c);
    size_t j = 0;
    for (; j + 4 <= k; j += 4) {
        nfi_wide_flags fl = nfi_wide_flags_new(false);
        nfi_v4d r = nfi_wide_add(&lw, nfi_load4(x + j), minus_c, &fl);
        if (nfi_wide_flagged(&lw, &fl) && subnormals) {
            fl = nfi_wide_flags_new(true);
            r = nfi_wide_add(&lw, nfi_load4(x + j), minus_c, &fl);
        }
        if (nfi_wide_flagged(&lw, &fl)) {
            for (size_t i = j; i < j + 4; i++)
                out[i] = nfi_arith_sub(a, x[i], c);
            continue;
        }
        nfi_store4(out + j, r);
    }
    for (; j < k; j++)
        out[j] = nfi_arith_sub(a, x[j], c);
}

bool nfi_ce_wide_sub(nfi_arith *a, size_t k, double *out, const double *x,
                     double c)
{
    if (!nfi_ce_wide_applies(a))
        return false;
    sub_lanes(a, k, out, x, c);
    return true;
}

/* The scalar step for one class, the twin. */
static void grad_one(nfi_arith *a, size_t j, size_t y, double *p,
                     double *prob, double g_y)
{
    double u = nfi_arith_mul(a, p[j], g_y);
    prob[j] = p[j];
    p[j] = nfi_arith_sub(a, j == y ? g_y : 0.0, u);
}

/* t - u as t + (-u), as in sub_lanes; t is g_y in lane y, else +0. */
static inline __attribute__((always_inline)) nfi_v4d
grad_block(const nfi_lanes_wide *lw, nfi_v4d pj, nfi_v4d g, nfi_v4d t,
           nfi_wide_flags *fl)
{
    nfi_v4d u = nfi_wide_mul(lw, pj, g, fl);
    return nfi_wide_add(lw, t, -u, fl);
}

NFI_FMA_CLONES
static void grad_lanes(nfi_arith *a, size_t k, size_t y, double *p,
                       double *prob, double g_y)
{
    const nfi_lanes_wide lw = nfi_lanes_wide_of(&a->fast);
    const bool subnormals = a->fast.format.subnormals;
    const nfi_v4d g = nfi_splat4(g_y);
    size_t j = 0;
    for (; j + 4 <= k; j += 4) {
        nfi_v4d pj = nfi_load4(p + j);
        nfi_v4d t = nfi_splat4(0.0);
        if (y >= j && y < j + 4)
            t[y - j] = g_y;
        nfi_wide_flags fl = nfi_wide_flags_new(false);
        nfi_v4d r = grad_block(&lw, pj, g, t, &fl);
        if (nfi_wide_flagged(&lw, &fl) && subnormals) {
            fl = nfi_wide_flags_new(true);
            r = grad_block(&lw, pj, g, t, &fl);
        }
        if (nfi_wide_flagged(&lw, &fl)) {
            for (size_t i = j; i < j + 4; i++)
                grad_one(a, i, y, p, prob, g_y);
            continue;
        }
        nfi_store4(prob + j, pj);
        nfi_store4(p + j, r);
    }
    for (; j < k; j++)
        grad_one(a, j, y, p, prob, g_y);
}

bool nfi_ce_wide_grad(nfi_arith *a, size_t k, size_t y, double *p,
                      double *prob, double g_y)
{
    if (!nfi_ce_wide_applies(a))
        return false;
    grad_lanes(a, k, y, p, prob, g_y);
    return true;
}

/* The first stage of the fast engine's exp (fast_exp in engine_fast.c) on
 * four lanes: nfi_elem_exp4 gives, bit for bit, the y of nfi_elem_exp,
 * within 2^-48 |exp(x)|, so exp(x) lies in [y (1 - 2^-47), y (1 + 2^-47)]
 * (the two binary64 products move the ends by at most 2^-53 y each).
 * Each end, a binary64 number, is rounded to p bits by nfi_wide_round
 * with a zero error (RNE of the end itself, exact in the normal range);
 * RNE is monotone, so when the two agree, exp(x) rounds to that value
 * too, and fast_exp returns the same (its round_enclosure rounds the
 * same two ends).  Every other lane (not answered: NaN, infinite,
 * |x| >= 690; ends that differ, as they usually do for p near 53; an
 * end outside the normal range) takes nfi_fast_exp. */
NFI_FMA_CLONES
static void exp_lanes(nfi_arith *a, size_t k, double *out, const double *x)
{
    const nfi_lanes_wide lw = nfi_lanes_wide_of(&a->fast);
    const nfi_v4d zero = nfi_splat4(0.0);
    double least;
    uint64_t below = lw.min - 1;
    memcpy(&least, &below, sizeof least);
    /* Eight at a time (two independent groups of lanes), the rest
     * padded with zeros (computed and dropped), as nfi_fast_exp_array. */
    for (size_t j = 0; j < k; j += 8) {
        size_t count = k - j < 8 ? k - j : 8;
        double xs[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        double y[8] = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
        memcpy(xs, x + j, count * sizeof *xs);
        unsigned answered = count > 4 ? nfi_elem_exp8(xs, y)
                                      : nfi_elem_exp4(xs, y);
        for (size_t g = 0; g < count; g += 4) {
            nfi_v4d v = nfi_load4(y + g);
            nfi_wide_flags fl = nfi_wide_flags_new(false);
            nfi_v4d lo = nfi_wide_round(&lw, v * (1.0 - 0x1p-47), zero,
                                        &fl);
            nfi_v4d hi = nfi_wide_round(&lw, v * (1.0 + 0x1p-47), zero,
                                        &fl);
            for (size_t l = 0; l < 4 && g + l < count; l++) {
                bool ok = (answered >> (g + l) & 1) && fl.out[l] == 0 &&
                          !(fl.lo[l] < least) &&
                          nfi_bits_of(lo[l]) == nfi_bits_of(hi[l]);
                out[j + g + l] = ok ? lo[l]
                                    : nfi_fast_exp(&a->fast, x[j + g + l]);
            }
        }
    }
}

bool nfi_ce_wide_exp(nfi_arith *a, size_t k, double *out, const double *x)
{
    if (!nfi_ce_wide_applies(a))
        return false;
    exp_lanes(a, k, out, x);
    return true;
}
