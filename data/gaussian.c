/* nfi: synthetic Gaussian classes.  See gaussian.h. */
#include "gaussian.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gmp.h>
#include <mpfr.h>

#include "draw.h"

/* The first working precision: one 64-bit limb, the fastest for MPFR's
 * log, leaves 64 - 3 - 54 = 7 bits of slack, so about one value in 64
 * needs a second pass at 128 bits (cheaper overall than starting at 96
 * bits, which costs half as much again on every value). */
#define WORK_PREC_START 64
/* The loop ends long before this (see box_muller_pair); the cap only
 * turns a defect into an error instead of a hang. */
#define WORK_PREC_MAX 65536

/* MPFR variables of the computation, made once per batch of normals. */
typedef struct workspace {
    mpfr_t t, r, c, s, z;
    mpfr_exp_t saved_emin, saved_emax;
} workspace;

static void workspace_init(workspace *w)
{
    /* Another module may have narrowed MPFR's exponent range to a format
     * of its own; the normals need none of that. */
    w->saved_emin = mpfr_get_emin();
    w->saved_emax = mpfr_get_emax();
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    mpfr_inits2(WORK_PREC_START, w->t, w->r, w->c, w->s, w->z,
                (mpfr_ptr)0);
}

static void workspace_clear(workspace *w)
{
    mpfr_clears(w->t, w->r, w->c, w->s, w->z, (mpfr_ptr)0);
    mpfr_set_emin(w->saved_emin);
    mpfr_set_emax(w->saved_emax);
}

/* out[0] = RN(r cos(2 pi u2)), out[1] = RN(r sin(2 pi u2)) for u1 in
 * (0, 1] and u2 in [0, 1).
 *
 * Error bound at working precision w, every step rounded to nearest
 * (relative error at most u = 2^-w each): ln u1 and the cospi or sinpi
 * factor carry one rounding each, -2 ln u1 and 2 u2 are exact, the
 * square root adds one rounding and halves the error of its argument,
 * the product adds one.  So the computed z is the exact value times
 * (1 + delta), |delta| <= (1 + u)^4 - 1 < 5u, and |z - exact| < 6u |z|
 * < 2^(EXP(z) - w + 3): mpfr_can_round with err = w - 3.  Testing
 * rounding to 53 + 1 bits toward zero decides the rounding to nearest
 * (MPFR's documented use of mpfr_can_round).
 *
 * Termination: the exact value is never a binary64 number or a midpoint
 * unless it is 0.  For u1 < 1, ln u1 is transcendental (Lindemann), so
 * r = sqrt(-2 ln u1) is; cos(2 pi u2) and sin(2 pi u2) are algebraic for
 * dyadic u2; a product q = r * a with a algebraic and non-zero and q
 * rational would make ln u1 = -q^2 / (2 a^2) algebraic.  Zeros are exact
 * in MPFR and handled first. */
static int box_muller_pair(workspace *w, double u1, double u2,
                           double out[2])
{
    int done[2] = {0, 0};
    for (mpfr_prec_t prec = WORK_PREC_START; prec <= WORK_PREC_MAX;
         prec *= 2) {
        /* mpfr_set_prec reallocates; most pairs stay at the first. */
        if (mpfr_get_prec(w->t) != prec) {
            mpfr_set_prec(w->t, prec);
            mpfr_set_prec(w->r, prec);
            mpfr_set_prec(w->c, prec);
            mpfr_set_prec(w->s, prec);
            mpfr_set_prec(w->z, prec);
        }

        mpfr_set_d(w->t, u1, MPFR_RNDN);      /* exact: prec >= 53 */
        mpfr_log(w->t, w->t, MPFR_RNDN);
        mpfr_mul_si(w->t, w->t, -2, MPFR_RNDN); /* exact */
        mpfr_sqrt(w->r, w->t, MPFR_RNDN);

        mpfr_set_d(w->t, u2, MPFR_RNDN);
        mpfr_mul_2ui(w->t, w->t, 1, MPFR_RNDN); /* exact */
        mpfr_cospi(w->c, w->t, MPFR_RNDN);
        mpfr_sinpi(w->s, w->t, MPFR_RNDN);

        mpfr_ptr factor[2] = {w->c, w->s};
        for (int k = 0; k < 2; k++) {
            if (done[k])
                continue;
            if (mpfr_zero_p(w->r) || mpfr_zero_p(factor[k])) {
                out[k] = 0.0;
                done[k] = 1;
                continue;
            }
            mpfr_mul(w->z, w->r, factor[k], MPFR_RNDN);
            if (mpfr_can_round(w->z, prec - 3, MPFR_RNDN, MPFR_RNDZ, 54)) {
                out[k] = mpfr_get_d(w->z, MPFR_RNDN);
                done[k] = 1;
            }
        }
        if (done[0] && done[1])
            return 0;
    }
    return -1;
}

int nfi_gaussian_box_muller(double u1, double u2, double out[2],
                            nfi_error *err)
{
    if (!(u1 > 0 && u1 <= 1))
        return nfi_error_set(err, "Box-Muller: u1 = %.17g is out of range; "
                             "expected 0 < u1 <= 1", u1);
    if (!(u2 >= 0 && u2 < 1))
        return nfi_error_set(err, "Box-Muller: u2 = %.17g is out of range; "
                             "expected 0 <= u2 < 1", u2);

    workspace w;
    workspace_init(&w);
    double pair[2];
    int status = box_muller_pair(&w, u1, u2, pair);
    workspace_clear(&w);
    if (status != 0)
        return nfi_error_set(err, "Box-Muller: no correct rounding found "
                             "for u1 = %a, u2 = %a within %d bits", u1, u2,
                             WORK_PREC_MAX);
    out[0] = pair[0];
    out[1] = pair[1];
    return 0;
}

int nfi_gaussian_normals(uint64_t key, uint64_t first, size_t count,
                         double *out, nfi_error *err)
{
    if (count == 0)
        return 0;
    if (count - 1 > UINT64_MAX - first)
        return nfi_error_set(err, "normals %llu to %llu + %zu pass the end "
                             "of the stream at 2^64",
                             (unsigned long long)first,
                             (unsigned long long)first, count);

    workspace w;
    workspace_init(&w);
    uint64_t last = first + (count - 1);
    int status = 0;
    double u1 = 0, u2 = 0;
    for (uint64_t m = first / 2; m <= last / 2; m++) {
        u1 = nfi_draw_open0(nfi_draw_bits(key, 2 * m));
        u2 = nfi_draw_closed0(nfi_draw_bits(key, 2 * m + 1));
        double pair[2];
        status = box_muller_pair(&w, u1, u2, pair);
        if (status != 0)
            break;
        /* Store the members of the pair that fall in the range. */
        for (int k = 0; k < 2; k++) {
            uint64_t j = 2 * m + k;
            if (j >= first && j <= last)
                out[j - first] = pair[k];
        }
        if (m == last / 2)
            break; /* last / 2 may be the largest uint64_t / 2 */
    }
    workspace_clear(&w);
    if (status != 0)
        return nfi_error_set(err, "Box-Muller: no correct rounding found "
                             "for u1 = %a, u2 = %a within %d bits", u1, u2,
                             WORK_PREC_MAX);
    return 0;
}

/* Checks the fields of a spec; 0 or -1 with an error. */
static int check_spec(const nfi_gaussian_spec *spec, nfi_error *err)
{
    if (spec->k < 2)
        return nfi_error_set(err, "Gaussian classes: k = %zu classes; "
                             "expected at least 2", spec->k);
    if (spec->n_per_class < 1)
        return nfi_error_set(err, "Gaussian classes: n_per_class = 0; "
                             "expected at least 1 sample per class");
    if (spec->d < 1)
        return nfi_error_set(err, "Gaussian classes: dimension d = 0; "
                             "expected at least 1");
    /* k * n_per_class * d <= 2^32, tested without overflow. */
    uint64_t limit = NFI_GAUSSIAN_MAX_VALUES;
    if (spec->k > limit || spec->n_per_class > limit / spec->k
        || spec->d > limit / (spec->k * spec->n_per_class))
        return nfi_error_set(err, "Gaussian classes: k * n_per_class * d "
                             "= %zu * %zu * %zu values; expected at most "
                             "2^32", spec->k, spec->n_per_class, spec->d);
    if (!(isfinite(spec->mean_std) && spec->mean_std >= 0))
        return nfi_error_set(err, "Gaussian classes: mean_std = %g; "
                             "expected a finite number >= 0",
                             spec->mean_std);
    if (!(isfinite(spec->noise_std) && spec->noise_std >= 0))
        return nfi_error_set(err, "Gaussian classes: noise_std = %g; "
                             "expected a finite number >= 0",
                             spec->noise_std);
    return 0;
}

int nfi_gaussian_make(nfi_gaussian_data *out, const nfi_gaussian_spec *spec,
                      nfi_error *err)
{
    memset(out, 0, sizeof *out);
    if (check_spec(spec, err) != 0)
        return -1;

    size_t k = spec->k, d = spec->d, n = k * spec->n_per_class;
    double *means = malloc(k * d * sizeof *means);
    double *x = malloc(n * d * sizeof *x);
    uint32_t *label = malloc(n * sizeof *label);
    if (means == NULL || x == NULL || label == NULL) {
        free(means);
        free(x);
        free(label);
        return nfi_error_set(err, "Gaussian classes: could not allocate "
                             "%zu bytes for %zu samples of dimension %zu",
                             (k + n) * d * sizeof(double), n, d);
    }

    /* The raw normals first, then the scaling in place. */
    uint64_t means_key = nfi_draw_key(spec->seed, NFI_GAUSSIAN_TAG_MEANS);
    uint64_t noise_key = nfi_draw_key(spec->seed, NFI_GAUSSIAN_TAG_NOISE);
    if (nfi_gaussian_normals(means_key, 0, k * d, means, err) != 0
        || nfi_gaussian_normals(noise_key, 0, n * d, x, err) != 0) {
        free(means);
        free(x);
        free(label);
        return -1;
    }
    /* Adding +0 changes nothing but the sign of a zero (mean_std = 0,
     * or a cancellation), so that every zero of the data set is +0. */
    for (size_t j = 0; j < k * d; j++)
        means[j] = spec->mean_std * means[j] + 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *mu = means + (i % k) * d;
        double *row = x + i * d;
        label[i] = (uint32_t)(i % k);
        for (size_t t = 0; t < d; t++)
            row[t] = fma(spec->noise_std, row[t], mu[t]) + 0.0;
    }

    out->spec = *spec;
    out->n = n;
    out->means = means;
    out->x = x;
    out->label = label;
    return 0;
}

void nfi_gaussian_free(nfi_gaussian_data *data)
{
    if (data == NULL)
        return;
    free(data->means);
    free(data->x);
    free(data->label);
    memset(data, 0, sizeof *data);
}
