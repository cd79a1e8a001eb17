/* nfi command-line front end: shared declarations.  Only the front end
 * prints and exits; everything it computes comes from the library. */
#ifndef NFI_CLI_H
#define NFI_CLI_H

#include <stdio.h>

#include <mpfr.h>

#include "format.h"

int nfi_cmd_format(int argc, char **argv);
int nfi_cmd_arith(int argc, char **argv);
int nfi_cmd_demo(int argc, char **argv);

/* Writes a format value: C99 %a of the binary64 value for formats inside
 * binary64 (exact), MPFR's hexadecimal form otherwise; NaN as "nan",
 * infinities as "inf" and "-inf". */
void nfi_cli_print_value(FILE *out, mpfr_srcptr x, const nfi_format *f);

/* Formats a value as text the same way into buf. */
void nfi_cli_format_value(char *buf, size_t size, mpfr_srcptr x,
                          const nfi_format *f);

#endif
