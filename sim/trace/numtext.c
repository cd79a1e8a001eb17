#include "numtext.h"

#include <locale.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One "C" locale object for the process, made on first use.  Two threads
 * racing here both make one; the loser frees its own. */
static locale_t c_locale(void)
{
    static _Atomic(locale_t) cached = (locale_t)0;
    locale_t loc = atomic_load(&cached);
    if (loc != (locale_t)0)
        return loc;
    locale_t fresh = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (fresh == (locale_t)0)
        return (locale_t)0;
    locale_t expected = (locale_t)0;
    if (!atomic_compare_exchange_strong(&cached, &expected, fresh)) {
        freelocale(fresh);
        return expected;
    }
    return fresh;
}

int nfi_double_text(double x, char *buf)
{
    if (isnan(x))
        return snprintf(buf, NFI_DOUBLE_TEXT_MAX, "nan");
    if (isinf(x))
        return snprintf(buf, NFI_DOUBLE_TEXT_MAX, x < 0 ? "-inf" : "inf");

    /* Without a "C" locale object (out of memory) the process locale is
     * used; it is "C" unless the program called setlocale. */
    locale_t loc = c_locale();
    locale_t old = loc != (locale_t)0 ? uselocale(loc) : (locale_t)0;
    int len = snprintf(buf, NFI_DOUBLE_TEXT_MAX, "%.17g", x);
    if (old != (locale_t)0)
        uselocale(old);
    /* At most 17 digits, a sign, and ".0" fit in the 32 bytes. */
    if (strspn(buf + (buf[0] == '-'), "0123456789") ==
        (size_t)len - (buf[0] == '-')) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    return len;
}

bool nfi_text_double(const char *text, size_t len, double *out)
{
    char small[64];
    char *copy = len < sizeof small ? small : malloc(len + 1);
    if (copy == NULL || len == 0)
        goto fail;
    memcpy(copy, text, len);
    copy[len] = '\0';
    /* strtod skips leading white space; a field " 1" is not a number. */
    if (strchr(" \t\n\v\f\r", copy[0]) != NULL)
        goto fail;

    locale_t loc = c_locale();
    locale_t old = loc != (locale_t)0 ? uselocale(loc) : (locale_t)0;
    char *end;
    double x = strtod(copy, &end);
    if (old != (locale_t)0)
        uselocale(old);
    if (end != copy + len)
        goto fail;
    *out = x;
    if (copy != small)
        free(copy);
    return true;

fail:
    if (copy != small)
        free(copy);
    return false;
}
