#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "numtext.h"
#include "utf8.h"

/* An open object or array. */
typedef struct open_container {
    char kind;      /* '{' or '[' */
    size_t count;   /* members or elements so far */
} open_container;

struct nfi_json_writer {
    char *text;
    size_t len, cap;
    open_container *stack;
    size_t depth, stack_cap;
    bool key_waiting;   /* in an object: a key was written, its value not */
    bool done;          /* the top-level value is complete */
    bool failed;
    nfi_error first;
};

nfi_json_writer *nfi_json_writer_new(void)
{
    return calloc(1, sizeof(nfi_json_writer));
}

void nfi_json_writer_free(nfi_json_writer *w)
{
    if (w == NULL)
        return;
    free(w->text);
    free(w->stack);
    free(w);
}

__attribute__((format(printf, 2, 3)))
static int fail(nfi_json_writer *w, const char *fmt, ...)
{
    if (!w->failed) {
        char what[NFI_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        nfi_error_set(&w->first, "JSON writer: %s", what);
        w->failed = true;
    }
    return -1;
}

static int reserve(nfi_json_writer *w, size_t more)
{
    if (w->cap - w->len > more)
        return 0;
    size_t cap = w->cap > 0 ? w->cap : 256;
    while (cap - w->len <= more) {
        if (cap > SIZE_MAX / 2)
            return fail(w, "the document outgrew the address space");
        cap *= 2;
    }
    char *text = realloc(w->text, cap);
    if (text == NULL)
        return fail(w, "out of memory for a document of %zu bytes", cap);
    w->text = text;
    w->cap = cap;
    return 0;
}

/* Appends n bytes and keeps the text NUL-terminated. */
static int put(nfi_json_writer *w, const char *s, size_t n)
{
    if (reserve(w, n) != 0)
        return -1;
    memcpy(w->text + w->len, s, n);
    w->len += n;
    w->text[w->len] = '\0';
    return 0;
}

static int put_str(nfi_json_writer *w, const char *s)
{
    return put(w, s, strlen(s));
}

static int newline_indent(nfi_json_writer *w, size_t depth)
{
    if (reserve(w, 1 + 2 * depth) != 0)
        return -1;
    w->text[w->len++] = '\n';
    memset(w->text + w->len, ' ', 2 * depth);
    w->len += 2 * depth;
    w->text[w->len] = '\0';
    return 0;
}

/* Checks that a value may come now and writes what precedes it. */
static int before_value(nfi_json_writer *w, const char *what)
{
    if (w->failed)
        return -1;
    if (w->depth == 0) {
        if (w->done)
            return fail(w, "%s after the end of the document; a document "
                        "holds one top-level value", what);
        return 0;
    }
    open_container *top = &w->stack[w->depth - 1];
    if (top->kind == '{') {
        if (!w->key_waiting)
            return fail(w, "%s where an object needs a member name; call "
                        "nfi_json_key first", what);
        w->key_waiting = false;
        return 0;
    }
    if (top->count > 0 && put(w, ",", 1) != 0)
        return -1;
    top->count++;
    return newline_indent(w, w->depth);
}

static int after_value(nfi_json_writer *w)
{
    if (w->depth == 0) {
        w->done = true;
        return put(w, "\n", 1);
    }
    return 0;
}

static int begin(nfi_json_writer *w, char kind)
{
    if (before_value(w, kind == '{' ? "an object" : "an array") != 0)
        return -1;
    if (w->depth == w->stack_cap) {
        size_t cap = w->stack_cap > 0 ? 2 * w->stack_cap : 16;
        open_container *stack = realloc(w->stack, cap * sizeof *stack);
        if (stack == NULL)
            return fail(w, "out of memory for nesting %zu deep", cap);
        w->stack = stack;
        w->stack_cap = cap;
    }
    w->stack[w->depth++] = (open_container){kind, 0};
    return put(w, kind == '{' ? "{" : "[", 1);
}

static int end(nfi_json_writer *w, char kind)
{
    const char *name = kind == '{' ? "end of an object" : "end of an array";
    if (w->failed)
        return -1;
    if (w->depth == 0 || w->stack[w->depth - 1].kind != kind)
        return fail(w, "%s where %s is open", name, w->depth == 0 ? "nothing"
                    : w->stack[w->depth - 1].kind == '{' ? "an object"
                    : "an array");
    if (w->key_waiting)
        return fail(w, "%s right after a member name; the member needs a "
                    "value", name);
    size_t count = w->stack[--w->depth].count;
    if (count > 0 && newline_indent(w, w->depth) != 0)
        return -1;
    if (put(w, kind == '{' ? "}" : "]", 1) != 0)
        return -1;
    return after_value(w);
}

int nfi_json_begin_object(nfi_json_writer *w)
{
    return begin(w, '{');
}

int nfi_json_end_object(nfi_json_writer *w)
{
    return end(w, '{');
}

int nfi_json_begin_array(nfi_json_writer *w)
{
    return begin(w, '[');
}

int nfi_json_end_array(nfi_json_writer *w)
{
    return end(w, '[');
}

/* Writes s[0, len) as a JSON string literal. */
static int put_quoted(nfi_json_writer *w, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (put(w, "\"", 1) != 0)
        return -1;
    size_t i = 0;
    while (i < len) {
        /* Copy the longest run that needs no escape in one go. */
        size_t run = i;
        while (run < len && u[run] >= 0x20 && u[run] < 0x80 &&
               u[run] != '"' && u[run] != '\\')
            run++;
        if (run > i && put(w, s + i, run - i) != 0)
            return -1;
        i = run;
        if (i == len)
            break;

        unsigned char c = u[i];
        char escape[8];
        const char *short_form = NULL;
        switch (c) {
        case '"': short_form = "\\\""; break;
        case '\\': short_form = "\\\\"; break;
        case '\b': short_form = "\\b"; break;
        case '\f': short_form = "\\f"; break;
        case '\n': short_form = "\\n"; break;
        case '\r': short_form = "\\r"; break;
        case '\t': short_form = "\\t"; break;
        default: break;
        }
        if (short_form != NULL) {
            if (put_str(w, short_form) != 0)
                return -1;
            i++;
        } else if (c < 0x20) {
            snprintf(escape, sizeof escape, "\\u%04x", c);
            if (put_str(w, escape) != 0)
                return -1;
            i++;
        } else {
            uint32_t cp;
            size_t n = nfi_utf8_decode(u + i, len - i, &cp);
            if (n == 0)
                return fail(w, "the string \"%.40s\" is not valid UTF-8 at "
                            "byte %zu (0x%02x); give UTF-8 text", s, i, c);
            if (put(w, s + i, n) != 0)
                return -1;
            i += n;
        }
    }
    return put(w, "\"", 1);
}

int nfi_json_key(nfi_json_writer *w, const char *key)
{
    if (w->failed)
        return -1;
    if (key == NULL)
        return fail(w, "a NULL member name");
    if (w->depth == 0 || w->stack[w->depth - 1].kind != '{')
        return fail(w, "the member name \"%.40s\" outside an object", key);
    if (w->key_waiting)
        return fail(w, "the member name \"%.40s\" right after another; the "
                    "first needs a value", key);
    open_container *top = &w->stack[w->depth - 1];
    if (top->count > 0 && put(w, ",", 1) != 0)
        return -1;
    top->count++;
    if (newline_indent(w, w->depth) != 0 ||
        put_quoted(w, key, strlen(key)) != 0 || put(w, ": ", 2) != 0)
        return -1;
    w->key_waiting = true;
    return 0;
}

int nfi_json_string_len(nfi_json_writer *w, const char *s, size_t len)
{
    if (s == NULL && !w->failed)
        return fail(w, "a NULL string");
    if (before_value(w, "a string") != 0 || put_quoted(w, s, len) != 0)
        return -1;
    return after_value(w);
}

int nfi_json_string(nfi_json_writer *w, const char *s)
{
    return nfi_json_string_len(w, s, s != NULL ? strlen(s) : 0);
}

static int put_scalar(nfi_json_writer *w, const char *what, const char *text)
{
    if (before_value(w, what) != 0 || put_str(w, text) != 0)
        return -1;
    return after_value(w);
}

int nfi_json_int(nfi_json_writer *w, int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    return put_scalar(w, "a number", text);
}

int nfi_json_uint(nfi_json_writer *w, uint64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRIu64, v);
    return put_scalar(w, "a number", text);
}

int nfi_json_double(nfi_json_writer *w, double x)
{
    char text[NFI_DOUBLE_TEXT_MAX];
    nfi_double_text(x, text);
    if (!isfinite(x))
        return nfi_json_string(w, text);
    return put_scalar(w, "a number", text);
}

int nfi_json_bool(nfi_json_writer *w, bool b)
{
    return put_scalar(w, "a boolean", b ? "true" : "false");
}

int nfi_json_null(nfi_json_writer *w)
{
    return put_scalar(w, "null", "null");
}

const char *nfi_json_writer_text(const nfi_json_writer *w, size_t *len,
                                 nfi_error *err)
{
    if (w->failed) {
        if (err != NULL)
            *err = w->first;
        return NULL;
    }
    if (!w->done) {
        if (w->depth > 0)
            nfi_error_set(err, "JSON writer: the document is not complete; "
                          "%zu object(s) or array(s) are still open",
                          w->depth);
        else
            nfi_error_set(err, "JSON writer: the document is empty; write "
                          "a value");
        return NULL;
    }
    if (len != NULL)
        *len = w->len;
    return w->text;
}

int nfi_json_writer_save(const nfi_json_writer *w, const char *path,
                         nfi_error *err)
{
    size_t len;
    nfi_error why;
    const char *text = nfi_json_writer_text(w, &len, &why);
    if (text == NULL)
        return nfi_error_set(err, "cannot write '%s': %s", path,
                             why.message);
    return nfi_atomic_write_file(path, text, len, err);
}
