/* Format descriptors (sim/format.h): parsing of every name, alias, eXmY
 * and p=,emin=,emax= form with its options; the messages of bad
 * specifications; the exact derived constants against values written
 * here by hand; the count of finite values against hand-derived counts
 * and against an enumeration made from the definition; and spelling
 * read back by the parser.
 *
 * Why: every other module trusts these numbers.  A wrong emax or a wrong
 * largest finite value changes every overflow, and a parser that accepts
 * a misspelled option silently runs a different experiment. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_mpfr.h"
#include "format.h"
#include "harness.h"

struct expected_format {
    const char *spec;
    long p, emin, emax;
    bool subnormals, has_inf;
    int reserved_top;
    nfi_overflow overflow;
    nfi_round round;
};

#define IEEE true, true, 0, NFI_OVERFLOW_INF, NFI_ROUND_RNE

static const struct expected_format good_specs[] = {
    {"binary16", 11, -14, 15, IEEE},
    {"fp16", 11, -14, 15, IEEE},
    {"half", 11, -14, 15, IEEE},
    {"HALF", 11, -14, 15, IEEE},
    {"bfloat16", 8, -126, 127, IEEE},
    {"bf16", 8, -126, 127, IEEE},
    {"BFloat16", 8, -126, 127, IEEE},
    {"tf32", 11, -126, 127, IEEE},
    {"TF32", 11, -126, 127, IEEE},
    {"binary32", 24, -126, 127, IEEE},
    {"fp32", 24, -126, 127, IEEE},
    {"single", 24, -126, 127, IEEE},
    {"Binary32", 24, -126, 127, IEEE},
    {"binary64", 53, -1022, 1023, IEEE},
    {"fp64", 53, -1022, 1023, IEEE},
    {"double", 53, -1022, 1023, IEEE},
    {"DOUBLE", 53, -1022, 1023, IEEE},
    {"binary128", 113, -16382, 16383, IEEE},
    /* OCP E4M3: no infinities, S.1111.111 is NaN. */
    {"e4m3", 4, -6, 8, true, false, 1, NFI_OVERFLOW_INF, NFI_ROUND_RNE},
    {"E4M3", 4, -6, 8, true, false, 1, NFI_OVERFLOW_INF, NFI_ROUND_RNE},
    {"e5m2", 3, -14, 15, IEEE},
    /* eXmY: bias 2^(X-1) - 1, emax = bias, emin = 1 - bias, p = Y + 1. */
    {"e8m23", 24, -126, 127, IEEE},
    {"e5m10", 11, -14, 15, IEEE},
    {"e11m52", 53, -1022, 1023, IEEE},
    {"e8m7", 8, -126, 127, IEEE},
    {"e3m4", 5, -2, 3, IEEE},
    {"e2m5", 6, 0, 1, IEEE},
    {"e6m1", 2, -30, 31, IEEE},
    {"E2M1", 2, 0, 1, IEEE},
    {"e15m112", 113, -16382, 16383, IEEE},
    {"p=24,emin=-126,emax=127", 24, -126, 127, IEEE},
    {"emax=127,p=24,emin=-126", 24, -126, 127, IEEE},
    {"P=11,EMIN=-14,EMAX=15", 11, -14, 15, IEEE},
    {"p=2,emin=0,emax=0", 2, 0, 0, IEEE},
    {"p=4,emin=-6,emax=7", 4, -6, 7, IEEE},
    {"p=1000,emin=-100000,emax=100000", 1000, -100000, 100000, IEEE},
    {"p=20,emin=-126,emax=127,round=rz", 20, -126, 127, true, true, 0,
     NFI_OVERFLOW_INF, NFI_ROUND_RZ},
    {"binary32,subnormals=off", 24, -126, 127, false, true, 0,
     NFI_OVERFLOW_INF, NFI_ROUND_RNE},
    {"binary32,subnormals=on", 24, -126, 127, IEEE},
    {"binary32,Subnormals=OFF", 24, -126, 127, false, true, 0,
     NFI_OVERFLOW_INF, NFI_ROUND_RNE},
    {"bf16,overflow=saturate", 8, -126, 127, true, true, 0,
     NFI_OVERFLOW_SATURATE, NFI_ROUND_RNE},
    {"bf16,overflow=inf", 8, -126, 127, IEEE},
    {"e4m3,overflow=saturate", 4, -6, 8, true, false, 1,
     NFI_OVERFLOW_SATURATE, NFI_ROUND_RNE},
    {"binary16,round=rne", 11, -14, 15, IEEE},
    {"binary16,round=rna", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_RNA},
    {"binary16,round=rz", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_RZ},
    {"binary16,round=ru", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_RU},
    {"binary16,round=rd", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_RD},
    {"binary16,round=sr", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_SR},
    {"binary16,ROUND=SR", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_SR},
    {"binary16,round=nearest", 11, -14, 15, IEEE},
    {"binary16,round=zero", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_RZ},
    {"binary16,round=up", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_RU},
    {"binary16,round=down", 11, -14, 15, true, true, 0, NFI_OVERFLOW_INF,
     NFI_ROUND_RD},
    {"binary16,round=stochastic", 11, -14, 15, true, true, 0,
     NFI_OVERFLOW_INF, NFI_ROUND_SR},
    {"e5m2,subnormals=off,overflow=saturate,round=ru", 3, -14, 15, false,
     true, 0, NFI_OVERFLOW_SATURATE, NFI_ROUND_RU},
    {"p=8,emin=-6,emax=7,overflow=saturate,subnormals=off,round=rd", 8, -6,
     7, false, true, 0, NFI_OVERFLOW_SATURATE, NFI_ROUND_RD},
};

static void check_good_specs(void)
{
    for (size_t i = 0; i < sizeof good_specs / sizeof good_specs[0]; i++) {
        const struct expected_format *x = &good_specs[i];
        nfi_format f;
        nfi_error err = {""};
        int status = nfi_format_parse(x->spec, &f, &err);
        if (!check_true(status == 0, "'%s' should parse, got %d (%s)",
                        x->spec, status, err.message))
            continue;
        check_true(f.p == x->p && f.emin == x->emin && f.emax == x->emax,
                   "'%s': p=%ld emin=%ld emax=%ld, expected %ld %ld %ld",
                   x->spec, f.p, f.emin, f.emax, x->p, x->emin, x->emax);
        check_true(f.subnormals == x->subnormals &&
                   f.has_inf == x->has_inf &&
                   f.reserved_top == x->reserved_top,
                   "'%s': subnormals %d has_inf %d reserved_top %d", x->spec,
                   f.subnormals, f.has_inf, f.reserved_top);
        check_true(f.overflow == x->overflow && f.round == x->round,
                   "'%s': overflow %d round %d, expected %d %d", x->spec,
                   (int)f.overflow, (int)f.round, (int)x->overflow,
                   (int)x->round);
        check_true(nfi_format_validate(&f, NULL) == 0,
                   "'%s': parsed descriptor does not validate", x->spec);
    }
}

/* Bad specifications and a piece of text the message must contain: the
 * offending part, so that the user sees what to change. */
static const struct {
    const char *spec;
    const char *needle;
} bad_specs[] = {
    {"e4m", "e4m"},
    {"p=1,emin=-1,emax=1", "p=1"},
    {"p=24,emin=5,emax=3", "emin=5"},
    {"p=24,emin=5,emax=3", "emax=3"},
    {"binary32,foo=bar", "foo"},
    {"binary32,subnormals=maybe", "maybe"},
    {"", "empty"},
    {"bf16,p=3", "p="},
    {"bf16,emin=-3", "emin="},
    {"binary33", "binary33"},
    {"binary32x", "binary32x"},
    {"p=24,emin=-126", "emax"},
    {"p=24,emax=127", "emin"},
    {"emin=-126,emax=127", "p="},
    {"p=x,emin=-1,emax=1", "p=x"},
    {"p=24,emin=-1.5,emax=1", "emin=-1.5"},
    {"p=,emin=-1,emax=1", "p="},
    {"binary32,overflow=wrap", "wrap"},
    {"binary32,round=up2", "up2"},
    {"binary32,subnormals", "subnormals"},
    {"e1m3", "e1m3"},
    {"e5m0", "e5m0"},
    {"p=24,emin=1,emax=5", "emin=1"},
    {"p=24,emin=-5,emax=-1", "emax=-1"},
    {"p=70000,emin=-1,emax=1", "p=70000"},
    {"p=24,emin=-2000000000000,emax=1", "2000000000000"},
    {"binary32,binary64", "binary64"},
    {"p=99999999999999999999,emin=-1,emax=1", "p=99999999999999999999"},
    {"e99999999999999999999m3", "e99999999999999999999m3"},
    {"e8m23x", "e8m23x"},
    {"e8m99999", "e8m99999"},
    {"binary32,round=", "rounding mode ''"},
    {"=binary32", "=binary32"},
};

static void check_bad_specs(void)
{
    for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; i++) {
        nfi_format f = {77, -77, 77, false, false, 3, NFI_OVERFLOW_SATURATE,
                        NFI_ROUND_RD};
        nfi_format before = f;
        nfi_error err;
        strcpy(err.message, "(untouched)");
        int status = nfi_format_parse(bad_specs[i].spec, &f, &err);
        check_true(status == -1, "bad spec '%s' returned %d, expected -1",
                   bad_specs[i].spec, status);
        check_true(strstr(err.message, bad_specs[i].needle) != NULL,
                   "message for '%s' should name '%s': \"%s\"",
                   bad_specs[i].spec, bad_specs[i].needle, err.message);
        check_true(nfi_format_equal(&f, &before),
                   "bad spec '%s' changed the output descriptor",
                   bad_specs[i].spec);
        /* A NULL error pointer is allowed. */
        check_true(nfi_format_parse(bad_specs[i].spec, &f, NULL) == -1,
                   "bad spec '%s' with a NULL error pointer",
                   bad_specs[i].spec);
    }
    nfi_error err;
    check_true(nfi_format_parse(NULL, &(nfi_format){0}, &err) == -1,
               "a NULL spec should be rejected");
    /* A specification longer than any sensible one is refused, not cut. */
    char long_spec[600] = "binary32";
    while (strlen(long_spec) < sizeof long_spec - 20)
        strcat(long_spec, ",subnormals=on");
    check_true(nfi_format_parse(long_spec, &(nfi_format){0}, &err) == -1 &&
               strstr(err.message, "long") != NULL, "a %zu-character spec: "
               "\"%s\"", strlen(long_spec), err.message);
}

/* Checks an MPFR constant against a hexadecimal literal (exact, parsed by
 * MPFR at ample precision). */
static void check_constant(mpfr_srcptr got, const char *hex, const char *what,
                           const char *spec)
{
    mpfr_t want;
    mpfr_init2(want, 256);
    int inexact = mpfr_set_str(want, hex, 0, MPFR_RNDN);
    check_true(inexact == 0, "test literal %s should be exact", hex);
    bool ok = mpfr_equal_p(want, got) != 0;
    if (!ok)
        mpfr_printf("%s of %s: got %Ra\n", what, spec, got);
    check_true(ok, "%s of %s: expected %s", what, spec, hex);
    mpfr_clear(want);
}

static const struct {
    const char *spec;
    const char *max_finite, *min_normal, *min_positive;
    double max_d, min_positive_d;
} constants[] = {
    {"binary32", "0x1.fffffep+127", "0x1p-126", "0x1p-149",
     0x1.fffffep+127, 0x1p-149},
    {"binary32,subnormals=off", "0x1.fffffep+127", "0x1p-126", "0x1p-126",
     0x1.fffffep+127, 0x1p-126},
    {"e4m3", "448", "0x1p-6", "0x1p-9", 448.0, 0x1p-9},
    {"e4m3,subnormals=off", "448", "0x1p-6", "0x1p-6", 448.0, 0x1p-6},
    {"p=4,emin=-6,emax=7", "240", "0x1p-6", "0x1p-9", 240.0, 0x1p-9},
    {"e5m2", "57344", "0x1p-14", "0x1p-16", 57344.0, 0x1p-16},
    {"bfloat16", "0x1.fep+127", "0x1p-126", "0x1p-133", 0x1.fep+127,
     0x1p-133},
    {"binary16", "65504", "0x1p-14", "0x1p-24", 65504.0, 0x1p-24},
    {"binary16,subnormals=off", "65504", "0x1p-14", "0x1p-14", 65504.0,
     0x1p-14},
    {"tf32", "0x1.ffcp+127", "0x1p-126", "0x1p-136", 0x1.ffcp+127,
     0x1p-136},
    {"binary64", "0x1.fffffffffffffp+1023", "0x1p-1022", "0x1p-1074",
     0x1.fffffffffffffp+1023, 0x1p-1074},
    {"e2m5", "0x1.f8p+1", "1", "0x1p-5", 0x1.f8p+1, 0x1p-5},
    {"e6m1", "0x1.8p+31", "0x1p-30", "0x1p-31", 0x1.8p+31, 0x1p-31},
    {"binary128", "0x1.ffffffffffffffffffffffffffffp+16383", "0x1p-16382",
     "0x1p-16494", 0, 0},
};

static void check_constants(void)
{
    mpfr_t x;
    mpfr_init2(x, 2);
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
        nfi_format f = harness_format(constants[i].spec);
        const char *spec = constants[i].spec;
        nfi_format_max_finite(&f, x);
        check_constant(x, constants[i].max_finite, "largest finite", spec);
        nfi_format_min_normal(&f, x);
        check_constant(x, constants[i].min_normal, "smallest normal", spec);
        nfi_format_min_positive(&f, x);
        check_constant(x, constants[i].min_positive, "smallest positive",
                       spec);
        char buf[64];
        snprintf(buf, sizeof buf, "0x1p%ld", -f.p);
        nfi_format_unit_roundoff(&f, x);
        check_constant(x, buf, "unit roundoff", spec);
        snprintf(buf, sizeof buf, "0x1p%ld", 1 - f.p);
        nfi_format_epsilon(&f, x);
        check_constant(x, buf, "machine epsilon", spec);
        if (nfi_format_fits_binary64(&f)) {
            check_double(constants[i].max_d, nfi_format_max_finite_d(&f),
                         "nfi_format_max_finite_d(%s)", spec);
            check_double(constants[i].min_positive_d,
                         nfi_format_min_positive_d(&f),
                         "nfi_format_min_positive_d(%s)", spec);
        }
    }
    mpfr_clear(x);
}

static void check_fits_binary64(void)
{
    static const struct {
        const char *spec;
        bool fits;
    } cases[] = {
        {"binary64", true},   {"binary32", true},
        {"e4m3", true},       {"binary128", false},
        {"p=54,emin=-1022,emax=1023", false},
        {"p=53,emin=-1023,emax=1023", false},
        {"p=53,emin=-1022,emax=1024", false},
        {"p=2,emin=-1022,emax=1023", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nfi_format f = harness_format(cases[i].spec);
        check_true(nfi_format_fits_binary64(&f) == cases[i].fits,
                   "nfi_format_fits_binary64(%s) should be %d",
                   cases[i].spec, cases[i].fits);
    }
}

/* Counts of finite values (both zeros counted).  By hand:
 *   e4m3: 8 bit patterns per exponent field value; 256 patterns less the
 *         two NaNs S.1111.111 = 254.
 *   e5m2: 2 * (30 binades * 4 + 3 subnormals) + 2 zeros = 248, which is
 *         also 256 less the 8 patterns with exponent field 11111.
 *   binary16: 2^16 - 2 * 2^10 = 63488.  bfloat16: 2^16 - 2 * 2^7 = 65280.
 *   binary32: 2^32 - 2^24.  binary64: 2^64 - 2^53.
 *   Without subnormals the 2 * (2^(p-1) - 1) subnormals go:
 *   binary16: 63488 - 2046 = 61442; e4m3: 254 - 14 = 240.
 *   e2m1 (p=2, emin=0, emax=1): 2 * (2 * 2 + 1) + 2 = 12. */
static const struct {
    const char *spec;
    const char *count;
} counts[] = {
    {"e4m3", "254"},
    {"e5m2", "248"},
    {"binary16", "63488"},
    {"bfloat16", "65280"},
    {"binary32", "4278190080"},
    {"binary64", "18437736874454810624"},
    {"binary16,subnormals=off", "61442"},
    {"e4m3,subnormals=off", "240"},
    {"p=4,emin=-6,emax=7", "240"},
    {"e2m1", "12"},
    {"binary128", "340271982327221393808117546439109771264"},
};

static void check_counts(void)
{
    mpz_t n, want;
    mpz_inits(n, want, NULL);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        nfi_format f = harness_format(counts[i].spec);
        nfi_format_count_finite(&f, n);
        mpz_set_str(want, counts[i].count, 10);
        bool ok = mpz_cmp(n, want) == 0;
        if (!ok)
            gmp_printf("count of finite %s: got %Zd\n", counts[i].spec, n);
        check_true(ok, "count of finite %s: expected %s", counts[i].spec,
                   counts[i].count);
    }
    /* binary128 by its bit patterns: 2^128 - 2 * 2^112. */
    mpz_ui_pow_ui(want, 2, 128);
    mpz_ui_pow_ui(n, 2, 113);
    mpz_sub(want, want, n);
    nfi_format f = harness_format("binary128");
    nfi_format_count_finite(&f, n);
    check_true(mpz_cmp(n, want) == 0, "count of finite binary128 against "
               "2^128 - 2^113");
    mpz_clears(n, want, NULL);
}

/* For every IEEE-like eXmY format of at most 16 bits, with and without
 * subnormals, and for e4m3: the count from the library equals the length
 * of the test's own enumeration; for eXmY with subnormals also the count
 * of bit patterns whose exponent field is not all ones.  The enumeration
 * is checked to be strictly increasing, and its extremes against the
 * derived constants; for the formats of at most 13 bits, every value is a
 * value of the format for the MPFR engine and every midpoint of two
 * neighbours is not (the larger formats would cost seconds). */
static void check_enumeration(const nfi_format *f, const char *spec,
                              long pattern_count, bool membership)
{
    size_t n;
    double *v = format_values(f, &n);
    size_t finite = 0;
    for (size_t i = 0; i < n; i++)
        finite += isfinite(v[i]) != 0;
    mpz_t count;
    mpz_init(count);
    nfi_format_count_finite(f, count);
    long counted = mpz_fits_slong_p(count) ? mpz_get_si(count) : -1;
    check_true(counted >= 0 && (size_t)counted == finite, "%s: enumeration "
               "has %zu finite values, nfi_format_count_finite says %ld",
               spec, finite, counted);
    if (pattern_count >= 0)
        check_true(counted == pattern_count, "%s: %ld finite bit patterns, "
                   "nfi_format_count_finite says %ld", spec, pattern_count,
                   counted);
    mpz_clear(count);

    bool increasing = true;
    for (size_t i = 1; i + 1 < n; i++) {
        if (!(v[i - 1] < v[i] || (v[i - 1] == 0.0 && v[i] == 0.0)))
            increasing = false;
    }
    check_true(increasing, "%s: enumeration is not increasing", spec);

    double largest = v[n - 2 - (f->has_inf ? 1 : 0)];
    check_double(nfi_format_max_finite_d(f), largest,
                 "%s: largest enumerated value", spec);
    double smallest_positive = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (v[i] > 0 && v[i] < smallest_positive)
            smallest_positive = v[i];
    }
    check_double(nfi_format_min_positive_d(f), smallest_positive,
                 "%s: smallest positive enumerated value", spec);

    if (!membership)
        goto done;
    mpfr_t x;
    mpfr_init2(x, 64);
    size_t not_in = 0, mid_in = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        mpfr_set_d(x, v[i], MPFR_RNDN);
        not_in += nfi_mpfr_in_format(x, f) == 0;
        if (i + 2 < n && isfinite(v[i]) && isfinite(v[i + 1]) &&
            v[i] != v[i + 1]) {
            mpfr_set_d(x, v[i] / 2 + v[i + 1] / 2, MPFR_RNDN);
            mid_in += nfi_mpfr_in_format(x, f) != 0;
        }
    }
    check_true(not_in == 0, "%s: %zu enumerated values not in the format",
               spec, not_in);
    check_true(mid_in == 0, "%s: %zu midpoints of neighbours in the format",
               spec, mid_in);
    mpfr_set_inf(x, -1);
    check_true(nfi_mpfr_in_format(x, f) == f->has_inf, "%s: -inf is%s a "
               "value of the format", spec, f->has_inf ? " not" : "");
    mpfr_set_nan(x);
    check_true(nfi_mpfr_in_format(x, f) == 1, "%s: NaN is a value of every "
               "format", spec);
    /* Just beyond the largest finite value. */
    mpfr_set_d(x, largest, MPFR_RNDN);
    mpfr_nextabove(x);
    check_true(nfi_mpfr_in_format(x, f) == 0, "%s: a value above the "
               "largest finite is in the format", spec);
    mpfr_clear(x);
done:
    free(v);
}

static void check_enumerations(void)
{
    char spec[64];
    for (int x = 2; x <= 8; x++) {
        for (int y = 1; x + y <= 15; y++) {
            for (int sub = 0; sub < 2; sub++) {
                snprintf(spec, sizeof spec, "e%dm%d%s", x, y,
                         sub ? "" : ",subnormals=off");
                nfi_format f = harness_format(spec);
                if (f.reserved_top != 0)
                    continue; /* e4m3 is the OCP format, done below */
                long patterns = sub ? 2 * ((1L << x) - 1) * (1L << y) : -1;
                check_enumeration(&f, spec, patterns, x + y <= 12);
            }
        }
    }
    nfi_format f = harness_format("e4m3");
    check_enumeration(&f, "e4m3", 256 - 2, true);
    f = harness_format("e4m3,subnormals=off");
    check_enumeration(&f, "e4m3,subnormals=off", -1, true);
}

/* Spelling: the name where one matches, otherwise p=,emin=,emax=; read
 * back by the parser to an equal descriptor. */
static void check_round_trip(const nfi_format *f)
{
    char buf[200];
    int len = nfi_format_spell(f, buf, sizeof buf);
    if (!check_true(len > 0 && (size_t)len < sizeof buf,
                    "nfi_format_spell wanted %d characters", len))
        return;
    check_true(strlen(buf) == (size_t)len, "spelled length %d for '%s'", len,
               buf);
    nfi_format back;
    nfi_error err = {""};
    if (!check_true(nfi_format_parse(buf, &back, &err) == 0,
                    "spelled '%s' does not parse: %s", buf, err.message))
        return;
    check_true(nfi_format_equal(f, &back), "'%s' does not read back to the "
               "descriptor it came from (p=%ld emin=%ld emax=%ld)", buf,
               f->p, f->emin, f->emax);
    /* snprintf semantics: a short buffer gets a terminated prefix and the
     * same wanted length. */
    char small[8];
    memset(small, 'x', sizeof small);
    int len2 = nfi_format_spell(f, small, sizeof small);
    bool fits = (size_t)len < sizeof small;
    check_true(len2 == len && (fits ? strcmp(small, buf) == 0 :
               small[sizeof small - 1] == '\0' &&
               strncmp(small, buf, sizeof small - 1) == 0),
               "short-buffer spelling of '%s'", buf);
}

static void check_spelling(void)
{
    static const struct {
        const char *spec, *spelled;
    } names[] = {
        {"fp16", "binary16"},
        {"half", "binary16"},
        {"bf16", "bfloat16"},
        {"single", "binary32"},
        {"e8m23", "binary32"},
        {"double", "binary64"},
        {"e4m3", "e4m3"},
        {"E5M2", "e5m2"},
        {"p=4,emin=-6,emax=7", "p=4,emin=-6,emax=7"},
        {"binary32,round=sr", "binary32,round=sr"},
        {"binary32,round=rne", "binary32"},
        {"e5m2,overflow=saturate,subnormals=off",
         "e5m2,subnormals=off,overflow=saturate"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        nfi_format f = harness_format(names[i].spec);
        char buf[200];
        nfi_format_spell(&f, buf, sizeof buf);
        check_true(strcmp(buf, names[i].spelled) == 0, "'%s' spelled '%s', "
                   "expected '%s'", names[i].spec, buf, names[i].spelled);
    }
    for (size_t i = 0; i < sizeof good_specs / sizeof good_specs[0]; i++) {
        nfi_format f = harness_format(good_specs[i].spec);
        check_round_trip(&f);
    }
    /* Random descriptors of every shape the parser can produce. */
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    for (int i = 0; i < 3000; i++) {
        nfi_format f;
        f.p = rng_range(&rng, NFI_PREC_MIN, i % 10 == 0 ? NFI_PREC_MAX : 80);
        long range = i % 7 == 0 ? NFI_EXP_LIMIT : 20000;
        f.emin = -rng_range(&rng, 0, range);
        f.emax = rng_range(&rng, 0, range);
        f.subnormals = rng_below(&rng, 2);
        f.has_inf = true;
        f.reserved_top = 0;
        f.overflow = rng_below(&rng, 2) ? NFI_OVERFLOW_INF
                                        : NFI_OVERFLOW_SATURATE;
        f.round = (nfi_round)rng_below(&rng, NFI_ROUND_COUNT);
        check_round_trip(&f);
    }
    /* The named formats with every combination of options. */
    static const char *const bases[] = {"binary16", "bf16", "tf32",
                                        "binary32", "binary64", "binary128",
                                        "e4m3", "e5m2", "e3m4"};
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        for (int mask = 0; mask < 4 * NFI_ROUND_COUNT; mask++) {
            nfi_format f = harness_format(bases[b]);
            f.subnormals = mask & 1;
            f.overflow = mask & 2 ? NFI_OVERFLOW_SATURATE : NFI_OVERFLOW_INF;
            f.round = (nfi_round)(mask / 4);
            check_round_trip(&f);
        }
    }
}

static void check_round_names(void)
{
    for (int m = 0; m < NFI_ROUND_COUNT; m++) {
        nfi_round back = (nfi_round)-1;
        const char *name = nfi_round_name((nfi_round)m);
        check_true(nfi_round_parse(name, &back, NULL) == 0 && (int)back == m,
                   "round name '%s' does not read back to %d", name, m);
    }
    nfi_error err;
    nfi_round out = NFI_ROUND_RU;
    check_true(nfi_round_parse("sideways", &out, &err) == -1 &&
               strstr(err.message, "sideways") != NULL &&
               out == NFI_ROUND_RU,
               "bad rounding mode name: \"%s\"", err.message);
}

/* Hand-built descriptors that break an invariant. */
static void check_validate(void)
{
    nfi_format good = harness_format("binary32");
    nfi_format f = good;
    nfi_error err;
    check_true(nfi_format_validate(&f, &err) == 0, "binary32 validates");
    f.p = 1;
    check_true(nfi_format_validate(&f, &err) == -1, "p=1 should not "
               "validate");
    f = good;
    f.emin = 3;
    f.emax = 2;
    check_true(nfi_format_validate(&f, &err) == -1, "emin > emax should not "
               "validate");
    f = good;
    f.reserved_top = 1 << 23;
    check_true(nfi_format_validate(&f, &err) == -1, "reserved_top taking the "
               "whole top binade should not validate");
    f = good;
    f.round = (nfi_round)NFI_ROUND_COUNT;
    check_true(nfi_format_validate(&f, &err) == -1, "an invalid rounding "
               "mode should not validate");
}

int main(void)
{
    harness_init("test_format", 1);
    check_good_specs();
    check_bad_specs();
    check_constants();
    check_fits_binary64();
    check_counts();
    check_enumerations();
    check_spelling();
    check_round_names();
    check_validate();
    return harness_finish();
}
