/* nfi: printing format values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* x (finite, non-zero) as a normalised C99-style hexadecimal float,
 * 0x1.<hex digits>p<exponent>, exact at any precision.  MPFR's %Ra may
 * start with any hexadecimal digit, so print x / 2^e with x in [2^e,
 * 2^(e+1)), which MPFR writes as 0x1.<digits>p+0, and put e back. */
static void format_hex(char *buf, size_t size, mpfr_srcptr x)
{
    mpfr_exp_t e = mpfr_get_exp(x) - 1;
    mpfr_t y;
    mpfr_init2(y, mpfr_get_prec(x));
    mpfr_mul_2si(y, x, -e, MPFR_RNDN); /* exact: a power of two */
    mpfr_snprintf(buf, size, "%Ra", y);
    mpfr_clear(y);
    char *p = strrchr(buf, 'p');
    if (p != NULL)
        snprintf(p, size - (size_t)(p - buf), "p%+ld", (long)e);
}

void nfi_cli_format_value(char *buf, size_t size, mpfr_srcptr x,
                          const nfi_format *f)
{
    if (mpfr_nan_p(x)) {
        snprintf(buf, size, "nan");
    } else if (mpfr_inf_p(x)) {
        snprintf(buf, size, "%sinf", mpfr_sgn(x) < 0 ? "-" : "");
    } else if (mpfr_zero_p(x)) {
        snprintf(buf, size, "%s0x0p+0", mpfr_signbit(x) ? "-" : "");
    } else if (nfi_format_fits_binary64(f) && mpfr_get_prec(x) <= 53) {
        /* C's %a of the binary64 value, exact; glibc writes binary64
         * subnormals as 0x0.<digits>p-1022. */
        snprintf(buf, size, "%a", mpfr_get_d(x, MPFR_RNDN));
    } else {
        format_hex(buf, size, x);
    }
}
