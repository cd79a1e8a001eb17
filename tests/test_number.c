/* Exact reading of numbers written as text (sim/number.h): hexadecimal
 * floats, decimals, powers of two, inf and nan, signs, -0 and blanks;
 * malformed text is refused with the text quoted in the message; and
 * nfi_number_get_mpfr is exact for dyadic numbers and refuses the others
 * (0.1) without touching its output.
 *
 * Why: operands typed by a user (nfi arith, configuration files) must
 * reach the engines as the exact numbers written; 0.1 must stay one tenth
 * until it is rounded once into a format, never pass through binary64. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "number.h"

static const struct {
    const char *text;
    nfi_number_kind kind;
    bool negative;
    const char *value; /* |value| as a rational, for finite numbers */
} good[] = {
    {"0x1.8p-3", NFI_NUMBER_FINITE, false, "3/16"},
    {"0X1P+4", NFI_NUMBER_FINITE, false, "16"},
    {"0x.8", NFI_NUMBER_FINITE, false, "1/2"},
    {"0x10", NFI_NUMBER_FINITE, false, "16"},
    {"0xff.8p1", NFI_NUMBER_FINITE, false, "511"},
    {"0xA.bp0", NFI_NUMBER_FINITE, false, "171/16"},
    {"1.5", NFI_NUMBER_FINITE, false, "3/2"},
    {"-2e-3", NFI_NUMBER_FINITE, true, "1/500"},
    {"6.02e23", NFI_NUMBER_FINITE, false, "602000000000000000000000"},
    {"1e-8", NFI_NUMBER_FINITE, false, "1/100000000"},
    {"0.1", NFI_NUMBER_FINITE, false, "1/10"},
    {".5", NFI_NUMBER_FINITE, false, "1/2"},
    {"5.", NFI_NUMBER_FINITE, false, "5"},
    {"1E3", NFI_NUMBER_FINITE, false, "1000"},
    {"1e+2", NFI_NUMBER_FINITE, false, "100"},
    {"+7", NFI_NUMBER_FINITE, false, "7"},
    {"00012", NFI_NUMBER_FINITE, false, "12"},
    {"0.333", NFI_NUMBER_FINITE, false, "333/1000"},
    {"12.5e-1", NFI_NUMBER_FINITE, false, "5/4"},
    {"2^-9", NFI_NUMBER_FINITE, false, "1/512"},
    {"2^10", NFI_NUMBER_FINITE, false, "1024"},
    {"-2^3", NFI_NUMBER_FINITE, true, "8"},
    {"2^+3", NFI_NUMBER_FINITE, false, "8"},
    {"2^0", NFI_NUMBER_FINITE, false, "1"},
    {"-0", NFI_NUMBER_FINITE, true, "0"},
    {"0", NFI_NUMBER_FINITE, false, "0"},
    {"-0.0", NFI_NUMBER_FINITE, true, "0"},
    {"-0x0p0", NFI_NUMBER_FINITE, true, "0"},
    {"+0", NFI_NUMBER_FINITE, false, "0"},
    {"  1.5  ", NFI_NUMBER_FINITE, false, "3/2"},
    {"\t-2\n", NFI_NUMBER_FINITE, true, "2"},
    {" -0x1p0 ", NFI_NUMBER_FINITE, true, "1"},
    {"inf", NFI_NUMBER_INF, false, NULL},
    {"-inf", NFI_NUMBER_INF, true, NULL},
    {"+inf", NFI_NUMBER_INF, false, NULL},
    {"infinity", NFI_NUMBER_INF, false, NULL},
    {"INF", NFI_NUMBER_INF, false, NULL},
    {"-Infinity", NFI_NUMBER_INF, true, NULL},
    {" inf ", NFI_NUMBER_INF, false, NULL},
    {"nan", NFI_NUMBER_NAN, false, NULL},
    {"NaN", NFI_NUMBER_NAN, false, NULL},
};

static const char *const bad[] = {
    "", "  ", "abc", "1.5.2", "1e", "e5", "0x", "0xg", "0x1p", "0x1.8p-3x",
    "2^", "2^x", "2^3.5", "3^2", "--1", "+-1", "1 2", "1,5", ".", "-", "+",
    "inf1", "nanx", "infinit", "1e5.5", "1e100000001", "2^-999999999",
    "0x1p99999999999", "1..", "0x.", "0x.p1", "- 1", "1e-", "1e+",
};

static void check_good(void)
{
    nfi_number n;
    nfi_number_init(&n);
    mpq_t want;
    mpq_init(want);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        nfi_error err = {""};
        int status = nfi_number_parse(&n, good[i].text, &err);
        if (!check_true(status == 0, "'%s' should parse: %s", good[i].text,
                        err.message))
            continue;
        check_true(n.kind == good[i].kind, "'%s': kind %d, expected %d",
                   good[i].text, (int)n.kind, (int)good[i].kind);
        if (good[i].kind != NFI_NUMBER_NAN)
            check_true(n.negative == good[i].negative, "'%s': sign %d, "
                       "expected %d", good[i].text, n.negative,
                       good[i].negative);
        if (good[i].value != NULL) {
            mpq_set_str(want, good[i].value, 10);
            mpq_canonicalize(want);
            bool ok = mpq_equal(want, n.value) != 0;
            if (!ok)
                gmp_printf("'%s' read as %Qd\n", good[i].text, n.value);
            check_true(ok, "'%s': expected the value %.40s", good[i].text,
                       good[i].value);
        }
    }
    /* The extremes of binary64, against rationals built here. */
    nfi_number_parse(&n, "-0x1p-1074", NULL);
    mpq_set_ui(want, 1, 1);
    mpq_div_2exp(want, want, 1074);
    check_true(n.negative && mpq_equal(want, n.value),
               "'-0x1p-1074' should read as -2^-1074");
    nfi_number_parse(&n, "0x1.fffffffffffffp+1023", NULL);
    mpq_set_d(want, 0x1.fffffffffffffp+1023);
    check_true(!n.negative && mpq_equal(want, n.value),
               "'0x1.fffffffffffffp+1023' should read as DBL_MAX");
    mpq_clear(want);
    nfi_number_clear(&n);
}

static void check_bad(void)
{
    nfi_number n;
    nfi_number_init(&n);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nfi_error err = {""};
        int status = nfi_number_parse(&n, bad[i], &err);
        check_true(status == -1, "'%s' should be refused, got %d", bad[i],
                   status);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        check_true(strstr(err.message, quoted) != NULL, "message for '%s' "
                   "should quote it: \"%s\"", bad[i], err.message);
        check_true(nfi_number_parse(&n, bad[i], NULL) == -1, "'%s' with a "
                   "NULL error pointer", bad[i]);
    }
    nfi_number_clear(&n);
}

/* nfi_number_get_mpfr: exact dyadic values with precision raised as
 * needed; -1 and an untouched output otherwise. */
static void check_get_mpfr(void)
{
    static const struct {
        const char *text;
        const char *hex; /* expected value, NULL when refused */
    } cases[] = {
        {"0x1.8p-3", "0x1.8p-3"},
        {"0.375", "0x1.8p-2"},
        {"-0.375", "-0x1.8p-2"},
        {"2^-9", "0x1p-9"},
        {"2^-99999999", "0x1p-99999999"},
        {"0x1.fffffffffffffffffffffffffffffffp+100",
         "0x1.fffffffffffffffffffffffffffffffp+100"},
        {"123456789012345678901234567890",
         "0x18ee90ff6c373e0ee4e3f0ad2p0"},
        {"1e30", "0xc9f2c9cd04674edea40000000p0"},
        {"-0", "-0"},
        {"inf", "inf"},
        {"-inf", "-inf"},
        {"nan", "nan"},
        {"0.1", NULL},
        {"1e-3", NULL},
        {"-0.2", NULL},
        {"1/3", NULL}, /* not even a number: the parse fails first */
    };
    nfi_number n;
    nfi_number_init(&n);
    mpfr_t x, want;
    mpfr_init2(want, 4096);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (nfi_number_parse(&n, cases[i].text, NULL) != 0) {
            check_true(cases[i].hex == NULL, "'%s' should parse",
                       cases[i].text);
            continue;
        }
        mpfr_init2(x, 7);
        mpfr_set_ui(x, 42, MPFR_RNDN);
        int status = nfi_number_get_mpfr(&n, x);
        if (cases[i].hex == NULL) {
            check_true(status == -1, "'%s' has no finite binary form; "
                       "nfi_number_get_mpfr returned %d", cases[i].text,
                       status);
            check_true(mpfr_get_prec(x) == 7 && mpfr_cmp_ui(x, 42) == 0,
                       "'%s': output changed on refusal", cases[i].text);
        } else {
            check_true(status == 0, "'%s': nfi_number_get_mpfr returned "
                       "%d", cases[i].text, status);
            if (strcmp(cases[i].hex, "-0") == 0)
                mpfr_set_zero(want, -1);
            else
                mpfr_set_str(want, cases[i].hex, 0, MPFR_RNDN);
            bool ok = same_mpfr(want, x);
            if (!ok)
                mpfr_printf("'%s' gave %Ra\n", cases[i].text, x);
            check_true(ok, "'%s': expected %s", cases[i].text,
                       cases[i].hex);
        }
        mpfr_clear(x);
    }
    mpfr_clear(want);
    nfi_number_clear(&n);
}

/* Every binary64 value written with %a reads back exactly, with its
 * sign; every binary64 written with %.17g reads back to a rational that
 * rounds to it. */
static void check_random_round_trip(void)
{
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    nfi_number n;
    nfi_number_init(&n);
    mpfr_t x, y;
    mpfr_inits2(53, x, y, (mpfr_ptr)0);
    char text[64];
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = rng_next(&rng);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        snprintf(text, sizeof text, "%a", d);
        if (!check_true(nfi_number_parse(&n, text, NULL) == 0,
                        "'%s' should parse", text))
            continue;
        mpfr_set_prec(x, 53);
        check_true(nfi_number_get_mpfr(&n, x) == 0, "'%s' is dyadic", text);
        mpfr_set_d(y, d, MPFR_RNDN);
        check_true(same_mpfr(x, y), "'%s' did not read back exactly", text);

        if (fabs(d) < 0x1p-1022)
            continue; /* below, binary64 has fewer than 53 bits */
        snprintf(text, sizeof text, "%.17g", d);
        if (!check_true(nfi_number_parse(&n, text, NULL) == 0,
                        "'%s' should parse", text))
            continue;
        mpfr_set_prec(x, 53);
        mpfr_set_q(x, n.value, MPFR_RNDN);
        if (n.negative)
            mpfr_neg(x, x, MPFR_RNDN);
        check_true(same_mpfr(x, y), "'%s' does not round to %a", text, d);
    }
    mpfr_clears(x, y, (mpfr_ptr)0);
    nfi_number_clear(&n);
}

int main(void)
{
    harness_init("test_number", 1);
    check_good();
    check_bad();
    check_get_mpfr();
    check_random_round_trip();
    return harness_finish();
}
