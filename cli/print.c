/* nfi: printing format values. */
#include <math.h>
#include <stdio.h>

#include "cli.h"

void nfi_cli_format_value(char *buf, size_t size, mpfr_srcptr x,
                          const nfi_format *f)
{
    if (mpfr_nan_p(x)) {
        snprintf(buf, size, "nan");
    } else if (mpfr_inf_p(x)) {
        snprintf(buf, size, "%sinf", mpfr_sgn(x) < 0 ? "-" : "");
    } else if (nfi_format_fits_binary64(f) && mpfr_get_prec(x) <= 53) {
        snprintf(buf, size, "%a", mpfr_get_d(x, MPFR_RNDN));
    } else if (mpfr_zero_p(x)) {
        snprintf(buf, size, "%s0x0p+0", mpfr_signbit(x) ? "-" : "");
    } else {
        mpfr_snprintf(buf, size, "%Ra", x);
    }
}

void nfi_cli_print_value(FILE *out, mpfr_srcptr x, const nfi_format *f)
{
    char buf[4096];
    nfi_cli_format_value(buf, sizeof buf, x, f);
    fputs(buf, out);
}
