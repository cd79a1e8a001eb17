/* nfi: exact number parsing.  See number.h. */
#include "number.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FORMS "numbers look like 1.5, -2e-3, 0x1.8p-3, 2^-9, inf or nan"

void nfi_number_init(nfi_number *n)
{
    n->kind = NFI_NUMBER_FINITE;
    n->negative = false;
    mpq_init(n->value);
}

void nfi_number_clear(nfi_number *n)
{
    mpq_clear(n->value);
}

/* Reads an optionally signed decimal exponent; returns 0 or -1 (and
 * sets *too_large when it is a number beyond +-EXPONENT_LIMIT). */
#define EXPONENT_LIMIT 100000000L

static int read_exponent(const char **s, long *out, bool *too_large)
{
    char *end;
    if (!isdigit((unsigned char)**s) &&
        !((**s == '+' || **s == '-') && isdigit((unsigned char)(*s)[1])))
        return -1;
    errno = 0;
    long v = strtol(*s, &end, 10);
    if (errno != 0 || v > EXPONENT_LIMIT || v < -EXPONENT_LIMIT) {
        *too_large = true;
        return -1;
    }
    *s = end;
    *out = v;
    return 0;
}

/* value = digits * base^scale, base 2 or 10. */
static void set_scaled(mpq_t value, const mpz_t digits, long scale,
                       int base)
{
    mpz_t power;
    mpz_init(power);
    mpq_set_z(value, digits);
    if (base == 2) {
        if (scale >= 0)
            mpq_mul_2exp(value, value, (unsigned long)scale);
        else
            mpq_div_2exp(value, value, (unsigned long)-scale);
    } else {
        mpz_ui_pow_ui(power, 10, (unsigned long)labs(scale));
        mpq_t p;
        mpq_init(p);
        mpq_set_z(p, power);
        if (scale >= 0)
            mpq_mul(value, value, p);
        else
            mpq_div(value, value, p);
        mpq_clear(p);
    }
    mpq_canonicalize(value);
    mpz_clear(power);
}

int nfi_number_parse(nfi_number *n, const char *text, nfi_error *err)
{
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    n->negative = false;
    n->kind = NFI_NUMBER_FINITE;
    if (*s == '+' || *s == '-')
        n->negative = *s++ == '-';

    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0)
        return nfi_error_set(err, "'%s' is not a number: %s", text, FORMS);
    if ((len == 3 && strncasecmp(s, "inf", 3) == 0) ||
        (len == 8 && strncasecmp(s, "infinity", 8) == 0)) {
        n->kind = NFI_NUMBER_INF;
        return 0;
    }
    if (len == 3 && strncasecmp(s, "nan", 3) == 0) {
        n->kind = NFI_NUMBER_NAN;
        return 0;
    }

    const char *end = s + len;
    mpz_t digits;
    mpz_init(digits);
    long scale = 0, exponent = 0;
    int base = 10;
    int ndigits = 0;
    bool ok = true;

    bool too_large = false;
    if (s[0] == '2' && s[1] == '^') {
        const char *p = s + 2;
        ok = read_exponent(&p, &exponent, &too_large) == 0 && p == end;
        mpz_set_ui(digits, 1);
        base = 2;
        ndigits = 1;
    } else {
        /* Digits are gathered into one string and converted by GMP at
         * once (a digit-by-digit product would take quadratic time on
         * long inputs). */
        bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        const char *p = hex ? s + 2 : s;
        char *digit_text = malloc((size_t)(end - p) + 1);
        size_t used = 0;
        bool point = false;
        base = hex ? 2 : 10;
        if (digit_text == NULL) {
            mpz_clear(digits);
            return nfi_error_set(err, "out of memory reading a number of "
                                 "%zu characters", len);
        }
        for (; p < end; p++) {
            if (*p == '.' && !point) {
                point = true;
            } else if (hex ? isxdigit((unsigned char)*p)
                           : isdigit((unsigned char)*p)) {
                digit_text[used++] = *p;
                ndigits++;
                if (point)
                    scale -= hex ? 4 : 1;
            } else {
                break;
            }
        }
        digit_text[used] = '\0';
        if (used > 0)
            mpz_set_str(digits, digit_text, hex ? 16 : 10);
        free(digit_text);
        if (p < end && (hex ? (*p == 'p' || *p == 'P')
                            : (*p == 'e' || *p == 'E'))) {
            p++;
            ok = read_exponent(&p, &exponent, &too_large) == 0;
        }
        ok = ok && p == end && ndigits > 0;
    }
    if (!ok) {
        mpz_clear(digits);
        if (too_large)
            return nfi_error_set(err, "'%s': the exponent is beyond the "
                                 "+-%ld nfi reads; write the number with a "
                                 "smaller exponent", text, EXPONENT_LIMIT);
        return nfi_error_set(err, "'%s' is not a number: %s", text, FORMS);
    }
    set_scaled(n->value, digits, scale + exponent, base);
    mpz_clear(digits);
    return 0;
}

int nfi_number_get_mpfr(const nfi_number *n, mpfr_t x)
{
    if (n->kind == NFI_NUMBER_NAN) {
        mpfr_set_nan(x);
        return 0;
    }
    if (n->kind == NFI_NUMBER_INF) {
        mpfr_set_inf(x, n->negative ? -1 : 1);
        return 0;
    }
    mpz_srcptr den = mpq_denref(n->value);
    if (mpz_popcount(den) != 1)
        return -1;
    mpfr_exp_t shift = (mpfr_exp_t)mpz_scan1(den, 0);
    size_t bits = mpz_sizeinbase(mpq_numref(n->value), 2);
    if (bits < 2)
        bits = 2;
    mpfr_set_prec(x, (mpfr_prec_t)bits);
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    mpfr_set_z_2exp(x, mpq_numref(n->value), -shift, MPFR_RNDN);
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
    if (n->negative)
        mpfr_neg(x, x, MPFR_RNDN);
    return 0;
}
