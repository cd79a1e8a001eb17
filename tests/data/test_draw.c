/* The counter-based draws of the task generators (data/draw.h): known
 * answers of the mixer and the stream (computed independently from the
 * rule in the header), the rejection rule of nfi_draw_below and how many
 * draws it consumes, uniformity of small ranges, balance of every bit,
 * and the exact ends of the uniform doubles.
 *
 * Why: every data set of nfi is a function of these 64-bit words.  A
 * changed constant would silently change every split and every Gaussian
 * sample, and the known answers are what another implementation checks
 * itself against. */
#include <math.h>
#include <stdio.h>

#include "draw.h"
#include "harness.h"
#include "modular.h"

static void check_known_answers(void)
{
    static const struct {
        uint64_t in, out;
    } mixes[] = {
        {0, 0},
        {1, 0x3c02aa47758292bdULL},
        {0xffffffffffffffffULL, 0x78a9666a39c1a1b5ULL},
        {0x0123456789abcdefULL, 0x6d97305f56288c62ULL},
    };
    for (size_t i = 0; i < sizeof mixes / sizeof mixes[0]; i++) {
        uint64_t got = nfi_draw_mix(mixes[i].in);
        check_true(got == mixes[i].out, "mix(0x%016llx) = 0x%016llx, "
                   "expected 0x%016llx", (unsigned long long)mixes[i].in,
                   (unsigned long long)got,
                   (unsigned long long)mixes[i].out);
    }

    uint64_t key = nfi_draw_key(42, NFI_MODULAR_TAG);
    check_true(key == 0xfef60c0e24caa90bULL, "key(42, modular tag) = "
               "0x%016llx", (unsigned long long)key);
    static const struct {
        uint64_t counter, bits;
    } draws[] = {
        {0, 0x2bcb9aee469ee60fULL},
        {1, 0xd30a1b4224af4086ULL},
        {2, 0x0c31721089f1ad7dULL},
        {1000000000000ULL, 0x7188c79cb11683d8ULL},
    };
    for (size_t i = 0; i < sizeof draws / sizeof draws[0]; i++) {
        uint64_t got = nfi_draw_bits(key, draws[i].counter);
        check_true(got == draws[i].bits, "bits(key, %llu) = 0x%016llx, "
                   "expected 0x%016llx",
                   (unsigned long long)draws[i].counter,
                   (unsigned long long)got,
                   (unsigned long long)draws[i].bits);
    }
}

/* The rule of the header, followed literally with 128-bit arithmetic. */
static uint64_t below_by_rule(uint64_t key, uint64_t *counter, uint64_t n)
{
    unsigned __int128 two64 = (unsigned __int128)1 << 64;
    uint64_t t = (uint64_t)((two64 - n) % n);
    for (;;) {
        uint64_t x = nfi_draw_bits(key, (*counter)++);
        if (x >= t)
            return x % n;
    }
}

static void check_below(void)
{
    uint64_t key = nfi_draw_key(harness_seed(), 7);

    /* n = 0 consumes nothing; n = 1 consumes exactly one draw. */
    uint64_t c = 5;
    check_true(nfi_draw_below(key, &c, 0) == 0 && c == 5,
               "below(0) should return 0 and leave the counter");
    check_true(nfi_draw_below(key, &c, 1) == 0 && c == 6,
               "below(1) should return 0 after one draw");

    /* Against the literal rule, including ranges where about half of the
     * draws are rejected (n just above 2^63). */
    static const uint64_t ns[] = {
        2, 3, 7, 10, 1000, 65521, 4293001441ULL,
        (1ULL << 63) + 1, (1ULL << 63) + 12345, 0xffffffffffffffffULL,
        (1ULL << 62) * 3 + 1,
    };
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        uint64_t c1 = 0, c2 = 0, rejected = 0;
        for (int i = 0; i < 2000; i++) {
            uint64_t before = c1;
            uint64_t a = nfi_draw_below(key, &c1, ns[k]);
            uint64_t b = below_by_rule(key, &c2, ns[k]);
            rejected += c1 - before - 1;
            if (!check_true(a == b && c1 == c2 && a < ns[k],
                            "below(n = %llu), call %d: got %llu "
                            "(counter %llu), rule gives %llu (counter "
                            "%llu)", (unsigned long long)ns[k], i,
                            (unsigned long long)a, (unsigned long long)c1,
                            (unsigned long long)b, (unsigned long long)c2))
                break;
        }
        /* Just above 2^63 the rejection rate is almost 1/2. */
        if (ns[k] > (1ULL << 63) && ns[k] < (1ULL << 63) + (1ULL << 40))
            check_true(rejected > 1600 && rejected < 2400,
                       "below(%llu): %llu rejected draws in 2000 calls, "
                       "expected about 2000", (unsigned long long)ns[k],
                       (unsigned long long)rejected);
    }

    /* Uniformity: chi-square with n - 1 degrees of freedom; the bound is
     * far in the tail (p < 1e-5 for the sizes used). */
    static const struct {
        uint64_t n;
        double bound;
    } chi[] = {{2, 20}, {7, 35}, {10, 40}, {97, 190}};
    for (size_t k = 0; k < sizeof chi / sizeof chi[0]; k++) {
        uint64_t n = chi[k].n, counts[97] = {0}, draws = 1000 * n;
        uint64_t counter = 0;
        for (uint64_t i = 0; i < draws; i++)
            counts[nfi_draw_below(key, &counter, n)]++;
        double stat = 0;
        for (uint64_t v = 0; v < n; v++) {
            double d = (double)counts[v] - 1000.0;
            stat += d * d / 1000.0;
        }
        check_true(stat < chi[k].bound, "below(%llu): chi-square %.2f over "
                   "%llu draws, expected below %.0f",
                   (unsigned long long)n, stat,
                   (unsigned long long)draws, chi[k].bound);
    }
}

/* Each of the 64 bits is set in about half of the draws (6 sigma), for
 * consecutive counters and for consecutive seeds. */
static void check_bit_balance(void)
{
    enum { N = 100000 };
    uint64_t ones_counter[64] = {0}, ones_seed[64] = {0};
    uint64_t key = nfi_draw_key(harness_seed(), 1);
    for (uint64_t i = 0; i < N; i++) {
        uint64_t x = nfi_draw_bits(key, i);
        uint64_t y = nfi_draw_bits(nfi_draw_key(i, 1), 0);
        for (int b = 0; b < 64; b++) {
            ones_counter[b] += (x >> b) & 1;
            ones_seed[b] += (y >> b) & 1;
        }
    }
    double tol = 6 * sqrt(N / 4.0);
    for (int b = 0; b < 64; b++) {
        check_true(fabs((double)ones_counter[b] - N / 2.0) < tol,
                   "bit %d set in %llu of %d consecutive draws", b,
                   (unsigned long long)ones_counter[b], N);
        check_true(fabs((double)ones_seed[b] - N / 2.0) < tol,
                   "bit %d set in %llu of %d first draws of consecutive "
                   "seeds", b, (unsigned long long)ones_seed[b], N);
    }
}

static void check_unit_doubles(void)
{
    check_double(0x1p-53, nfi_draw_open0(0), "open0(0)");
    check_double(1.0, nfi_draw_open0(~0ULL), "open0(2^64 - 1)");
    check_double(0.0, nfi_draw_closed0(0), "closed0(0)");
    check_double(1.0 - 0x1p-53, nfi_draw_closed0(~0ULL),
                 "closed0(2^64 - 1)");
    check_double(0.5, nfi_draw_closed0(1ULL << 63), "closed0(2^63)");
    check_double(0.5 + 0x1p-53, nfi_draw_open0(1ULL << 63),
                 "open0(2^63)");
    /* The low 11 bits are discarded. */
    check_double(nfi_draw_closed0(0x123456789abcd800ULL),
                 nfi_draw_closed0(0x123456789abcdfffULL),
                 "closed0 ignores the low 11 bits");
}

int main(void)
{
    harness_init("test_draw", 1);
    check_known_answers();
    check_below();
    check_bit_balance();
    check_unit_doubles();
    return harness_finish();
}
