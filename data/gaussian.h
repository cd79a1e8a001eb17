/* nfi: synthetic Gaussian classes.
 *
 * K classes in dimension d.  Class c has a mean mu_c whose d entries are
 * independent N(0, mean_std^2); a sample of class c is mu_c plus
 * independent N(0, noise_std^2) noise in each entry.  Every value is a
 * binary64 number; a trainer rounds it into its parameter format itself.
 *
 * Standard normals.  Normal number j of a stream key (draw.h) comes from
 * the pair m = floor(j / 2) of uniforms
 *     u1 = nfi_draw_open0(bits(key, 2m))       in (0, 1],
 *     u2 = nfi_draw_closed0(bits(key, 2m + 1)) in [0, 1),
 * by Box-Muller: with r = sqrt(-2 ln u1),
 *     z_2m = RN(r cos(2 pi u2)),   z_2m+1 = RN(r sin(2 pi u2)),
 * where RN rounds the exact real number once to the nearest binary64
 * (ties to even).  It is computed with MPFR at a working precision that
 * grows until the rounding is certain (Ziv's strategy), so the values do
 * not depend on the C library's log, sin or cos: they are the same on
 * every platform and reproducible by any correctly rounding
 * implementation.  An exact zero (u1 = 1, or u2 a multiple of 1/4 for
 * the factor that vanishes) is +0.  |z| <= sqrt(106 ln 2) < 8.58.
 *
 * Data set.  Sample i (0 <= i < n = K * n_per_class) has label i mod K:
 * classes are interleaved, so every prefix of the data set is balanced to
 * within one sample per class, and a larger n_per_class extends the data
 * set without changing the samples it had.  With the streams
 *     means: key = mix(seed ^ NFI_GAUSSIAN_TAG_MEANS), normal c * d + t,
 *     noise: key = mix(seed ^ NFI_GAUSSIAN_TAG_NOISE), normal i * d + t,
 * the values are
 *     means[c][t] = RN(mean_std * z_means(c * d + t)),
 *     x[i][t]     = RN(means[i mod K][t] + noise_std * z_noise(i * d + t))
 * (one rounding each: a product, and a fused multiply-add); a zero among
 * them is +0.
 *
 * Cost: about 3.5 us per normal on a current x86-64 core (MPFR's log and
 * sinpi dominate), so a million values take a few seconds. */
#ifndef NFI_GAUSSIAN_H
#define NFI_GAUSSIAN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The stream tags: the ASCII bytes "nfi-mean" and "nfi-nois". */
#define NFI_GAUSSIAN_TAG_MEANS 0x6e66692d6d65616eULL
#define NFI_GAUSSIAN_TAG_NOISE 0x6e66692d6e6f6973ULL

/* The largest data set: K * n_per_class * d values at most. */
#define NFI_GAUSSIAN_MAX_VALUES (1ULL << 32)

typedef struct nfi_gaussian_spec {
    size_t k;           /* classes, at least 2 */
    size_t n_per_class; /* samples per class, at least 1 */
    size_t d;           /* dimension, at least 1 */
    double mean_std;    /* standard deviation of each class-mean entry */
    double noise_std;   /* standard deviation of the noise of a sample */
    uint64_t seed;
} nfi_gaussian_spec;

typedef struct nfi_gaussian_data {
    nfi_gaussian_spec spec;
    size_t n;         /* samples: k * n_per_class */
    double *means;    /* (k, d), row-major */
    double *x;        /* (n, d), row-major */
    uint32_t *label;  /* (n): label[i] = i mod k */
} nfi_gaussian_data;

/* Box-Muller from two uniforms, u1 in (0, 1] and u2 in [0, 1), both
 * binary64: out[0] = RN(r cos(2 pi u2)) and out[1] = RN(r sin(2 pi u2))
 * with r = sqrt(-2 ln u1), each correctly rounded as described above.
 * Returns 0, or -1 with an error naming the uniform out of its range (out
 * unchanged).  MPFR's exponent range is widened while it works and
 * restored on return. */
int nfi_gaussian_box_muller(double u1, double u2, double out[2],
                            nfi_error *err);

/* Standard normals number first, first + 1, ..., first + count - 1 of the
 * stream key, as defined above, into out[0 .. count - 1].  The values do
 * not depend on how a range is cut into calls.  Returns 0, or -1 with an
 * error when first + count passes 2^64 (out then partly written). */
int nfi_gaussian_normals(uint64_t key, uint64_t first, size_t count,
                         double *out, nfi_error *err);

/* Makes the data set of spec, as defined above: a pure function of the
 * spec.  Needs 2 <= k, 1 <= n_per_class, 1 <= d, k * n_per_class * d <=
 * NFI_GAUSSIAN_MAX_VALUES, mean_std and noise_std finite and >= 0.
 * Returns 0 with *out filled (release it with nfi_gaussian_free), or -1
 * with an error naming the bad field and its value (or the allocation
 * that failed) and *out zeroed. */
int nfi_gaussian_make(nfi_gaussian_data *out, const nfi_gaussian_spec *spec,
                      nfi_error *err);

/* Releases the arrays of a data set and zeroes it; NULL is allowed. */
void nfi_gaussian_free(nfi_gaussian_data *data);

#endif
