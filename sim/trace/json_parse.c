#include "json.h"

#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "numtext.h"
#include "utf8.h"

/* What every node of one tree shares. */
typedef struct json_doc {
    char *name;     /* for messages */
} json_doc;

struct nfi_json_value {
    nfi_json_type type;
    bool boolean;
    double number;
    char *text;                 /* string contents or number text */
    size_t text_len;
    nfi_json_value **items;     /* elements, or member values */
    char **keys;                /* member names (objects) */
    size_t count, cap;
    const nfi_json_value *parent;
    size_t index;               /* position in the parent */
    long line, column;
    json_doc *doc;
};

typedef struct parser {
    const unsigned char *s;
    size_t n, pos;
    /* The line and column of byte offset `at`, so that finding those of
     * a later offset costs only the bytes in between. */
    size_t at;
    long line, column;
    json_doc *doc;
    nfi_error *err;
} parser;

static void locate(parser *p, size_t pos, long *line, long *column)
{
    if (pos < p->at) {
        p->at = 0;
        p->line = 1;
        p->column = 1;
    }
    for (; p->at < pos && p->at < p->n; p->at++) {
        unsigned char c = p->s[p->at];
        if (c == '\n') {
            p->line++;
            p->column = 1;
        } else if ((c & 0xc0) != 0x80) {
            /* A UTF-8 continuation byte is part of the previous
             * character's column. */
            p->column++;
        }
    }
    *line = p->line;
    *column = p->column;
}

__attribute__((format(printf, 3, 4)))
static void *parse_error(parser *p, size_t pos, const char *fmt, ...)
{
    char what[NFI_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    long line, column;
    locate(p, pos, &line, &column);
    nfi_error_set(p->err, "%s:%ld:%ld: %s", p->doc->name, line, column,
                  what);
    return NULL;
}

/* Names the character at pos for a message. */
static const char *found(const parser *p, size_t pos, char *buf,
                         size_t cap)
{
    if (pos >= p->n) {
        snprintf(buf, cap, "the end of the text");
        return buf;
    }
    unsigned char c = p->s[pos];
    uint32_t cp;
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, cap, "'%c'", c);
    else if (c < 0x80 || nfi_utf8_decode(p->s + pos, p->n - pos, &cp) == 0)
        snprintf(buf, cap, "the byte 0x%02x", c);
    else
        snprintf(buf, cap, "U+%04X", (unsigned)cp);
    return buf;
}

static void skip_space(parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                             p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static nfi_json_value *new_node(parser *p, nfi_json_type type,
                                const nfi_json_value *parent, size_t index)
{
    nfi_json_value *v = calloc(1, sizeof *v);
    if (v == NULL)
        return parse_error(p, p->pos, "out of memory");
    v->type = type;
    v->parent = parent;
    v->index = index;
    v->doc = p->doc;
    locate(p, p->pos, &v->line, &v->column);
    return v;
}

static void free_value(nfi_json_value *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->count; i++) {
        free_value(v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    free(v);
}

static int hex4(const unsigned char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* Parses the string literal at p->pos into a malloc'ed UTF-8 buffer. */
static char *parse_string(parser *p, size_t *out_len)
{
    size_t start = p->pos++;

    /* The unescaped text is never longer than the literal. */
    size_t end = p->pos;
    while (end < p->n && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n)
        return parse_error(p, start, "this string does not end: a '\"' is "
                           "missing");
    unsigned char *out = malloc(end - p->pos + 1);
    if (out == NULL)
        return parse_error(p, start, "out of memory");
    size_t len = 0;

    while (p->s[p->pos] != '"') {
        unsigned char c = p->s[p->pos];
        if (c < 0x20) {
            free(out);
            return parse_error(p, p->pos, "the control character U+%04X "
                               "must be escaped inside a string (as "
                               "\\u%04x)", c, c);
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t n = nfi_utf8_decode(p->s + p->pos, end - p->pos, &cp);
            if (n == 0) {
                free(out);
                return parse_error(p, p->pos, "the byte 0x%02x does not "
                                   "start a well-formed UTF-8 character; "
                                   "JSON text must be UTF-8", c);
            }
            memcpy(out + len, p->s + p->pos, n);
            len += n;
            p->pos += n;
            continue;
        }
        if (c != '\\') {
            out[len++] = c;
            p->pos++;
            continue;
        }

        size_t escape = p->pos;
        unsigned char e = p->s[p->pos + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != '\0' && simple != NULL) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            out[len++] = (unsigned char)decoded[simple - "\"\\/bfnrt"];
            p->pos += 2;
            continue;
        }
        if (e != 'u') {
            free(out);
            if (e < 0x20 || e >= 0x7f)
                return parse_error(p, escape, "a backslash followed by the "
                                   "byte 0x%02x; JSON escapes are \\\" "
                                   "\\\\ \\/ \\b \\f \\n \\r \\t and "
                                   "\\uXXXX", e);
            return parse_error(p, escape, "invalid escape '\\%c'; JSON "
                               "escapes are \\\" \\\\ \\/ \\b \\f \\n "
                               "\\r \\t and \\uXXXX", e);
        }
        uint32_t cp, low;
        if (end - p->pos < 6 || hex4(p->s + p->pos + 2, &cp) != 0) {
            free(out);
            return parse_error(p, escape, "'\\u' must be followed by four "
                               "hexadecimal digits");
        }
        p->pos += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff) {
            free(out);
            return parse_error(p, escape, "unpaired low surrogate "
                               "\\u%04X; a low surrogate must follow a "
                               "high one (\\uD800-\\uDBFF)", cp);
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p->pos < 6 || p->s[p->pos] != '\\' ||
                p->s[p->pos + 1] != 'u' ||
                hex4(p->s + p->pos + 2, &low) != 0 || low < 0xdc00 ||
                low > 0xdfff) {
                free(out);
                return parse_error(p, escape, "unpaired high surrogate "
                                   "\\u%04X; it must be followed by a low "
                                   "surrogate \\uDC00-\\uDFFF", cp);
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            p->pos += 6;
        }
        len += nfi_utf8_encode(cp, out + len);
    }
    p->pos++;
    out[len] = '\0';
    *out_len = len;
    return (char *)out;
}

static bool is_digit(const parser *p, size_t i)
{
    return i < p->n && p->s[i] >= '0' && p->s[i] <= '9';
}

static nfi_json_value *parse_number(parser *p, nfi_json_value *v)
{
    size_t start = p->pos, i = p->pos;
    char seen[32];
    if (i < p->n && p->s[i] == '-')
        i++;
    if (!is_digit(p, i))
        return parse_error(p, i, "a number needs a digit here, found %s",
                           found(p, i, seen, sizeof seen));
    if (p->s[i] == '0' && is_digit(p, i + 1))
        return parse_error(p, i, "a number must not start with 0 followed "
                           "by digits (leading zeros are not JSON)");
    while (is_digit(p, i))
        i++;
    if (i < p->n && p->s[i] == '.') {
        i++;
        if (!is_digit(p, i))
            return parse_error(p, i, "a digit must follow the decimal "
                               "point, found %s",
                               found(p, i, seen, sizeof seen));
        while (is_digit(p, i))
            i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (!is_digit(p, i))
            return parse_error(p, i, "the exponent needs a digit, found "
                               "%s", found(p, i, seen, sizeof seen));
        while (is_digit(p, i))
            i++;
    }

    v->text_len = i - start;
    v->text = malloc(v->text_len + 1);
    if (v->text == NULL)
        return parse_error(p, start, "out of memory");
    memcpy(v->text, p->s + start, v->text_len);
    v->text[v->text_len] = '\0';
    /* The syntax was checked above, so strtod reads it all. */
    nfi_text_double(v->text, v->text_len, &v->number);
    p->pos = i;
    return v;
}

static nfi_json_value *parse_value(parser *p, const nfi_json_value *parent,
                                   size_t index, int depth);

static int grow(nfi_json_value *v, bool with_keys)
{
    if (v->count < v->cap)
        return 0;
    size_t cap = v->cap > 0 ? 2 * v->cap : 4;
    nfi_json_value **items = realloc(v->items, cap * sizeof *items);
    if (items == NULL)
        return -1;
    v->items = items;
    if (with_keys) {
        char **keys = realloc(v->keys, cap * sizeof *keys);
        if (keys == NULL)
            return -1;
        v->keys = keys;
    }
    v->cap = cap;
    return 0;
}

static nfi_json_value *parse_array(parser *p, nfi_json_value *v, int depth)
{
    char seen[32];
    p->pos++;
    skip_space(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        return v;
    }
    for (;;) {
        if (grow(v, false) != 0)
            return parse_error(p, p->pos, "out of memory");
        nfi_json_value *item = parse_value(p, v, v->count, depth + 1);
        if (item == NULL)
            return NULL;
        v->items[v->count++] = item;
        skip_space(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == ']') {
            p->pos++;
            return v;
        }
        return parse_error(p, p->pos, "expected ',' or ']' after an array "
                           "element, found %s",
                           found(p, p->pos, seen, sizeof seen));
    }
}

static nfi_json_value *parse_object(parser *p, nfi_json_value *v,
                                    int depth)
{
    char seen[32];
    p->pos++;
    skip_space(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return v;
    }
    for (;;) {
        skip_space(p);
        if (p->pos >= p->n || p->s[p->pos] != '"')
            return parse_error(p, p->pos, "expected a member name in "
                               "double quotes, found %s",
                               found(p, p->pos, seen, sizeof seen));
        size_t key_pos = p->pos, key_len;
        char *key = parse_string(p, &key_len);
        if (key == NULL)
            return NULL;
        if (strlen(key) != key_len) {
            free(key);
            return parse_error(p, key_pos, "a member name holds \\u0000, "
                               "which nfi does not accept in names");
        }
        for (size_t i = 0; i < v->count; i++) {
            if (strcmp(v->keys[i], key) == 0) {
                parse_error(p, key_pos, "the member name \"%.60s\" appears "
                            "twice in this object", key);
                free(key);
                return NULL;
            }
        }
        if (grow(v, true) != 0) {
            free(key);
            return parse_error(p, p->pos, "out of memory");
        }
        v->keys[v->count] = key;

        skip_space(p);
        if (p->pos >= p->n || p->s[p->pos] != ':') {
            free(key);
            return parse_error(p, p->pos, "expected ':' after the member "
                               "name, found %s",
                               found(p, p->pos, seen, sizeof seen));
        }
        p->pos++;
        nfi_json_value *item = parse_value(p, v, v->count, depth + 1);
        if (item == NULL) {
            free(key);
            return NULL;
        }
        v->items[v->count++] = item;

        skip_space(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == '}') {
            p->pos++;
            return v;
        }
        return parse_error(p, p->pos, "expected ',' or '}' after an object "
                           "member, found %s",
                           found(p, p->pos, seen, sizeof seen));
    }
}

static bool take_literal(parser *p, const char *word)
{
    size_t len = strlen(word);
    if (p->n - p->pos < len || memcmp(p->s + p->pos, word, len) != 0)
        return false;
    p->pos += len;
    return true;
}

static nfi_json_value *parse_value(parser *p, const nfi_json_value *parent,
                                   size_t index, int depth)
{
    char seen[32];
    skip_space(p);
    if (p->pos >= p->n)
        return parse_error(p, p->pos, "expected a value, found the end of "
                           "the text");

    unsigned char c = p->s[p->pos];
    nfi_json_type type = c == '{' ? NFI_JSON_OBJECT
                       : c == '[' ? NFI_JSON_ARRAY
                       : c == '"' ? NFI_JSON_STRING
                       : c == 't' || c == 'f' ? NFI_JSON_BOOL
                       : c == 'n' ? NFI_JSON_NULL : NFI_JSON_NUMBER;
    if (type == NFI_JSON_NUMBER && c != '-' && !(c >= '0' && c <= '9'))
        return parse_error(p, p->pos, "expected a value (an object, array, "
                           "string, number, true, false or null), found %s",
                           found(p, p->pos, seen, sizeof seen));
    /* depth counts the arrays and objects around this value. */
    if ((type == NFI_JSON_ARRAY || type == NFI_JSON_OBJECT) &&
        depth >= NFI_JSON_MAX_DEPTH)
        return parse_error(p, p->pos, "arrays and objects nest deeper than "
                           "%d levels", NFI_JSON_MAX_DEPTH);
    nfi_json_value *v = new_node(p, type, parent, index);
    if (v == NULL)
        return NULL;

    nfi_json_value *done = v;
    switch (type) {
    case NFI_JSON_OBJECT:
        done = parse_object(p, v, depth);
        break;
    case NFI_JSON_ARRAY:
        done = parse_array(p, v, depth);
        break;
    case NFI_JSON_STRING:
        v->text = parse_string(p, &v->text_len);
        done = v->text != NULL ? v : NULL;
        break;
    case NFI_JSON_NUMBER:
        done = parse_number(p, v);
        break;
    case NFI_JSON_BOOL:
        v->boolean = c == 't';
        if (!take_literal(p, v->boolean ? "true" : "false"))
            done = parse_error(p, p->pos, "expected %s", v->boolean ?
                               "true" : "false");
        break;
    case NFI_JSON_NULL:
        if (!take_literal(p, "null"))
            done = parse_error(p, p->pos, "expected null");
        break;
    }
    if (done == NULL) {
        free_value(v);
        return NULL;
    }
    return v;
}

nfi_json_value *nfi_json_parse(const char *text, size_t len,
                               const char *name, nfi_error *err)
{
    json_doc *doc = malloc(sizeof *doc);
    if (name == NULL)
        name = "JSON text";
    char *name_copy = strdup(name);
    if (doc == NULL || name_copy == NULL) {
        free(doc);
        free(name_copy);
        nfi_error_set(err, "%s: out of memory", name);
        return NULL;
    }
    doc->name = name_copy;

    parser p = {(const unsigned char *)text, len, 0, 0, 1, 1, doc, err};
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        /* Columns count from the character after the mark. */
        p.pos = 3;
        p.at = 3;
    }
    nfi_json_value *root = parse_value(&p, NULL, 0, 0);
    if (root != NULL) {
        char seen[32];
        skip_space(&p);
        if (p.pos < p.n) {
            parse_error(&p, p.pos, "unexpected %s after the end of the "
                        "value; a JSON text holds one value",
                        found(&p, p.pos, seen, sizeof seen));
            free_value(root);
            root = NULL;
        }
    }
    if (root == NULL) {
        free(doc->name);
        free(doc);
    }
    return root;
}

nfi_json_value *nfi_json_parse_file(const char *path, nfi_error *err)
{
    size_t len;
    char *text = nfi_read_file(path, &len, err);
    if (text == NULL)
        return NULL;
    nfi_json_value *root = nfi_json_parse(text, len, path, err);
    free(text);
    return root;
}

void nfi_json_free(nfi_json_value *root)
{
    if (root == NULL)
        return;
    json_doc *doc = root->doc;
    free_value(root);
    free(doc->name);
    free(doc);
}

nfi_json_type nfi_json_type_of(const nfi_json_value *v)
{
    return v->type;
}

const char *nfi_json_type_name(nfi_json_type type)
{
    switch (type) {
    case NFI_JSON_NULL: return "null";
    case NFI_JSON_BOOL: return "a boolean";
    case NFI_JSON_NUMBER: return "a number";
    case NFI_JSON_STRING: return "a string";
    case NFI_JSON_ARRAY: return "an array";
    case NFI_JSON_OBJECT: return "an object";
    }
    return "an unknown type";
}

size_t nfi_json_length(const nfi_json_value *v)
{
    return v != NULL && (v->type == NFI_JSON_ARRAY ||
                         v->type == NFI_JSON_OBJECT) ? v->count : 0;
}

const nfi_json_value *nfi_json_at(const nfi_json_value *v, size_t i)
{
    return i < nfi_json_length(v) ? v->items[i] : NULL;
}

const char *nfi_json_key_at(const nfi_json_value *obj, size_t i)
{
    if (obj == NULL || obj->type != NFI_JSON_OBJECT || i >= obj->count)
        return NULL;
    return obj->keys[i];
}

const nfi_json_value *nfi_json_get(const nfi_json_value *obj,
                                   const char *key)
{
    if (obj == NULL || obj->type != NFI_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->count; i++) {
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    }
    return NULL;
}

static bool is_identifier(const char *key)
{
    if (!((*key >= 'A' && *key <= 'Z') || (*key >= 'a' && *key <= 'z') ||
          *key == '_'))
        return false;
    for (; *key != '\0'; key++) {
        if (!((*key >= 'A' && *key <= 'Z') || (*key >= 'a' && *key <= 'z') ||
              (*key >= '0' && *key <= '9') || *key == '_'))
            return false;
    }
    return true;
}

/* Appends to buf at *len with snprintf's accounting. */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*len < cap ? buf + *len : NULL,
                      *len < cap ? cap - *len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n;
}

static void append_path(const nfi_json_value *v, char *buf, size_t cap,
                        size_t *len)
{
    if (v->parent == NULL) {
        append(buf, cap, len, "$");
        return;
    }
    append_path(v->parent, buf, cap, len);
    if (v->parent->type == NFI_JSON_ARRAY) {
        append(buf, cap, len, "[%zu]", v->index);
        return;
    }
    const char *key = v->parent->keys[v->index];
    if (is_identifier(key)) {
        append(buf, cap, len, ".%s", key);
        return;
    }
    append(buf, cap, len, "[\"");
    for (const char *k = key; *k != '\0'; k++)
        append(buf, cap, len, *k == '"' || *k == '\\' ? "\\%c" : "%c", *k);
    append(buf, cap, len, "\"]");
}

int nfi_json_path(const nfi_json_value *v, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap > 0)
        buf[0] = '\0';
    append_path(v, buf, cap, &len);
    return (int)len;
}

void nfi_json_position(const nfi_json_value *v, long *line, long *column)
{
    *line = v->line;
    *column = v->column;
}

__attribute__((format(printf, 3, 4)))
static int value_error(const nfi_json_value *v, nfi_error *err,
                       const char *fmt, ...)
{
    char path[200], what[NFI_ERROR_MAX];
    nfi_json_path(v, path, sizeof path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nfi_error_set(err, "%s:%ld:%ld: %s %s", v->doc->name, v->line,
                         v->column, path, what);
}

static int type_error(const nfi_json_value *v, const char *expected,
                      nfi_error *err)
{
    if (v == NULL)
        return nfi_error_set(err, "no JSON value where %s was expected",
                             expected);
    return value_error(v, err, "is %s, expected %s",
                       nfi_json_type_name(v->type), expected);
}

const nfi_json_value *nfi_json_member(const nfi_json_value *obj,
                                      const char *key, nfi_error *err)
{
    if (obj == NULL || obj->type != NFI_JSON_OBJECT) {
        char expected[120];
        snprintf(expected, sizeof expected, "an object with the member "
                 "\"%.60s\"", key);
        type_error(obj, expected, err);
        return NULL;
    }
    const nfi_json_value *v = nfi_json_get(obj, key);
    if (v == NULL)
        value_error(obj, err, "has no member \"%.60s\"", key);
    return v;
}

int nfi_json_as_string(const nfi_json_value *v, const char **s,
                       size_t *len, nfi_error *err)
{
    if (v == NULL || v->type != NFI_JSON_STRING)
        return type_error(v, "a string", err);
    *s = v->text;
    if (len != NULL)
        *len = v->text_len;
    return 0;
}

int nfi_json_as_double(const nfi_json_value *v, double *x, nfi_error *err)
{
    if (v != NULL && v->type == NFI_JSON_STRING) {
        static const struct {
            const char *text;
            double value;
        } special[] = {{"nan", NAN}, {"inf", INFINITY}, {"-inf", -INFINITY}};
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(v->text, special[i].text) == 0 &&
                strlen(special[i].text) == v->text_len) {
                *x = special[i].value;
                return 0;
            }
        }
        return value_error(v, err, "is the string \"%.40s\", expected a "
                           "number (or \"nan\", \"inf\", \"-inf\")",
                           v->text);
    }
    if (v == NULL || v->type != NFI_JSON_NUMBER)
        return type_error(v, "a number", err);
    if (isinf(v->number))
        return value_error(v, err, "is %.40s, beyond the range of binary64 "
                           "(magnitudes below 1.8e308)", v->text);
    *x = v->number;
    return 0;
}

/* The magnitude of an integer's text, or -1 when the text is not an
 * integer or exceeds UINT64_MAX (*too_big then says which). */
static int integer_text(const nfi_json_value *v, bool *negative,
                        uint64_t *magnitude, bool *too_big)
{
    const char *t = v->text;
    *negative = *t == '-';
    t += *negative;
    *too_big = false;
    uint64_t m = 0;
    for (; *t >= '0' && *t <= '9'; t++) {
        unsigned d = (unsigned)(*t - '0');
        if (m > (UINT64_MAX - d) / 10)
            *too_big = true;
        else
            m = m * 10 + d;
    }
    if (*t != '\0' || *too_big)
        return -1;
    *magnitude = m;
    return 0;
}

int nfi_json_as_int64(const nfi_json_value *v, int64_t *x, nfi_error *err)
{
    if (v == NULL || v->type != NFI_JSON_NUMBER)
        return type_error(v, "an integer", err);
    bool negative, too_big;
    uint64_t m;
    if (integer_text(v, &negative, &m, &too_big) != 0 && !too_big)
        return value_error(v, err, "is %.40s, expected an integer "
                           "(digits only, no fraction or exponent)",
                           v->text);
    if (too_big || m > (uint64_t)INT64_MAX + negative)
        return value_error(v, err, "is %.40s, beyond the range of a "
                           "64-bit signed integer", v->text);
    /* -(m - 1) - 1 reaches INT64_MIN without overflowing. */
    *x = negative && m > 0 ? -(int64_t)(m - 1) - 1 : (int64_t)m;
    return 0;
}

int nfi_json_as_uint64(const nfi_json_value *v, uint64_t *x, nfi_error *err)
{
    if (v == NULL || v->type != NFI_JSON_NUMBER)
        return type_error(v, "an unsigned integer", err);
    bool negative, too_big;
    uint64_t m;
    if (integer_text(v, &negative, &m, &too_big) != 0 && !too_big)
        return value_error(v, err, "is %.40s, expected an unsigned integer "
                           "(digits only, no fraction or exponent)",
                           v->text);
    if (too_big)
        return value_error(v, err, "is %.40s, beyond the range of a 64-bit "
                           "unsigned integer", v->text);
    if (negative && m != 0)
        return value_error(v, err, "is %.40s, expected an unsigned "
                           "integer", v->text);
    *x = m;
    return 0;
}

int nfi_json_as_bool(const nfi_json_value *v, bool *b, nfi_error *err)
{
    if (v == NULL || v->type != NFI_JSON_BOOL)
        return type_error(v, "true or false", err);
    *b = v->boolean;
    return 0;
}

const char *nfi_json_number_text(const nfi_json_value *v)
{
    return v != NULL && v->type == NFI_JSON_NUMBER ? v->text : NULL;
}
