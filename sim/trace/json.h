/* nfi trace: JSON documents (RFC 8259), written and read.
 *
 * The writer builds a document call by call (begin an object, a key, a
 * value, ...) in memory, pretty-printed with 2-space indentation, and
 * saves it atomically; config.json and summary.json are small.  It
 * keeps the first misuse or invalid input it meets (a value where a key
 * is due, a string that is not UTF-8) and every later call does nothing,
 * so a caller may check only the result of nfi_json_writer_save.
 *
 * Numbers: integers exactly; doubles as "%.17g", which reads back to the
 * same binary64 value, with ".0" after integral values (100.0 as
 * "100.0", -0.0 as "-0.0") so that Python's json reads them as floats
 * and -0 keeps its sign (sim/trace/numtext.h).  JSON has no NaN or
 * infinities, so they are written as the strings "nan", "inf" and
 * "-inf", which nfi_json_as_double reads back as numbers; Python's
 * json.load gives them as strings (float() of them gives the values).
 *
 * The parser reads a whole document into a tree: objects keep their
 * members in order, numbers keep their text beside the double, strings
 * are unescaped (\uXXXX with surrogate pairs) into UTF-8.  Parse errors
 * say where, as "NAME:LINE:COLUMN: what was expected" (columns count
 * characters from 1).  The as_* accessors report a wrong type or range
 * with the value's position and its path from the root, as
 * "config.json:4:14: $.optimizer.steps is 1.5, expected an integer". */
#ifndef NFI_TRACE_JSON_H
#define NFI_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* ---- Writing ---- */

typedef struct nfi_json_writer nfi_json_writer;

/* A writer for one document; NULL only when memory runs out. */
nfi_json_writer *nfi_json_writer_new(void);
void nfi_json_writer_free(nfi_json_writer *w);

/* Each of these appends one token.  A value (begin_object, begin_array,
 * string, int, uint, double, bool, null) is allowed as the document,
 * as an element of an array, or after a key in an object; a key only
 * inside an object where a member is due; an end only matching the
 * innermost begin with no key left waiting.  Each returns 0, or -1 when
 * this call or an earlier one failed (the writer keeps the first
 * message). */
int nfi_json_begin_object(nfi_json_writer *w);
int nfi_json_end_object(nfi_json_writer *w);
int nfi_json_begin_array(nfi_json_writer *w);
int nfi_json_end_array(nfi_json_writer *w);

/* A member name: NUL-terminated UTF-8, escaped as strings are. */
int nfi_json_key(nfi_json_writer *w, const char *key);

/* A string of UTF-8 text, NUL-terminated or of len bytes (which may then
 * hold NUL, written \u0000).  '"', '\\' and the control characters are
 * escaped (\n, \t, ... or \u00XX); every other character is copied as
 * it is.  Text that is not well-formed UTF-8 is refused. */
int nfi_json_string(nfi_json_writer *w, const char *s);
int nfi_json_string_len(nfi_json_writer *w, const char *s, size_t len);

int nfi_json_int(nfi_json_writer *w, int64_t v);
int nfi_json_uint(nfi_json_writer *w, uint64_t v);
/* "%.17g" (".0" after integral values), or the strings "nan", "inf",
 * "-inf" (see above). */
int nfi_json_double(nfi_json_writer *w, double x);
int nfi_json_bool(nfi_json_writer *w, bool b);
int nfi_json_null(nfi_json_writer *w);

/* The finished document, ending with '\n', and its length in *len (may
 * be NULL).  The text belongs to w.  Returns NULL with err set when a
 * call failed or the document is not complete (no value yet, or an
 * object or array still open). */
const char *nfi_json_writer_text(const nfi_json_writer *w, size_t *len,
                                 nfi_error *err);

/* Replaces path atomically with the finished document.  Returns 0, or -1
 * with err set as nfi_json_writer_text or nfi_atomic_write_file say; an
 * existing file is then left as it was. */
int nfi_json_writer_save(const nfi_json_writer *w, const char *path,
                         nfi_error *err);

/* ---- Reading ---- */

typedef enum nfi_json_type {
    NFI_JSON_NULL,
    NFI_JSON_BOOL,
    NFI_JSON_NUMBER,
    NFI_JSON_STRING,
    NFI_JSON_ARRAY,
    NFI_JSON_OBJECT,
} nfi_json_type;

typedef struct nfi_json_value nfi_json_value;

/* At most this many arrays and objects nest one in another; deeper input
 * is refused rather than risking the stack. */
#define NFI_JSON_MAX_DEPTH 1000

/* Parses text[0, len) as one JSON value with optional white space
 * around it (a leading UTF-8 byte order mark is skipped).  name is used
 * in messages (NULL gives "JSON text").  Returns the root of a tree that
 * nfi_json_free releases; or NULL with err saying
 * "NAME:LINE:COLUMN: ..." on malformed input (bad token, missing ',',
 * ':' or closing bracket, bad escape, unpaired surrogate, ill-formed
 * UTF-8, a control character inside a string, a number not in JSON's
 * syntax, a duplicate member name, a member name holding \u0000, nesting
 * deeper than NFI_JSON_MAX_DEPTH, text after the value) or when memory
 * runs out. */
nfi_json_value *nfi_json_parse(const char *text, size_t len,
                               const char *name, nfi_error *err);

/* Reads and parses the file path (messages are named after path).
 * Returns NULL with err set when the file cannot be read or parsed. */
nfi_json_value *nfi_json_parse_file(const char *path, nfi_error *err);

/* Frees a tree returned by a parse function (root only); NULL is
 * allowed. */
void nfi_json_free(nfi_json_value *root);

nfi_json_type nfi_json_type_of(const nfi_json_value *v);
/* "null", "a boolean", "a number", "a string", "an array", "an object". */
const char *nfi_json_type_name(nfi_json_type type);

/* Number of elements of an array or members of an object, 0 for the
 * other types. */
size_t nfi_json_length(const nfi_json_value *v);

/* The i-th element of an array or value of an object's i-th member in
 * document order; NULL when v is neither or i is out of range. */
const nfi_json_value *nfi_json_at(const nfi_json_value *v, size_t i);

/* The name of an object's i-th member; NULL when out of range. */
const char *nfi_json_key_at(const nfi_json_value *obj, size_t i);

/* The value of obj's member key, or NULL when obj is not an object or
 * has no such member (for optional members). */
const nfi_json_value *nfi_json_get(const nfi_json_value *obj,
                                   const char *key);

/* The same for a member that must be there: NULL with err naming obj's
 * path and the key when obj is not an object or lacks it. */
const nfi_json_value *nfi_json_member(const nfi_json_value *obj,
                                      const char *key, nfi_error *err);

/* The contents of a string (UTF-8, NUL-terminated, owned by the tree)
 * and its length in *len (may be NULL; the string may hold NUL).
 * Returns 0, or -1 with err when v is not a string. */
int nfi_json_as_string(const nfi_json_value *v, const char **s,
                       size_t *len, nfi_error *err);

/* A number as the nearest binary64 value (correctly rounded from its
 * text), or one of the strings "nan", "inf", "-inf" the writer uses.
 * Returns -1 with err when v is anything else or the number's magnitude
 * is beyond binary64's (1e400). */
int nfi_json_as_double(const nfi_json_value *v, double *x,
                       nfi_error *err);

/* A number written as an integer (no fraction, no exponent) within the
 * range of the type.  Returns -1 with err otherwise ("1.5", "1e3", a
 * negative number for uint64, a value out of range). */
int nfi_json_as_int64(const nfi_json_value *v, int64_t *x,
                      nfi_error *err);
int nfi_json_as_uint64(const nfi_json_value *v, uint64_t *x,
                       nfi_error *err);

/* true or false; -1 with err otherwise. */
int nfi_json_as_bool(const nfi_json_value *v, bool *b, nfi_error *err);

/* The text of a number as it appears in the document; NULL for the
 * other types. */
const char *nfi_json_number_text(const nfi_json_value *v);

/* The path of v from the root, as "$", "$.optimizer.lr", "$.layers[2]"
 * or $["odd key"], with snprintf's contract: writes at most cap bytes
 * and returns the full length. */
int nfi_json_path(const nfi_json_value *v, char *buf, size_t cap);

/* Where v starts in its document: line and column from 1. */
void nfi_json_position(const nfi_json_value *v, long *line, long *column);

#endif
