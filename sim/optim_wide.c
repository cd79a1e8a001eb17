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
 * cancellation; -0 - +0 = -0 + -0 = -0).
 *
 * adam_blocks computes `blocks` (1 or 2, a constant) blocks of four,
 * at i and i + 4, into r[h] with the flags of all the roundings of
 * block h.  Each operation is done for every block before the next
 * one, so that the blocks' chains (a square root and two divisions,
 * long latencies) run side by side; a block's values are those it has
 * alone. */
typedef struct adam_lanes_out {
    nfi_v4d p, m, v;
    nfi_wide_flags flags;
} adam_lanes_out;

#define EACH_BLOCK NFI_EACH_BLOCK(h, blocks)

static inline __attribute__((always_inline)) void
adam_blocks(const nfi_lanes_wide *c, const nfi_adam_wide_consts *k,
            const nfi_optim_state *s, const double *p, const double *g,
            size_t i, bool subnormal, int blocks, adam_lanes_out *r)
{
    const nfi_v4d b1 = nfi_splat4(k->b1), b2 = nfi_splat4(k->b2);
    const nfi_v4d c1 = nfi_splat4(k->c1), c2 = nfi_splat4(k->c2);
    const nfi_v4d step = nfi_splat4(k->step), root = nfi_splat4(k->root);
    const nfi_v4d eps = nfi_splat4(k->eps);
    const nfi_v4d lambda = nfi_splat4(k->lambda);
    const nfi_v4d decay = nfi_splat4(k->decay);
    nfi_v4d q[2], d[2], decayed[2], fresh[2], square[2], denom[2], u[2];
    EACH_BLOCK {
        r[h].flags = nfi_wide_flags_new(subnormal);
        q[h] = nfi_load4(p + i + 4 * (size_t)h);
        d[h] = nfi_load4(g + i + 4 * (size_t)h);
    }
#define FL (&r[h].flags)
    if (k->decoupled)
        EACH_BLOCK q[h] = nfi_wide_mul(c, q[h], decay, FL);
    if (k->l2)
        EACH_BLOCK d[h] = nfi_wide_add(c, d[h],
                                       nfi_wide_mul(c, lambda, q[h], FL),
                                       FL);
    EACH_BLOCK {
        decayed[h] = nfi_wide_mul(c, b1, nfi_load4(s->m + i + 4 * (size_t)h),
                                  FL);
        fresh[h] = nfi_wide_mul(c, c1, d[h], FL);
    }
    EACH_BLOCK r[h].m = nfi_wide_add(c, decayed[h], fresh[h], FL);
    EACH_BLOCK {
        decayed[h] = nfi_wide_mul(c, b2, nfi_load4(s->v + i + 4 * (size_t)h),
                                  FL);
        square[h] = nfi_wide_mul(c, d[h], d[h], FL);
    }
    EACH_BLOCK fresh[h] = nfi_wide_mul(c, c2, square[h], FL);
    EACH_BLOCK r[h].v = nfi_wide_add(c, decayed[h], fresh[h], FL);
    EACH_BLOCK denom[h] = nfi_wide_sqrt(c, r[h].v, FL);
    EACH_BLOCK denom[h] = nfi_wide_div(c, denom[h], root, FL);
    EACH_BLOCK denom[h] = nfi_wide_add(c, denom[h], eps, FL);
    EACH_BLOCK u[h] = nfi_wide_div(c, r[h].m, denom[h], FL);
    EACH_BLOCK u[h] = nfi_wide_mul(c, step, u[h], FL);
    EACH_BLOCK r[h].p = nfi_wide_add(c, q[h], -u[h], FL);
#undef FL
#undef EACH_BLOCK
}

/* Blocks from `from` on, two at a time: each first without subnormal
 * rounding (its extra work is wasted where no value comes below 2^emin,
 * the common case), and a flagged block again on its own with it when
 * the format has subnormals.  Returns as nfi_adam_wide. */
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
    while (i + 4 <= s->n) {
        adam_lanes_out r[2];
        int blocks = i + 8 <= s->n ? 2 : 1;
        if (blocks == 2)
            adam_blocks(&c, k, s, p, g, i, false, 2, r);
        else
            adam_blocks(&c, k, s, p, g, i, false, 1, r);
        for (int h = 0; h < blocks; h++, i += 4) {
            if (nfi_wide_flagged(&c, &r[h].flags) && subnormals)
                adam_blocks(&c, k, s, p, g, i, true, 1, &r[h]);
            if (nfi_wide_flagged(&c, &r[h].flags)) {
                /* Store the lanes before the first flagged one. */
                int l = 0;
                while (r[h].flags.out[l] == 0 &&
                       !(r[h].flags.lo[l] < least))
                    l++;
                for (int j = 0; j < l; j++) {
                    p[i + j] = r[h].p[j];
                    s->m[i + j] = r[h].m[j];
                    s->v[i + j] = r[h].v[j];
                }
                return i + (size_t)l;
            }
            nfi_store4(p + i, r[h].p);
            nfi_store4(s->m + i, r[h].m);
            nfi_store4(s->v + i, r[h].v);
        }
    }
    return i;
}
