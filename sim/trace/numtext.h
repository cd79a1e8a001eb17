/* nfi trace: numbers as text, independent of the program's locale.
 *
 * JSON and CSV need '.' as the decimal point whatever LC_NUMERIC the
 * embedding program chose with setlocale; these functions format and
 * parse in the "C" locale for the calling thread only, and leave the
 * program's locale as it was. */
#ifndef NFI_TRACE_NUMTEXT_H
#define NFI_TRACE_NUMTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Room for any output of nfi_double_text, terminator included. */
#define NFI_DOUBLE_TEXT_MAX 32

/* Writes x into buf (NFI_DOUBLE_TEXT_MAX bytes) as "%.17g", which reads
 * back (strtod, Python float, NumPy, pandas) to the same binary64 value,
 * with ".0" appended when "%.17g" gives only digits (100.0 as "100.0",
 * -0.0 as "-0.0"): readers that tell integers from reals, such as
 * Python's json module and pandas' type inference, then read a double as
 * a double, and -0 keeps its sign.  A NaN is written "nan" (its sign and
 * payload are not kept), the infinities "inf" and "-inf".  Returns the
 * length written. */
int nfi_double_text(double x, char *buf);

/* Reads the whole of text[0, len) as a number in the syntax of strtod in
 * the "C" locale (decimal or hexadecimal, "nan", "inf", "infinity", any
 * case); the result is correctly rounded.  Returns false, leaving *out
 * alone, when text is empty, has leading white space or does not end
 * where the number does. */
bool nfi_text_double(const char *text, size_t len, double *out);

#endif
