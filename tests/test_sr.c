/* Stochastic rounding (sim/round.h): the decision rule itself, checked
 * sample by sample in exact integer arithmetic; reproducibility (the same
 * seed and index give the same result on every engine and in every run,
 * array forms use one index per element, the exact operations use none);
 * different seeds give different roundings; the frequency of rounding
 * away and the mean of SR(x) for x = lo + f q with f in {0.1, 0.25, 1/3,
 * 0.5, 0.9}; and the distribution of nfi_sr_bits.
 *
 * Tolerances.  A count of N independent Bernoulli(f) draws has standard
 * deviation sqrt(N f (1 - f)); every frequency is required to lie within
 * 5 standard deviations of f, i.e. |k/N - f| <= 5 sqrt(f (1 - f) / N)
 * (a false alarm has probability below 6e-7 per check, and the seed is
 * fixed, so the test is reproducible).  The mean of SR(x) is lo + q k/N,
 * so its tolerance is q times the same bound.  The chi-square statistic
 * over 256 buckets (255 degrees of freedom, mean 255, standard deviation
 * sqrt(510) = 22.6) must stay below 255 + 5 * 22.6.
 *
 * Why: SR is only useful if it is unbiased and reproducible; a bias of
 * even 1e-3 q accumulates over the millions of roundings of a training
 * run, and a result that depends on the engine or the thread count makes
 * a run impossible to check. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "engine_fast.h"
#include "engine_mpfr.h"
#include "harness.h"

#define SAMPLES 200000

/* |k/n - f| <= 5 sqrt(f (1 - f) / n). */
static bool within_five_sigma(long k, long n, double f)
{
    double sigma = sqrt(f * (1.0 - f) / (double)n);
    return fabs((double)k / (double)n - f) <= 5.0 * sigma;
}

/* The decision rule sample by sample: binary16 (p = 11), x = 1 + j 2^-50
 * = lo + (j / 2^40) q with lo = 1 and q = 2^-10.  Away from zero iff
 * |x| - |lo| >= q (2^32 - u) / 2^32, i.e. j >= 2^40 - 2^8 u. */
static void check_decision_rule(test_rng *rng)
{
    nfi_format f = harness_format("binary16");
    nfi_fast ctx;
    uint64_t seed = harness_seed();
    nfi_fast_init(&ctx, &f, NFI_ROUND_SR, seed, NULL);
    long wrong = 0, wrong_mpfr = 0;
    for (int i = 0; i < 50000; i++) {
        uint64_t j;
        switch (i % 4) {
        case 0:
            j = rng_next(rng) >> 24;
            break;
        case 1:
            j = (1ULL << 40) - 1 - (rng_next(rng) >> 44); /* f near 1 */
            break;
        case 2:
            j = rng_next(rng) >> 44; /* f near 0 */
            break;
        default:
            /* Right at a threshold of the rule, and one below. */
            j = (1ULL << 40) - 256 * (uint64_t)nfi_sr_bits(seed,
                                                           ctx.counter);
            j -= (j > 0 && (i & 4)) ? 1 : 0;
            if (j >= 1ULL << 40)
                j = (1ULL << 40) - 1;
            break;
        }
        double x = 1.0 + ldexp((double)j, -50);
        uint64_t index = ctx.counter;
        uint32_t u = nfi_sr_bits(seed, index);
        bool away = j >= (1ULL << 40) - 256 * (uint64_t)u;
        double want = j == 0 ? 1.0 : away ? 1.0 + 0x1p-10 : 1.0;
        double got = nfi_fast_round(&ctx, x);
        if (!same_double(want, got))
            wrong++;
        double got_mpfr = nfi_mpfr_op_d(NFI_OP_CVT, x, 0, 0, &f,
                                        NFI_ROUND_SR, u);
        if (!same_double(want, got_mpfr))
            wrong_mpfr++;
        if ((!same_double(want, got) || !same_double(want, got_mpfr)) &&
            wrong + wrong_mpfr <= 3)
            printf("rule: x = %a, u = %u, want %a, fast %a, mpfr %a\n", x,
                   u, want, got, got_mpfr);
        check_true(ctx.counter == index + 1, "cvt should take one index");
    }
    check_true(wrong == 0, "fast engine broke the SR rule %ld times", wrong);
    check_true(wrong_mpfr == 0, "mpfr engine broke the SR rule %ld times",
               wrong_mpfr);
}

/* Frequency and mean for x = lo + f q, through cvt and (where b is a
 * format value) add, on both engines, at several places of the grid. */
struct sr_place {
    const char *spec;
    double lo, q; /* lo toward zero, q the step (signed like lo) */
};

static void check_frequencies(void)
{
    static const struct sr_place places[] = {
        {"binary16", 1.0, 0x1p-10},
        {"binary16", -1.0, -0x1p-10},
        {"binary16", 0x1.ffcp0, 0x1p-10}, /* hi = 2: the next binade */
        {"binary16", 0x1p-20, 0x1p-24},   /* subnormals */
        {"bfloat16", 0x1.fcp127, 0x1p120}, /* hi = largest finite */
        {"binary32", 0x1.4p-3, 0x1p-26},
        {"p=40,emin=-300,emax=300", 3.0, 0x1p-38},
        {"p=50,emin=-1022,emax=1023", 1.0, 0x1p-49},
        {"e5m2,subnormals=off", 0.0, 0x1p-14}, /* below 2^emin */
    };
    static const double fractions[] = {0.1, 0.25, 1.0 / 3.0, 0.5, 0.9};
    for (size_t pl = 0; pl < sizeof places / sizeof places[0]; pl++) {
        nfi_format f = harness_format(places[pl].spec);
        double lo = places[pl].lo, q = places[pl].q;
        for (size_t fi = 0; fi < sizeof fractions / sizeof fractions[0];
             fi++) {
            /* x = lo + f q rounded to binary64 (not a grid value). */
            double x = lo + fractions[fi] * q;
            double f_exact = (x - lo) / q; /* exact: q a power of two */
            nfi_fast ctx;
            nfi_fast_init(&ctx, &f, NFI_ROUND_SR, harness_seed(), NULL);
            long away = 0, other = 0;
            double sum = 0.0;
            for (long i = 0; i < SAMPLES; i++) {
                double r = nfi_fast_round(&ctx, x);
                if (same_double(r, lo + q))
                    away++;
                else if (!same_double(r, lo))
                    other++;
                sum += r - lo; /* exact: 0 or q */
            }
            check_true(other == 0, "%s: SR(%a) gave %ld results that are "
                       "not a neighbour", places[pl].spec, x, other);
            check_true(ctx.counter == SAMPLES, "%s: counter %llu after %d "
                       "roundings", places[pl].spec,
                       (unsigned long long)ctx.counter, SAMPLES);
            check_true(within_five_sigma(away, SAMPLES, f_exact),
                       "%s: SR(%a) went away %ld times in %d, expected "
                       "fraction %.6f", places[pl].spec, x, away, SAMPLES,
                       f_exact);
            double mean = lo + sum / SAMPLES;
            double tolerance = fabs(q) * 5.0 *
                               sqrt(f_exact * (1 - f_exact) / SAMPLES);
            check_true(fabs(mean - x) <= tolerance, "%s: mean of SR(%a) is "
                       "%a, off by %g steps (tolerance %g)", places[pl].spec,
                       x, mean, (mean - x) / q, tolerance / fabs(q));

            /* The same sample on the MPFR engine, index by index; every
             * 16th index keeps the run short. */
            long disagree = 0;
            for (long i = 0; i < SAMPLES; i += 16) {
                uint32_t u = nfi_sr_bits(harness_seed(), (uint64_t)i);
                double m = nfi_mpfr_op_d(NFI_OP_CVT, x, 0, 0, &f,
                                         NFI_ROUND_SR, u);
                nfi_fast one;
                nfi_fast_init(&one, &f, NFI_ROUND_SR, harness_seed(), NULL);
                one.counter = (uint64_t)i;
                disagree += !same_double(m, nfi_fast_round(&one, x));
            }
            check_true(disagree == 0, "%s: SR(%a) differs between engines "
                       "at %ld indices", places[pl].spec, x, disagree);
        }
        /* Through an addition where f q is a format value. */
        double b = 0.25 * q;
        if (nfi_format_fits_binary64(&f) &&
            same_double(nfi_mpfr_op_d(NFI_OP_CVT, b, 0, 0, &f, NFI_ROUND_RZ,
                                      0), b) && lo != 0.0) {
            nfi_fast ctx;
            nfi_fast_init(&ctx, &f, NFI_ROUND_SR, harness_seed() + 1, NULL);
            long away = 0;
            for (long i = 0; i < SAMPLES; i++)
                away += same_double(nfi_fast_add(&ctx, lo, b), lo + q);
            check_true(within_five_sigma(away, SAMPLES, 0.25),
                       "%s: SR(%a + %a) went away %ld times in %d",
                       places[pl].spec, lo, b, away, SAMPLES);
        }
    }
}

/* Representable results never move; fractions below 2^-32 never go away;
 * fractions of 1 - 2^-40 go away unless u = 0. */
static void check_extremes(void)
{
    nfi_format f = harness_format("binary16");
    nfi_fast ctx;
    nfi_fast_init(&ctx, &f, NFI_ROUND_SR, harness_seed(), NULL);
    long moved = 0, tiny_away = 0, near_one_stay = 0, u_zero = 0;
    for (long i = 0; i < SAMPLES; i++) {
        moved += !same_double(nfi_fast_round(&ctx, 1.5), 1.5);
        tiny_away += !same_double(nfi_fast_round(&ctx, 1.0 + 0x1p-43), 1.0);
        uint32_t u = nfi_sr_bits(harness_seed(), ctx.counter);
        u_zero += u == 0;
        near_one_stay += same_double(
            nfi_fast_round(&ctx, 1.0 + 0x1p-10 - 0x1p-50), 1.0);
    }
    check_true(moved == 0, "SR moved a representable value %ld times",
               moved);
    check_true(tiny_away == 0, "SR(1 + 2^-33 q) went away %ld times; its "
               "probability is 0 after rounding down to 2^-32", tiny_away);
    check_true(near_one_stay == u_zero, "SR(1 + (1 - 2^-40) q) stayed %ld "
               "times, expected only when u = 0 (%ld times)", near_one_stay,
               u_zero);
}

/* Same seed, same index: same result, in a second run and on the MPFR
 * engine driven through nfi_engine with its own counter.  With
 * exact_ops, the sequence mixes in neg, abs, min and max, which never
 * round (sim/round.h) and so must not shift the stochastic sequence of
 * any engine; the disagreements are then counted in one check per format
 * so that the first ones printed say what happened. */
static void check_reproducible(test_rng *rng, bool exact_ops)
{
    static const char *const specs[] = {"binary16", "bfloat16", "e4m3",
                                         "binary32", "p=30,emin=-60,emax=60"};
    static const nfi_op ops[] = {NFI_OP_ADD, NFI_OP_SUB, NFI_OP_MUL,
                                 NFI_OP_DIV, NFI_OP_SQRT, NFI_OP_FMA,
                                 NFI_OP_EXP, NFI_OP_LOG, NFI_OP_CVT,
                                 NFI_OP_NEG, NFI_OP_ABS, NFI_OP_MIN,
                                 NFI_OP_MAX};
    size_t n_ops = exact_ops ? sizeof ops / sizeof ops[0] : 9;
    const char *what = exact_ops ? "with exact operations" : "";
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        nfi_format f = harness_format(specs[s]);
        nfi_fast run1, run2;
        nfi_engine via_mpfr, via_fast;
        uint64_t seed = harness_seed() * 7 + s;
        nfi_fast_init(&run1, &f, NFI_ROUND_SR, seed, NULL);
        nfi_fast_init(&run2, &f, NFI_ROUND_SR, seed, NULL);
        nfi_engine_init(&via_mpfr, NFI_ENGINE_MPFR, &f, NFI_ROUND_SR, seed,
                        NULL);
        nfi_engine_init(&via_fast, NFI_ENGINE_FAST, &f, NFI_ROUND_SR, seed,
                        NULL);
        mpfr_t a, b, c, r1, r2;
        mpfr_inits2(64, a, b, c, r1, r2, (mpfr_ptr)0);
        uint64_t rounding_ops = 0;
        long differ_mpfr = 0, differ_fast = 0;
        for (int i = 0; i < 4000; i++) {
            nfi_op op = ops[rng_below(rng, n_ops)];
            double x[3];
            for (int k = 0; k < 3; k++) {
                double v = ldexp(1.0 + rng_unit(rng), (int)rng_range(rng, -4,
                                                                     4));
                x[k] = nfi_mpfr_op_d(NFI_OP_CVT, v, 0, 0, &f, NFI_ROUND_RZ,
                                     0);
            }
            if (op == NFI_OP_CVT)
                x[0] = ldexp(1.0 + rng_unit(rng), (int)rng_range(rng, -4, 4));
            double g1 = nfi_fast_op(&run1, op, x[0], x[1], x[2]);
            double g2 = nfi_fast_op(&run2, op, x[0], x[1], x[2]);
            check_op("second fast run", &f, NFI_ROUND_SR, op, x, g1, g2);
            mpfr_set_d(a, x[0], MPFR_RNDN);
            mpfr_set_d(b, x[1], MPFR_RNDN);
            mpfr_set_d(c, x[2], MPFR_RNDN);
            nfi_engine_op(&via_mpfr, op, r1, a, b, c);
            nfi_engine_op(&via_fast, op, r2, a, b, c);
            double m1 = mpfr_get_d(r1, MPFR_RNDN);
            double m2 = mpfr_get_d(r2, MPFR_RNDN);
            if (!exact_ops) {
                check_op("nfi_engine mpfr", &f, NFI_ROUND_SR, op, x, g1, m1);
                check_op("nfi_engine fast", &f, NFI_ROUND_SR, op, x, g1, m2);
            }
            differ_mpfr += !same_double(g1, m1);
            differ_fast += !same_double(g1, m2);
            rounding_ops += op != NFI_OP_NEG && op != NFI_OP_ABS &&
                            op != NFI_OP_MIN && op != NFI_OP_MAX;
        }
        check_true(differ_mpfr == 0 && differ_fast == 0, "%s %s: nfi_engine "
                   "mpfr differs from nfi_fast in %ld of 4000 operations, "
                   "nfi_engine fast in %ld", specs[s], what, differ_mpfr,
                   differ_fast);
        check_true(run1.counter == rounding_ops && via_mpfr.counter ==
                   rounding_ops && via_fast.fast.counter == rounding_ops,
                   "%s %s: stochastic counters nfi_fast %llu, nfi_engine "
                   "mpfr %llu, nfi_engine fast %llu after %llu rounding "
                   "operations", specs[s], what,
                   (unsigned long long)run1.counter,
                   (unsigned long long)via_mpfr.counter,
                   (unsigned long long)via_fast.fast.counter,
                   (unsigned long long)rounding_ops);

        /* A cvt operand that is not a binary64 number goes through the
         * exact path and still takes one index of the same counter. */
        mpfr_set_prec(a, 200);
        mpfr_set_ui(a, 1, MPFR_RNDN);
        mpfr_div_ui(a, a, 3, MPFR_RNDN);
        uint64_t before = via_fast.fast.counter;
        nfi_engine_op(&via_fast, NFI_OP_CVT, r2, a, NULL, NULL);
        nfi_mpfr_op(NFI_OP_CVT, r1, a, NULL, NULL, &f, NFI_ROUND_SR,
                    nfi_sr_bits(seed, before));
        check_true(via_fast.fast.counter == before + 1 && same_mpfr(r1, r2),
                   "%s: SR cvt of a 200-bit value through the fast engine",
                   specs[s]);
        mpq_t third;
        mpq_init(third);
        mpq_set_ui(third, 1, 3);
        before = via_mpfr.counter;
        nfi_engine_round_q(&via_mpfr, r1, third);
        nfi_mpfr_round_q(r2, third, &f, NFI_ROUND_SR,
                         nfi_sr_bits(seed, before));
        check_true(via_mpfr.counter == before + 1 && same_mpfr(r1, r2),
                   "%s: nfi_engine_round_q should take one index", specs[s]);
        mpq_clear(third);
        mpfr_clears(a, b, c, r1, r2, (mpfr_ptr)0);
    }
}

/* neg, abs, min and max never round, so they take no stochastic index on
 * any engine: one of them between two roundings leaves every engine's
 * next rounding on the same index. */
static void check_exact_ops_take_no_index(void)
{
    static const nfi_op exact[] = {NFI_OP_NEG, NFI_OP_ABS, NFI_OP_MIN,
                                   NFI_OP_MAX};
    static const nfi_engine_kind kinds[] = {NFI_ENGINE_MPFR,
                                            NFI_ENGINE_FAST};
    nfi_format f = harness_format("binary16");
    mpfr_t a, r;
    mpfr_inits2(64, a, r, (mpfr_ptr)0);
    mpfr_set_d(a, 1.5, MPFR_RNDN);
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        for (size_t k = 0; k < 2; k++) {
            nfi_engine e;
            nfi_engine_init(&e, kinds[k], &f, NFI_ROUND_SR, 1, NULL);
            nfi_engine_op(&e, exact[i], r, a, a, a);
            uint64_t used = kinds[k] == NFI_ENGINE_MPFR ? e.counter
                                                        : e.fast.counter;
            check_true(used == 0, "nfi_engine %s: %s took %llu stochastic "
                       "indices, expected 0 (it does not round)",
                       nfi_engine_name(kinds[k]), nfi_op_name(exact[i]),
                       (unsigned long long)used);
        }
        nfi_fast ctx;
        nfi_fast_init(&ctx, &f, NFI_ROUND_SR, 1, NULL);
        nfi_fast_op(&ctx, exact[i], 1.5, 1.5, 1.5);
        check_true(ctx.counter == 0, "nfi_fast_op %s took %llu stochastic "
                   "indices, expected 0", nfi_op_name(exact[i]),
                   (unsigned long long)ctx.counter);
    }
    mpfr_clears(a, r, (mpfr_ptr)0);
}

/* Array forms use counter + i for element i. */
static void check_arrays(test_rng *rng)
{
    nfi_format f = harness_format("bfloat16");
    enum { N = 1000 };
    static double a[N], b[N], out[N];
    for (int i = 0; i < N; i++) {
        a[i] = nfi_mpfr_op_d(NFI_OP_CVT, 1.0 + rng_unit(rng), 0, 0, &f,
                             NFI_ROUND_RZ, 0);
        b[i] = nfi_mpfr_op_d(NFI_OP_CVT, rng_unit(rng), 0, 0, &f,
                             NFI_ROUND_RZ, 0);
    }
    nfi_fast arr, one;
    nfi_fast_init(&arr, &f, NFI_ROUND_SR, 9, NULL);
    nfi_fast_init(&one, &f, NFI_ROUND_SR, 9, NULL);
    arr.counter = one.counter = 12345;

    nfi_fast_add_array(&arr, N, out, a, b);
    long bad = 0;
    for (int i = 0; i < N; i++)
        bad += !same_double(out[i], nfi_fast_add(&one, a[i], b[i]));
    nfi_fast_mul_array(&arr, N, out, a, b);
    for (int i = 0; i < N; i++)
        bad += !same_double(out[i], nfi_fast_mul(&one, a[i], b[i]));
    nfi_fast_exp_array(&arr, N, out, b);
    for (int i = 0; i < N; i++)
        bad += !same_double(out[i], nfi_fast_exp(&one, b[i]));
    for (int i = 0; i < N; i++)
        a[i] = 1.0 + rng_unit(rng);
    nfi_fast_round_array(&arr, N, out, a);
    for (int i = 0; i < N; i++)
        bad += !same_double(out[i], nfi_fast_round(&one, a[i]));
    check_true(bad == 0, "array forms differ from scalar loops in %ld "
               "elements", bad);
    check_true(arr.counter == one.counter && arr.counter == 12345 + 4 * N,
               "array forms should take one index per element (counter "
               "%llu, scalar %llu)", (unsigned long long)arr.counter,
               (unsigned long long)one.counter);
}

/* Different seeds give different roundings of the same values. */
static void check_seeds_differ(void)
{
    nfi_format f = harness_format("binary32");
    for (uint64_t s = 1; s <= 8; s++) {
        nfi_fast c1, c2;
        nfi_fast_init(&c1, &f, NFI_ROUND_SR, s, NULL);
        nfi_fast_init(&c2, &f, NFI_ROUND_SR, s + 1000, NULL);
        long differ = 0;
        const long n = 4000;
        for (long i = 0; i < n; i++) {
            double x = 1.0 + 0x1p-24; /* half a step */
            differ += !same_double(nfi_fast_round(&c1, x),
                                   nfi_fast_round(&c2, x));
        }
        /* Independent fair choices differ with probability 1/2. */
        check_true(within_five_sigma(differ, n, 0.5), "seeds %llu and %llu "
                   "gave different roundings %ld times in %ld",
                   (unsigned long long)s, (unsigned long long)(s + 1000),
                   differ, n);
    }
}

/* nfi_sr_bits: a pure function, uniform in its top and bottom bytes over
 * consecutive indices and over consecutive seeds. */
static void check_bits_distribution(void)
{
    const long n = 1L << 20;
    for (int pass = 0; pass < 4; pass++) {
        long bucket[256] = {0};
        double sum = 0;
        for (long i = 0; i < n; i++) {
            uint64_t seed = pass < 2 ? 1 : (uint64_t)i;
            uint64_t index = pass < 2 ? (uint64_t)i : 42;
            uint32_t u = nfi_sr_bits(seed, index);
            bucket[pass % 2 ? u & 255 : u >> 24]++;
            sum += u * 0x1p-32;
        }
        double expected = (double)n / 256, chi2 = 0;
        for (int k = 0; k < 256; k++)
            chi2 += (bucket[k] - expected) * (bucket[k] - expected) /
                    expected;
        check_true(chi2 < 255 + 5 * sqrt(510.0), "nfi_sr_bits %s byte over "
                   "consecutive %s: chi-square %.1f", pass % 2 ? "low" :
                   "high", pass < 2 ? "indices" : "seeds", chi2);
        double mean = sum / n;
        check_true(fabs(mean - 0.5) <= 5 * sqrt(1.0 / 12 / n), "mean of "
                   "nfi_sr_bits / 2^32 over consecutive %s: %.6f",
                   pass < 2 ? "indices" : "seeds", mean);
    }
    check_true(nfi_sr_bits(3, 77) == nfi_sr_bits(3, 77) &&
               nfi_sr_bits(3, 77) != nfi_sr_bits(4, 77) &&
               nfi_sr_bits(3, 77) != nfi_sr_bits(3, 78),
               "nfi_sr_bits should be a function of both seed and index");
}

int main(void)
{
    harness_init("test_sr", 1);
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    check_decision_rule(&rng);
    check_frequencies();
    check_extremes();
    check_reproducible(&rng, false);
    check_exact_ops_take_no_index();
    check_reproducible(&rng, true);
    check_arrays(&rng);
    check_seeds_differ();
    check_bits_distribution();
    return harness_finish();
}
