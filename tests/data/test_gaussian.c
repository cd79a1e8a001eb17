/* Synthetic Gaussian classes (data/gaussian.h): Box-Muller against a
 * reference computed another way at 1000 bits (mpfr_const_pi, mpfr_cos
 * and mpfr_sin) with zero tolerance, its exact cases and bad uniforms;
 * the stream of normals against its definition and cut into calls in
 * any way; the moments of many normals; the data set against its
 * definition, bit for bit, its determinism, labels, prefix property and
 * per-class sample means; bad specifications; and MPFR's exponent range
 * left as it was.
 *
 * Why: the same data set must come out on every machine and at every
 * precision of a sweep, so the values are checked exactly, not within a
 * tolerance; the statistics only confirm that they are Gaussian. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "gaussian.h"
#include "harness.h"

/* RN(sqrt(-2 ln u1) * cos or sin(2 pi u2)) at 1000 bits, through pi and
 * the plain trigonometric functions: a route unlike the library's.  The
 * 1000-bit result could only round differently from the exact value if
 * that were within 2^-990 of a binary64 midpoint. */
static void reference_pair(double u1, double u2, double out[2])
{
    mpfr_t r, a, c, s;
    mpfr_inits2(1000, r, a, c, s, (mpfr_ptr)0);
    mpfr_set_d(r, u1, MPFR_RNDN);
    mpfr_log(r, r, MPFR_RNDN);
    mpfr_mul_si(r, r, -2, MPFR_RNDN);
    mpfr_sqrt(r, r, MPFR_RNDN);
    mpfr_const_pi(a, MPFR_RNDN);
    mpfr_mul_d(a, a, 2 * u2, MPFR_RNDN);
    mpfr_sin_cos(s, c, a, MPFR_RNDN);
    mpfr_mul(c, c, r, MPFR_RNDN);
    mpfr_mul(s, s, r, MPFR_RNDN);
    out[0] = mpfr_get_d(c, MPFR_RNDN);
    out[1] = mpfr_get_d(s, MPFR_RNDN);
    mpfr_clears(r, a, c, s, (mpfr_ptr)0);
}

static void check_box_muller(void)
{
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    long wrong = 0;
    enum { PAIRS = 20000 };
    for (int i = 0; i < PAIRS; i++) {
        uint64_t x1 = rng_next(&rng), x2 = rng_next(&rng);
        /* Some uniforms near the ends, where ln u1 or a factor is small. */
        if (i % 16 == 1)
            x1 |= 0xfffffff000000000ULL;
        if (i % 16 == 2)
            x1 &= 0x00000fffffffffffULL;
        if (i % 16 == 3)
            x2 &= 0x00000fffffffffffULL;
        if (i % 16 == 4)
            x2 = (x2 & 0x00000fffffffffffULL) | (1ULL << 62);
        if (i % 16 == 5)
            x2 = (x2 & 0x00000fffffffffffULL) | (1ULL << 61);
        double u1 = nfi_draw_open0(x1), u2 = nfi_draw_closed0(x2);
        double got[2], expected[2];
        nfi_error err = {""};
        int status = nfi_gaussian_box_muller(u1, u2, got, &err);
        reference_pair(u1, u2, expected);
        if ((status != 0 || !same_double(got[0], expected[0])
             || !same_double(got[1], expected[1])) && wrong++ < 10)
            check_true(false, "box_muller(%a, %a) = (%a, %a) status %d "
                       "(%s), reference (%a, %a)", u1, u2, got[0], got[1],
                       status, err.message, expected[0], expected[1]);
    }
    check_true(wrong == 0, "%ld of %d Box-Muller pairs differ from the "
               "1000-bit reference", wrong, PAIRS);

    /* Exact cases: r = 0, and factors that vanish or are +-1. */
    double big[2], r;
    reference_pair(0x1p-53, 0, big);
    r = big[0];
    check_true(r > 8.57 && r < 8.58, "r(2^-53) = %a", r);
    static const struct {
        double u1, u2;
        int cos_sign, sin_sign; /* 0: exactly +0; +-1: +-r */
    } exact[] = {
        {0x1p-53, 0.0, 1, 0},
        {0x1p-53, 0.25, 0, 1},
        {0x1p-53, 0.5, -1, 0},
        {0x1p-53, 0.75, 0, -1},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        double got[2];
        nfi_gaussian_box_muller(exact[i].u1, exact[i].u2, got, NULL);
        double want_c = exact[i].cos_sign == 0 ? 0.0 : exact[i].cos_sign * r;
        double want_s = exact[i].sin_sign == 0 ? 0.0 : exact[i].sin_sign * r;
        check_double(want_c, got[0], "cos member at u2 = %g", exact[i].u2);
        check_double(want_s, got[1], "sin member at u2 = %g", exact[i].u2);
    }
    static const double u2s[] = {0.0, 0.1, 0.25, 0.5, 0.75, 0.9};
    for (size_t i = 0; i < sizeof u2s / sizeof u2s[0]; i++) {
        double got[2] = {1, 1};
        nfi_gaussian_box_muller(1.0, u2s[i], got, NULL);
        check_true(same_double(got[0], 0.0) && same_double(got[1], 0.0),
                   "u1 = 1 gives +0, +0 at u2 = %g, got %a, %a", u2s[i],
                   got[0], got[1]);
    }

    static const struct {
        double u1, u2;
        const char *named;
    } bad[] = {
        {0.0, 0.5, "u1 = 0 "},
        {-0.25, 0.5, "u1 = -0.25 "},
        {1.5, 0.5, "u1 = 1.5 "},
        {NAN, 0.5, "u1 = nan"},
        {0.5, 1.0, "u2 = 1 "},
        {0.5, -0x1p-60, "u2 = -8.6736173798840355e-19 "},
        {0.5, NAN, "u2 = nan"},
        {0.5, INFINITY, "u2 = inf"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double got[2] = {7, 7};
        nfi_error err = {""};
        int status = nfi_gaussian_box_muller(bad[i].u1, bad[i].u2, got,
                                             &err);
        check_true(status == -1 && strstr(err.message, bad[i].named) != NULL
                   && got[0] == 7 && got[1] == 7,
                   "box_muller(%a, %a) should fail naming '%s', got %d "
                   "(%s)", bad[i].u1, bad[i].u2, bad[i].named, status,
                   err.message);
    }
}

/* The stream against its definition, and the same values however the
 * range is cut. */
static void check_stream(void)
{
    enum { N = 301 };
    uint64_t key = nfi_draw_key(harness_seed(), NFI_GAUSSIAN_TAG_NOISE);
    double all[N], parts[N];
    nfi_error err = {""};
    check_true(nfi_gaussian_normals(key, 5, N, all, &err) == 0,
               "normals 5..305: %s", err.message);
    long wrong = 0;
    for (uint64_t j = 5; j < 5 + N; j++) {
        uint64_t m = j / 2;
        double pair[2];
        nfi_gaussian_box_muller(nfi_draw_open0(nfi_draw_bits(key, 2 * m)),
                                nfi_draw_closed0(nfi_draw_bits(key,
                                                               2 * m + 1)),
                                pair, NULL);
        if (!same_double(pair[j % 2], all[j - 5]) && wrong++ < 5)
            check_true(false, "normal %llu = %a, definition %a",
                       (unsigned long long)j, all[j - 5], pair[j % 2]);
    }
    check_true(wrong == 0, "the stream follows its definition");

    /* Cuts of odd and even lengths at odd and even starts. */
    static const size_t cuts[] = {1, 2, 3, 1, 4, 7, 1, 1, 10, 271};
    size_t at = 0;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        nfi_gaussian_normals(key, 5 + at, cuts[i], parts + at, NULL);
        at += cuts[i];
    }
    check_true(at == N && memcmp(all, parts, sizeof all) == 0,
               "cutting the range into calls changes nothing");
    check_true(nfi_gaussian_normals(key, 0, 0, NULL, NULL) == 0,
               "zero normals is allowed");

    /* The very end of the stream, and past it. */
    double end[2];
    check_true(nfi_gaussian_normals(key, UINT64_MAX - 1, 2, end, &err) == 0,
               "the last two normals: %s", err.message);
    check_true(nfi_gaussian_normals(key, UINT64_MAX, 1, end + 1, NULL) == 0,
               "the last normal alone");
    check_true(nfi_gaussian_normals(key, UINT64_MAX - 1, 3, parts, &err)
               == -1 && strstr(err.message, "2^64") != NULL,
               "normals past 2^64 should fail (%s)", err.message);
}

/* Moments of standard normals against N(0, 1), each within 6 standard
 * errors: mean, variance, the fraction within one sigma, the fraction
 * below 0, the fourth moment, and the correlation of the two members of
 * a pair. */
static void check_moments(void)
{
    enum { N = 100000 };
    double *z = malloc(N * sizeof *z);
    uint64_t key = nfi_draw_key(harness_seed(), 12345);
    nfi_gaussian_normals(key, 0, N, z, NULL);
    double s1 = 0, s2 = 0, s4 = 0, pair = 0, within = 0, below = 0;
    for (int i = 0; i < N; i++) {
        s1 += z[i];
        s2 += z[i] * z[i];
        s4 += z[i] * z[i] * z[i] * z[i];
        within += fabs(z[i]) < 1;
        below += z[i] < 0;
        if (i % 2 == 1)
            pair += z[i] * z[i - 1];
    }
    double n = N, p1 = 0.682689492137;
    check_true(fabs(s1 / n) < 6 / sqrt(n), "mean %g", s1 / n);
    check_true(fabs(s2 / n - 1) < 6 * sqrt(2 / n), "variance %g", s2 / n);
    check_true(fabs(within / n - p1) < 6 * sqrt(p1 * (1 - p1) / n),
               "fraction within 1: %g, expected %g", within / n, p1);
    check_true(fabs(below / n - 0.5) < 6 * sqrt(0.25 / n),
               "fraction below 0: %g", below / n);
    check_true(fabs(s4 / n - 3) < 6 * sqrt(96 / n), "fourth moment %g",
               s4 / n);
    check_true(fabs(pair / (n / 2)) < 6 / sqrt(n / 2),
               "correlation within pairs %g", pair / (n / 2));
    free(z);
}

static nfi_gaussian_data make(const nfi_gaussian_spec *spec)
{
    nfi_gaussian_data data;
    nfi_error err = {""};
    if (nfi_gaussian_make(&data, spec, &err) != 0) {
        fprintf(stderr, "test_gaussian: %s\n", err.message);
        exit(2);
    }
    return data;
}

static void check_data_set(void)
{
    const nfi_gaussian_spec spec = {
        .k = 4, .n_per_class = 500, .d = 8, .mean_std = 3.0,
        .noise_std = 0.5, .seed = harness_seed(),
    };
    nfi_gaussian_data g = make(&spec);
    size_t k = spec.k, d = spec.d, n = k * spec.n_per_class;
    check_true(g.n == n && g.spec.seed == spec.seed && g.spec.k == k,
               "the data set records its size and spec");

    /* Bit for bit against the definition. */
    double *zm = malloc(k * d * sizeof *zm), *zn = malloc(n * d * sizeof *zn);
    nfi_gaussian_normals(nfi_draw_key(spec.seed, NFI_GAUSSIAN_TAG_MEANS), 0,
                         k * d, zm, NULL);
    nfi_gaussian_normals(nfi_draw_key(spec.seed, NFI_GAUSSIAN_TAG_NOISE), 0,
                         n * d, zn, NULL);
    long wrong = 0;
    for (size_t j = 0; j < k * d; j++)
        if (!same_double(g.means[j], spec.mean_std * zm[j] + 0.0)
            && wrong++ < 5)
            check_true(false, "means[%zu] = %a, expected %a", j,
                       g.means[j], spec.mean_std * zm[j]);
    for (size_t i = 0; i < n; i++) {
        if (g.label[i] != i % k && wrong++ < 5)
            check_true(false, "label[%zu] = %u", i, g.label[i]);
        for (size_t t = 0; t < d; t++) {
            double want = fma(spec.noise_std, zn[i * d + t],
                              g.means[(i % k) * d + t]) + 0.0;
            if (!same_double(g.x[i * d + t], want) && wrong++ < 5)
                check_true(false, "x[%zu][%zu] = %a, expected %a", i, t,
                           g.x[i * d + t], want);
        }
    }
    check_true(wrong == 0, "the data set follows its definition");
    free(zm);
    free(zn);

    /* Per-class sample means within 6 standard errors of the drawn
     * means: noise_std / sqrt(n_per_class) per coordinate. */
    double tol = 6 * spec.noise_std / sqrt((double)spec.n_per_class);
    double worst = 0;
    for (size_t c = 0; c < k; c++) {
        for (size_t t = 0; t < d; t++) {
            double sum = 0;
            for (size_t i = c; i < n; i += k)
                sum += g.x[i * d + t];
            double dev = fabs(sum / spec.n_per_class - g.means[c * d + t]);
            worst = dev > worst ? dev : worst;
        }
    }
    check_true(worst < tol, "largest deviation of a class sample mean from "
               "its drawn mean %g, tolerance %g", worst, tol);
    /* The drawn means are spread as N(0, mean_std^2) says (loosely: only
     * 32 entries). */
    double ss = 0;
    for (size_t j = 0; j < k * d; j++)
        ss += g.means[j] * g.means[j];
    double sd = sqrt(ss / (k * d));
    check_true(sd > 1.5 && sd < 4.5, "spread of the means %g, expected "
               "about 3", sd);

    /* Determinism, other seeds, and a larger n_per_class as an extension
     * of the smaller one. */
    nfi_gaussian_data again = make(&spec);
    check_true(memcmp(g.x, again.x, n * d * sizeof *g.x) == 0
               && memcmp(g.means, again.means, k * d * sizeof *g.means) == 0,
               "the same spec gives the same data set");
    nfi_gaussian_free(&again);
    nfi_gaussian_spec other = spec;
    other.seed = spec.seed + 1;
    again = make(&other);
    check_true(memcmp(g.x, again.x, n * d * sizeof *g.x) != 0
               && memcmp(g.means, again.means, k * d * sizeof *g.means) != 0,
               "seeds %llu and %llu give different data sets",
               (unsigned long long)spec.seed,
               (unsigned long long)other.seed);
    nfi_gaussian_free(&again);
    other = spec;
    other.n_per_class = 123;
    again = make(&other);
    check_true(memcmp(g.x, again.x, 123 * k * d * sizeof *g.x) == 0
               && memcmp(g.means, again.means, k * d * sizeof *g.means) == 0,
               "a smaller n_per_class gives a prefix of the data set");
    nfi_gaussian_free(&again);

    /* Zero spreads: all means 0, or every sample on its mean. */
    other = spec;
    other.mean_std = 0;
    other.noise_std = 0;
    again = make(&other);
    bool zero = true;
    for (size_t j = 0; j < n * d; j++)
        zero = zero && same_double(again.x[j], 0.0);
    for (size_t j = 0; j < k * d; j++)
        zero = zero && same_double(again.means[j], 0.0);
    check_true(zero, "mean_std = noise_std = 0 gives +0 everywhere");
    nfi_gaussian_free(&again);

    nfi_gaussian_free(&g);
    check_true(g.x == NULL && g.means == NULL && g.n == 0,
               "free zeroes the data set");
    nfi_gaussian_free(&g);
    nfi_gaussian_free(NULL);
}

static void check_bad_specs(void)
{
    const nfi_gaussian_spec good = {
        .k = 3, .n_per_class = 2, .d = 2, .mean_std = 1, .noise_std = 1,
        .seed = 1,
    };
    struct {
        nfi_gaussian_spec spec;
        const char *named;
    } bad[12];
    int nbad = 0;
    for (int i = 0; i < 12; i++)
        bad[i].spec = good;
    bad[nbad].spec.k = 0, bad[nbad++].named = "k = 0";
    bad[nbad].spec.k = 1, bad[nbad++].named = "k = 1";
    bad[nbad].spec.n_per_class = 0, bad[nbad++].named = "n_per_class = 0";
    bad[nbad].spec.d = 0, bad[nbad++].named = "d = 0";
    bad[nbad].spec.d = (size_t)1 << 31,
        bad[nbad++].named = "3 * 2 * 2147483648";
    bad[nbad].spec.k = SIZE_MAX, bad[nbad++].named = "18446744073709551615";
    bad[nbad].spec.mean_std = -1, bad[nbad++].named = "mean_std = -1";
    bad[nbad].spec.mean_std = NAN, bad[nbad++].named = "mean_std = nan";
    bad[nbad].spec.mean_std = INFINITY, bad[nbad++].named = "mean_std = inf";
    bad[nbad].spec.noise_std = -0.5, bad[nbad++].named = "noise_std = -0.5";
    bad[nbad].spec.noise_std = NAN, bad[nbad++].named = "noise_std = nan";
    for (int i = 0; i < nbad; i++) {
        nfi_gaussian_data g;
        memset(&g, 0x5a, sizeof g);
        nfi_error err = {""};
        int status = nfi_gaussian_make(&g, &bad[i].spec, &err);
        check_true(status == -1 && strstr(err.message, bad[i].named) != NULL
                   && g.x == NULL && g.means == NULL && g.label == NULL,
                   "bad spec %d should fail naming '%s' and leave the data "
                   "set empty, got %d (%s)", i, bad[i].named, status,
                   err.message);
    }
    nfi_gaussian_data g;
    check_true(nfi_gaussian_make(&g, &bad[0].spec, NULL) == -1,
               "a NULL error is allowed");
}

/* A narrow exponent range left by someone else changes nothing and is
 * restored. */
static void check_exponent_range(void)
{
    double before[2], after[2];
    nfi_gaussian_box_muller(0x1p-40, 0.3, before, NULL);
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mpfr_set_emin(-5);
    mpfr_set_emax(3);
    nfi_gaussian_box_muller(0x1p-40, 0.3, after, NULL);
    bool restored = mpfr_get_emin() == -5 && mpfr_get_emax() == 3;
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
    check_true(same_double(before[0], after[0])
               && same_double(before[1], after[1]) && restored,
               "a narrow MPFR exponent range changes the result or is not "
               "restored");
}

int main(void)
{
    harness_init("test_gaussian", 1);
    check_box_muller();
    check_stream();
    check_moments();
    check_data_set();
    check_bad_specs();
    check_exponent_range();
    return harness_finish();
}
