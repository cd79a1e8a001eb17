/* nfi tests: the small harness every test program shares.
 *
 * A test program calls harness_init with its name and a fixed default
 * seed (the environment variable NFI_TEST_SEED overrides it), makes its
 * checks through the check_* functions, and returns harness_finish()
 * from main.  Every check is counted; a failing check prints what is
 * needed to replay it (the seed, and for an operation the format, the
 * mode, the operation, the operands in %a and the expected and obtained
 * results).  Printing stops after HARNESS_MAX_PRINTED failures (or the
 * number in the environment variable NFI_TEST_PRINT_LIMIT), counting
 * goes on.  harness_finish prints one line
 *     test_xxx: N checks, F failures (seed S)
 * and returns 1 when a check failed or when nothing was checked (a test
 * that asserts nothing is a defect), 0 otherwise.
 *
 * Comparisons are bit for bit and NaN-aware: two NaNs are equal (any
 * payload, any sign), every other pair of doubles is equal only when the
 * 64-bit patterns are, so -0 differs from +0. */
#ifndef NFI_TEST_HARNESS_H
#define NFI_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gmp.h>
#include <mpfr.h>

#include "engine_fast.h"
#include "format.h"
#include "round.h"

#define HARNESS_MAX_PRINTED 20

/* Starts a test program; the seed is default_seed unless NFI_TEST_SEED
 * is set (decimal or 0x-hexadecimal). */
void harness_init(const char *name, uint64_t default_seed);
uint64_t harness_seed(void);

/* Prints the summary line; returns the exit status for main. */
int harness_finish(void);

/* Counts of checks and failures so far. */
uint64_t harness_checks(void);
uint64_t harness_failures(void);

/* Seconds since harness_init (monotonic clock). */
double harness_elapsed(void);

/* A plain check: counts it and, when ok is false, prints the message
 * (printf-style) with the seed.  Returns ok. */
bool check_true(bool ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Bit-for-bit, NaN-aware equality of doubles and of MPFR numbers (for
 * MPFR: equal values and equal signs, whatever the precisions). */
bool same_double(double a, double b);
bool same_mpfr(mpfr_srcptr a, mpfr_srcptr b);

/* Checks got == expected (same_double) for op applied to the first
 * nfi_op_arity(op) entries of operands, in format f and mode; label says
 * which engines or which property are compared. */
bool check_op(const char *label, const nfi_format *f, nfi_round mode,
              nfi_op op, const double *operands, double expected,
              double got);

/* The same for MPFR operands and results. */
bool check_op_mpfr(const char *label, const nfi_format *f, nfi_round mode,
                   nfi_op op, mpfr_srcptr *operands, mpfr_srcptr expected,
                   mpfr_srcptr got);

/* Runs op(a, b, c) on the fast engine ctx and on the MPFR engine
 * (nfi_mpfr_op_d) with the same stochastic bits, those of the index the
 * context used, and checks in one check that the results agree and that
 * the context took one stochastic index if and only if the mode is SR and
 * the operation rounds (neg, abs, min and max never do).  Returns the
 * MPFR result. */
double check_fast_vs_mpfr(nfi_fast *ctx, nfi_op op, double a, double b,
                          double c);

/* Checks two doubles with a free-form description of what they are. */
bool check_double(double expected, double got, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A format from a specification the test knows to be valid (a failure to
 * parse is a test failure and ends the program). */
nfi_format harness_format(const char *spec);

/* Random numbers for the tests (xoshiro256**, seeded through SplitMix64
 * from the test seed and a stream number, so that every part of a test
 * can have its own reproducible stream). */
typedef struct test_rng {
    uint64_t s[4];
} test_rng;

void rng_init(test_rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(test_rng *r);
/* Uniform on [0, n), n > 0. */
uint64_t rng_below(test_rng *r, uint64_t n);
/* Uniform on [lo, hi] for integers. */
long rng_range(test_rng *r, long lo, long hi);
/* Uniform double on [0, 1) with 53 random bits. */
double rng_unit(test_rng *r);

/* Every value of a format that fits binary64, built from the definition
 * in sim/format.h (not from the library): both zeros, the subnormals when
 * the format has them, the normals less the reserved top significands,
 * both signs, the infinities when the format has them, and one NaN last.
 * Returns a malloc'ed array sorted by value (-inf first, NaN last) and
 * its length in *n. */
double *format_values(const nfi_format *f, size_t *n);

/* A format value built from an integer significand and exponent:
 * m * 2^e, exact (the caller keeps m below 2^53 and the result in
 * binary64's range). */
double exact_scaled(uint64_t m, int e);

/* x truncated toward zero onto f's grid (f fits binary64, x finite, |x|
 * below 2^(emax+1)); subnormals off gives 0 below 2^emin.  The test's own
 * rounding, used to make operands, never as an expected result. */
double truncate_to_format(const nfi_format *f, double x);

/* The grid step of f at the magnitude of the finite value x. */
double format_ulp(const nfi_format *f, double x);

#endif
