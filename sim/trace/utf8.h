/* nfi trace: UTF-8 sequences, as JSON text must hold them (RFC 8259 and
 * Unicode 15, table 3-7: no overlong forms, no surrogates, nothing above
 * U+10FFFF). */
#ifndef NFI_TRACE_UTF8_H
#define NFI_TRACE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1 to 4) of the well-formed UTF-8 sequence that starts
 * s[0, n), with its code point in *cp; 0 when the bytes there are not
 * one (a stray continuation byte, an overlong form, a surrogate, a value
 * above U+10FFFF, a sequence cut short by n).  n must be at least 1. */
size_t nfi_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Writes the Unicode scalar value cp (not a surrogate, at most U+10FFFF)
 * as UTF-8 into out (room for 4 bytes); returns the length. */
size_t nfi_utf8_encode(uint32_t cp, unsigned char *out);

#endif
