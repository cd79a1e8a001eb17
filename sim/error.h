/* nfi: error reports returned by the library.
 *
 * The library never prints and never exits.  A function that can fail
 * takes an `nfi_error *` (which may be NULL), fills it with one sentence
 * naming the offending input and what would be valid, and returns a
 * negative status.  Only the command-line front end prints these. */
#ifndef NFI_ERROR_H
#define NFI_ERROR_H

#define NFI_ERROR_MAX 512

typedef struct nfi_error {
    char message[NFI_ERROR_MAX];
} nfi_error;

/* Formats a message into err (if err is not NULL) and returns -1, so that
 * callers can write `return nfi_error_set(err, "...", ...);`. */
int nfi_error_set(nfi_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
