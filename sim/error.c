#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int nfi_error_set(nfi_error *err, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}
