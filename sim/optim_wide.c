/* nfi: Adam and AdamW on four lanes for RNE with 26 <= p <= 52.  The
 * rounding of each lane and why it is exact are in lanes_wide.h. */
#include "optim_wide.h"

#include "cpu.h"
#include "lanes_wide.h"

bool nfi_adam_wide_applies(const nfi_arith *o, const nfi_arith *pa,
                           const nfi_format *grads)
{
    return !o->reference && !pa->reference &&
           pa->fast.mode == NFI_ROUND_RNE &&
           nfi_format_equal(&o->fast.format, &pa->fast.format) &&
           nfi_format_equal(&o->fast.format, grads) &&
           nfi_lanes_wide_apply(&o->fast);
}

/* The element update of sim/optim.c (adam_element) on four elements,
 * operation by operation in its order.  With one format for every role
 * its casts are the identity, and in RNE the order of the roundings
 * matters only through their operands.  Each rounding records its range
 * in the flags; where a lane is flagged, the caller redoes that element
 * by the element path, so the lanes need only be right where every
 * value of the element stayed a zero or a normal value (or, with
 * subnormal, a subnormal: the lanes then round onto the subnormal grid
 * and flag only values above max_finite, infinities and NaNs): there
 * every operand of every operation is a format value (the constants
 * too), the case that nfi_wide_mul, nfi_wide_add, nfi_wide_div and
 * nfi_wide_sqrt cover.  The subtraction p - u is the sum p + (-u): the
 * same exact value, and the same signed zero (+0 for an exact
 * cancellation; -0 - +0 = -0 + -0 = -0).  Computes block i into the
 * result, and the flags of all its roundings. */
typedef struct adam_lanes_out {
    nfi_v4d p, m, v;
    nfi_wide_flags flags;
} adam_lanes_out;

static inline __attribute__((always_inline)) adam_lanes_out
adam_block(const nfi_lanes_wide *c, const nfi_adam_wide_consts *k,
           const nfi_optim_state *s, const double *p, const double *g,
           size_t i, bool subnormal)
{
    const nfi_v4d b1 = nfi_splat4(k->b1), b2 = nfi_splat4(k->b2);
    const nfi_v4d c1 = nfi_splat4(k->c1), c2 = nfi_splat4(k->c2);
    const nfi_v4d step = nfi_splat4(k->step), root = nfi_splat4(k->root);
    const nfi_v4d eps = nfi_splat4(k->eps);
    const nfi_v4d lambda = nfi_splat4(k->lambda);
    const nfi_v4d decay = nfi_splat4(k->decay);
    adam_lanes_out r;
    nfi_wide_flags *fl = &r.flags;
    *fl = nfi_wide_flags_new(subnormal);

    nfi_v4d q = nfi_load4(p + i);
    if (k->decoupled)
        q = nfi_wide_mul(c, q, decay, fl);
    nfi_v4d d = nfi_load4(g + i);
    if (k->l2)
        d = nfi_wide_add(c, d, nfi_wide_mul(c, lambda, q, fl), fl);
    nfi_v4d decayed = nfi_wide_mul(c, b1, nfi_load4(s->m + i), fl);
    nfi_v4d fresh = nfi_wide_mul(c, c1, d, fl);
    r.m = nfi_wide_add(c, decayed, fresh, fl);
    decayed = nfi_wide_mul(c, b2, nfi_load4(s->v + i), fl);
    nfi_v4d square = nfi_wide_mul(c, d, d, fl);
    fresh = nfi_wide_mul(c, c2, square, fl);
    r.v = nfi_wide_add(c, decayed, fresh, fl);
    nfi_v4d denom = nfi_wide_sqrt(c, r.v, fl);
    denom = nfi_wide_add(c, nfi_wide_div(c, denom, root, fl), eps, fl);
    nfi_v4d u = nfi_wide_mul(c, step, nfi_wide_div(c, r.m, denom, fl), fl);
    r.p = nfi_wide_add(c, q, -u, fl);
    return r;
}

/* Blocks from `from` on: each first without subnormal rounding (its
 * extra work is wasted where no value comes below 2^emin, the common
 * case), and a flagged block again with it when the format has
 * subnormals.  Returns as nfi_adam_wide. */
NFI_FMA_CLONES
size_t nfi_adam_wide(const nfi_arith *o, const nfi_adam_wide_consts *k,
                     nfi_optim_state *s, double *p, const double *g,
                     size_t from)
{
    const nfi_lanes_wide c = nfi_lanes_wide_of(&o->fast);
    const bool subnormals = o->fast.format.subnormals;
    double least;
    uint64_t below = c.min - 1;
    memcpy(&least, &below, sizeof least);

    size_t i = from;
    for (; i + 4 <= s->n; i += 4) {
        adam_lanes_out r = adam_block(&c, k, s, p, g, i, false);
        if (nfi_wide_flagged(&c, &r.flags) && subnormals)
            r = adam_block(&c, k, s, p, g, i, true);
        if (nfi_wide_flagged(&c, &r.flags)) {
            /* Store the lanes before the first flagged one. */
            int l = 0;
            while (r.flags.out[l] == 0 && !(r.flags.lo[l] < least))
                l++;
            for (int j = 0; j < l; j++) {
                p[i + j] = r.p[j];
                s->m[i + j] = r.m[j];
                s->v[i + j] = r.v[j];
            }
            return i + (size_t)l;
        }
        nfi_store4(p + i, r.p);
        nfi_store4(s->m + i, r.m);
        nfi_store4(s->v + i, r.v);
    }
    return i;
}
