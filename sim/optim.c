/* nfi: optimizers.  See optim.h for the operations, in order. */
#include "optim.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>

#include <mpfr.h>

#include "cpu.h"
#include "lanes.h"
#include "optim_wide.h"

static const char *const kind_names[] = {"sgd", "adam", "adamw"};

int nfi_optim_kind_parse(const char *name, nfi_optim_kind *out,
                         nfi_error *err)
{
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(name, kind_names[i]) == 0) {
            *out = (nfi_optim_kind)i;
            return 0;
        }
    }
    return nfi_error_set(err, "unknown optimizer '%s': use sgd, adam or "
                         "adamw", name);
}

const char *nfi_optim_kind_name(nfi_optim_kind kind)
{
    return (int)kind >= 0 && (int)kind < 3 ? kind_names[kind] : "?";
}

int nfi_optim_config_check(const nfi_optim_config *c, nfi_error *err)
{
    if (!(c->lr > 0) || isinf(c->lr))
        return nfi_error_set(err, "learning rate %g: must be a finite "
                             "number above 0 (e.g. 1e-2)", c->lr);
    if (!(c->eps >= 0) || isinf(c->eps))
        return nfi_error_set(err, "eps %g: must be finite and >= 0 (e.g. "
                             "1e-8)", c->eps);
    if (!(c->weight_decay >= 0) || isinf(c->weight_decay))
        return nfi_error_set(err, "weight decay %g: must be finite and >= 0",
                             c->weight_decay);
    if (c->kind != NFI_OPTIM_SGD) {
        if (!(c->beta1 >= 0 && c->beta1 < 1))
            return nfi_error_set(err, "beta1 %g: must lie in [0, 1) (e.g. "
                                 "0.9)", c->beta1);
        if (!(c->beta2 >= 0 && c->beta2 < 1))
            return nfi_error_set(err, "beta2 %g: must lie in [0, 1) (e.g. "
                                 "0.999)", c->beta2);
    } else if (!(c->momentum >= 0 && c->momentum < 1)) {
        return nfi_error_set(err, "momentum %g: must lie in [0, 1)",
                             c->momentum);
    }
    return 0;
}

int nfi_optim_state_init(nfi_optim_state *s, size_t n, nfi_error *err)
{
    s->n = n;
    s->step = 0;
    s->m = calloc(n ? n : 1, sizeof *s->m);
    s->v = calloc(n ? n : 1, sizeof *s->v);
    if (s->m == NULL || s->v == NULL) {
        nfi_optim_state_free(s);
        return nfi_error_set(err, "out of memory for the optimizer state "
                             "of %zu parameters", n);
    }
    return 0;
}

void nfi_optim_state_free(nfi_optim_state *s)
{
    free(s->m);
    free(s->v);
    s->m = s->v = NULL;
}

/* RN(1 - RN(beta^t)) in binary64, with beta^t correctly rounded. */
static double bias_correction(double beta, long t)
{
    mpfr_t x;
    mpfr_init2(x, 53);
    mpfr_set_d(x, beta, MPFR_RNDN);
    mpfr_pow_si(x, x, t, MPFR_RNDN);
    double power = mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(x);
    return 1.0 - power;
}

/* A constant cast into a handle's format: round to nearest, whatever the
 * handle's mode (a hyperparameter is not a computed value, so stochastic
 * rounding does not redraw it every step), through the MPFR engine so
 * that the fast kernel and its twin agree. */
static double constant(const nfi_arith *a, double x)
{
    return nfi_mpfr_op_d(NFI_OP_CVT, x, 0.0, 0.0, &a->fast.format,
                         NFI_ROUND_RNE, 0);
}

/* Adam's constants for one step, cast as optim.h says. */
typedef struct adam_consts {
    double b1, b2, c1, c2, step, root, eps, lambda, decay;
    bool l2, decoupled;
} adam_consts;

/* One element of Adam or AdamW, operation by operation as optim.h
 * writes it: the definition, and the twin of adam_lanes. */
static void adam_element(nfi_arith *o, nfi_arith *pa,
                         const nfi_format *grads, const adam_consts *k,
                         nfi_optim_state *s, double *p, const double *g,
                         size_t i)
{
    const nfi_format *of = &o->fast.format, *pf = &pa->fast.format;
    if (k->decoupled)
        p[i] = nfi_arith_mul(pa, p[i], k->decay);
    double d = nfi_arith_cast(o, grads, g[i]);
    if (k->l2)
        d = nfi_arith_add(o, d, nfi_arith_mul(o, k->lambda,
                                              nfi_arith_cast(o, pf, p[i])));
    /* One statement per rounding, so that stochastic indices are taken
     * in the order optim.h writes (C leaves the order in which a call's
     * arguments are evaluated open). */
    double decayed = nfi_arith_mul(o, k->b1, s->m[i]);
    double fresh = nfi_arith_mul(o, k->c1, d);
    s->m[i] = nfi_arith_add(o, decayed, fresh);
    decayed = nfi_arith_mul(o, k->b2, s->v[i]);
    double square = nfi_arith_mul(o, d, d);
    fresh = nfi_arith_mul(o, k->c2, square);
    s->v[i] = nfi_arith_add(o, decayed, fresh);
    double denom = nfi_arith_op(o, NFI_OP_SQRT, s->v[i], 0.0, 0.0);
    denom = nfi_arith_add(o, nfi_arith_div(o, denom, k->root), k->eps);
    double u = nfi_arith_mul(o, k->step, nfi_arith_div(o, s->m[i], denom));
    p[i] = nfi_arith_sub(pa, p[i], nfi_arith_cast(pa, of, u));
}

/* Whether adam_lanes_sub applies to the format of f: the subnormal lanes
 * of sim/lanes.h apply (plain RNE, p <= 25, subnormals, products never
 * tiny), and every quotient of two non-zero values of the format lies in
 * [2^-900, 2^900], where the fast engine divides by its plain route:
 * the largest value over the smallest non-zero one is below
 * 2^(emax + 1 - (emin - p + 1)). */
static bool adam_sub_applies(const nfi_fast *f)
{
    return nfi_lanes_sub_applies(f) &&
           f->format.emax - f->format.emin + f->p <= 880;
}

/* adam_lanes for a format with subnormals (adam_sub_applies), which
 * rounds subnormal results in the lanes (sim/lanes.h): the products of
 * two format values (exact in binary64) by nfi_lanes_round_sub, the sums
 * of two (exact below 2^emin) by nfi_lanes_round_grid, and the quotients
 * and the square root by nfi_lanes_round_sub of the binary64 result:
 * that is the fast engine's plain route for them, round_rne of the
 * binary64 quotient or root, by bits in the normal range and by a magic
 * constant below it, which nfi_lanes_round_sub reproduces for any
 * binary64 value; quotients of non-zero values stay inside [2^-900,
 * 2^900] (adam_sub_applies) where the engine takes that route, a zero
 * dividend gives the zero quotient itself there too, and a zero or
 * infinite divisor, like any overflow, infinity or NaN, is flagged
 * (nfi_lanes_flag_over on every value rounded) and left to
 * adam_element with its block. */
#define EACH_BLOCK NFI_EACH_BLOCK(h, blocks)

/* The lanes of adam_lanes_sub for `blocks` (1 or 2, a constant) blocks
 * of four at i and i + 4: the new m, v and p of block h, and its flags
 * in out[h].  Each operation is done for every block before the next,
 * so that the blocks' chains (a square root and two divisions, long
 * latencies) run side by side. */
static inline __attribute__((always_inline)) void
adam_sub_blocks(const nfi_lanes_rne *cr, const nfi_lanes_sub *cs,
                const adam_consts *k, const nfi_optim_state *s,
                const double *p, const double *g, size_t i, int blocks,
                nfi_v4d *m, nfi_v4d *v, nfi_v4d *q, nfi_v4u *out)
{
    const nfi_v4d b1 = nfi_splat4(k->b1), b2 = nfi_splat4(k->b2);
    const nfi_v4d c1 = nfi_splat4(k->c1), c2 = nfi_splat4(k->c2);
    const nfi_v4d step = nfi_splat4(k->step), root = nfi_splat4(k->root);
    const nfi_v4d eps = nfi_splat4(k->eps);
    nfi_v4d d[2], denom[2], u[2];
#define RX(x) (nfi_lanes_flag_over(cs, (x), &out[h]), \
               nfi_lanes_round_sub(cs, (x)))
#define RS(x) (nfi_lanes_flag_over(cs, (x), &out[h]), \
               nfi_lanes_round_grid(cr, (x)))
#define AT(x) nfi_load4((x) + i + 4 * (size_t)h)
    EACH_BLOCK {
        out[h] = (nfi_v4u){0, 0, 0, 0};
        d[h] = AT(g);
    }
    EACH_BLOCK m[h] = RS(RX(b1 * AT(s->m)) + RX(c1 * d[h]));
    EACH_BLOCK v[h] = RS(RX(b2 * AT(s->v)) + RX(c2 * RX(d[h] * d[h])));
    EACH_BLOCK {
        for (int l = 0; l < 4; l++)
            denom[h][l] = sqrt(v[h][l]);
    }
    EACH_BLOCK denom[h] = RX(RX(denom[h]) / root);
    EACH_BLOCK denom[h] = RS(denom[h] + eps);
    EACH_BLOCK u[h] = RX(m[h] / denom[h]);
    EACH_BLOCK u[h] = RX(step * u[h]);
    EACH_BLOCK q[h] = RS(AT(p) - u[h]);
#undef AT
#undef RX
#undef RS
#undef EACH_BLOCK
}

NFI_FMA_CLONES
static size_t adam_lanes_sub(nfi_arith *o, nfi_arith *pa,
                             const nfi_format *grads, const adam_consts *k,
                             nfi_optim_state *s, double *p, const double *g)
{
    const nfi_fast *f = &o->fast;
    const nfi_lanes_rne cr = nfi_lanes_rne_of(f);
    const nfi_lanes_sub cs = nfi_lanes_sub_of(f);
    size_t n = s->n / 4 * 4;
    for (size_t i = 0; i < n;) {
        nfi_v4d m[2], v[2], q[2];
        nfi_v4u out[2];
        int blocks = i + 8 <= n ? 2 : 1;
        if (blocks == 2)
            adam_sub_blocks(&cr, &cs, k, s, p, g, i, 2, m, v, q, out);
        else
            adam_sub_blocks(&cr, &cs, k, s, p, g, i, 1, m, v, q, out);
        for (int h = 0; h < blocks; h++, i += 4) {
            if (nfi_lanes_any(out[h])) {
                for (size_t j = i; j < i + 4; j++)
                    adam_element(o, pa, grads, k, s, p, g, j);
                continue;
            }
            nfi_store4(s->m + i, m[h]);
            nfi_store4(s->v + i, v[h]);
            nfi_store4(p + i, q[h]);
        }
    }
    return n;
}

/* Adam without weight decay on four elements at a time (sim/lanes.h):
 * the operations of adam_element in the same order, each formed in
 * binary64 and rounded to p bits by nfi_lanes_round (RNE, p <= 25: the
 * fast engine's plain route), or plain binary64 hardware arithmetic for
 * IEEE binary64 (exact: the operations are binary64's own).  A block of
 * four with a lane outside the normal range is left to adam_element.
 * Applies when optim, params and grads share one format, in RNE on the
 * fast engine; returns how many leading elements it updated (a multiple
 * of four, or 0 when it does not apply). */
NFI_FMA_CLONES
static size_t adam_lanes(nfi_arith *o, nfi_arith *pa,
                         const nfi_format *grads, const adam_consts *k,
                         nfi_optim_state *s, double *p, const double *g)
{
    const nfi_fast *f = &o->fast;
    bool native64 = f->native_width == 64;
    if (o->reference || pa->reference || f->mode != NFI_ROUND_RNE ||
        pa->fast.mode != NFI_ROUND_RNE || k->l2 || k->decoupled ||
        !nfi_format_equal(&f->format, &pa->fast.format) ||
        !nfi_format_equal(&f->format, grads) ||
        !(native64 || (f->plain_rne && f->products_never_tiny)))
        return 0;
    if (f->native_width == 32) {
        /* IEEE binary32: C float arithmetic is each operation correctly
         * rounded, subnormals included (no contraction, no flush to
         * zero), so nothing needs flagging; the constants and the state
         * are binary32 values, exact as floats. */
        const float b1 = (float)k->b1, b2 = (float)k->b2;
        const float c1 = (float)k->c1, c2 = (float)k->c2;
        const float step = (float)k->step, root = (float)k->root;
        const float eps = (float)k->eps;
        for (size_t i = 0; i < s->n; i++) {
            float d = (float)g[i];
            float m = b1 * (float)s->m[i] + c1 * d;
            float v = b2 * (float)s->v[i] + c2 * (d * d);
            float denom = sqrtf(v) / root + eps;
            float u = step * (m / denom);
            s->m[i] = m;
            s->v[i] = v;
            p[i] = (float)p[i] - u;
        }
        return s->n;
    }
    if (!native64 && adam_sub_applies(f))
        return adam_lanes_sub(o, pa, grads, k, s, p, g);
    const nfi_lanes_rne c = nfi_lanes_rne_of(f);
    const nfi_v4d b1 = nfi_splat4(k->b1), b2 = nfi_splat4(k->b2);
    const nfi_v4d c1 = nfi_splat4(k->c1), c2 = nfi_splat4(k->c2);
    const nfi_v4d step = nfi_splat4(k->step), root = nfi_splat4(k->root);
    const nfi_v4d eps = nfi_splat4(k->eps);
    size_t n = s->n / 4 * 4;
    for (size_t i = 0; i < n; i += 4) {
        nfi_v4u out = {0, 0, 0, 0};
#define R(x) (native64 ? (x) : nfi_lanes_round(&c, (x), &out))
        nfi_v4d d = nfi_load4(g + i);
        nfi_v4d m = R(R(b1 * nfi_load4(s->m + i)) + R(c1 * d));
        nfi_v4d v = R(R(b2 * nfi_load4(s->v + i)) + R(c2 * R(d * d)));
        nfi_v4d denom;
        for (int l = 0; l < 4; l++)
            denom[l] = sqrt(v[l]);
        denom = R(R(R(denom) / root) + eps);
        nfi_v4d u = R(step * R(m / denom));
        nfi_v4d q = R(nfi_load4(p + i) - u);
#undef R
        if (nfi_lanes_any(out)) {
            for (size_t j = i; j < i + 4; j++)
                adam_element(o, pa, grads, k, s, p, g, j);
            continue;
        }
        nfi_store4(s->m + i, m);
        nfi_store4(s->v + i, v);
        nfi_store4(p + i, q);
    }
    return n;
}

void nfi_optim_step(const nfi_optim_config *c, nfi_arith *o, nfi_arith *pa,
                    const nfi_format *grads, nfi_optim_state *s, double *p,
                    const double *g)
{
    long t = ++s->step;
    const nfi_format *of = &o->fast.format, *pf = &pa->fast.format;
    double lambda = constant(o, c->weight_decay);

    if (c->kind == NFI_OPTIM_SGD) {
        double lr = constant(o, c->lr);
        double mu = constant(o, c->momentum);
        for (size_t i = 0; i < s->n; i++) {
            double d = nfi_arith_cast(o, grads, g[i]);
            if (c->weight_decay != 0)
                d = nfi_arith_add(o, d, nfi_arith_mul(o, lambda,
                                                      nfi_arith_cast(o, pf,
                                                                     p[i])));
            if (c->momentum != 0) {
                s->m[i] = t == 1 ? d
                                 : nfi_arith_add(o, nfi_arith_mul(o, mu,
                                                                  s->m[i]),
                                                 d);
                d = s->m[i];
            }
            double u = nfi_arith_cast(pa, of, nfi_arith_mul(o, lr, d));
            p[i] = nfi_arith_sub(pa, p[i], u);
        }
        return;
    }

    adam_consts k;
    k.b1 = constant(o, c->beta1);
    k.b2 = constant(o, c->beta2);
    k.c1 = constant(o, 1.0 - c->beta1);
    k.c2 = constant(o, 1.0 - c->beta2);
    double bc1 = bias_correction(c->beta1, t);
    double bc2 = bias_correction(c->beta2, t);
    k.step = constant(o, c->lr / bc1);
    k.root = constant(o, sqrt(bc2));
    k.eps = constant(o, c->eps);
    k.lambda = lambda;
    k.l2 = c->kind == NFI_OPTIM_ADAM && c->weight_decay != 0;
    k.decoupled = c->kind == NFI_OPTIM_ADAMW && c->weight_decay != 0;
    k.decay = constant(pa, 1.0 - c->lr * c->weight_decay);

    size_t done = adam_lanes(o, pa, grads, &k, s, p, g);
    bool wide = done == 0 && nfi_adam_wide_applies(o, pa, grads);
    nfi_adam_wide_consts w = {k.b1, k.b2, k.c1, k.c2, k.step, k.root, k.eps,
                              k.lambda, k.decay, k.l2, k.decoupled};
    for (size_t i = done; i < s->n; i++) {
        if (wide && (i = nfi_adam_wide(o, &w, s, p, g, i)) == s->n)
            break;
        adam_element(o, pa, grads, &k, s, p, g, i);
    }
}
