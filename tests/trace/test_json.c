/* JSON (sim/trace/json.h): the writer's exact text (2-space indentation,
 * escapes, numbers), its refusal of misuse and of text that is not
 * UTF-8; the parser's trees (key order, number text, \u escapes with
 * surrogate pairs, deep nesting) and its errors with line and column;
 * the accessors and their messages with the value's path; and random
 * documents written, parsed and written again to the same text, doubles
 * bit for bit.
 *
 * Why: config.json must reproduce a run bit for bit, so every double
 * has to come back exactly, and a user who mistypes a config needs to
 * be told where. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "trace/json.h"
#include "trace_util.h"

static char *dir;

static bool contains(const char *message, const char *needle)
{
    return strstr(message, needle) != NULL;
}

/* The writer's text, or "" when it has none. */
static const char *text_of(const nfi_json_writer *w)
{
    const char *text = nfi_json_writer_text(w, NULL, NULL);
    return text != NULL ? text : "";
}

static void check_layout(void)
{
    nfi_json_writer *w = nfi_json_writer_new();
    nfi_json_begin_object(w);
    nfi_json_key(w, "name");
    nfi_json_string(w, "run \"1\"");
    nfi_json_key(w, "lr");
    nfi_json_double(w, 0.001);
    nfi_json_key(w, "steps");
    nfi_json_int(w, 1000);
    nfi_json_key(w, "betas");
    nfi_json_begin_array(w);
    nfi_json_double(w, 0.9);
    nfi_json_double(w, 0.999);
    nfi_json_end_array(w);
    nfi_json_key(w, "nested");
    nfi_json_begin_object(w);
    nfi_json_key(w, "empty_obj");
    nfi_json_begin_object(w);
    nfi_json_end_object(w);
    nfi_json_key(w, "empty_arr");
    nfi_json_begin_array(w);
    nfi_json_end_array(w);
    nfi_json_key(w, "flag");
    nfi_json_bool(w, true);
    nfi_json_key(w, "none");
    nfi_json_null(w);
    nfi_json_key(w, "list");
    nfi_json_begin_array(w);
    nfi_json_begin_object(w);
    nfi_json_key(w, "a");
    nfi_json_int(w, -1);
    nfi_json_end_object(w);
    nfi_json_begin_array(w);
    nfi_json_end_array(w);
    nfi_json_end_array(w);
    nfi_json_end_object(w);
    nfi_json_key(w, "seed");
    nfi_json_uint(w, UINT64_MAX);
    nfi_json_end_object(w);

    static const char expected[] =
        "{\n"
        "  \"name\": \"run \\\"1\\\"\",\n"
        "  \"lr\": 0.001,\n"
        "  \"steps\": 1000,\n"
        "  \"betas\": [\n"
        "    0.90000000000000002,\n"
        "    0.999\n"
        "  ],\n"
        "  \"nested\": {\n"
        "    \"empty_obj\": {},\n"
        "    \"empty_arr\": [],\n"
        "    \"flag\": true,\n"
        "    \"none\": null,\n"
        "    \"list\": [\n"
        "      {\n"
        "        \"a\": -1\n"
        "      },\n"
        "      []\n"
        "    ]\n"
        "  },\n"
        "  \"seed\": 18446744073709551615\n"
        "}\n";
    size_t len = 0;
    nfi_error err = {""};
    const char *text = nfi_json_writer_text(w, &len, &err);
    check_true(text != NULL && strcmp(text, expected) == 0 &&
               len == strlen(expected), "pretty-printed document:\n%s\n"
               "expected:\n%s(%s)", text != NULL ? text : "(none)",
               expected, err.message);

    const char *path = path_in(dir, "config.json");
    check_true(nfi_json_writer_save(w, path, &err) == 0 &&
               file_equals(path, expected, strlen(expected)), "saved file: "
               "%s", err.message);
    nfi_json_writer_free(w);

    /* A scalar is a document too. */
    w = nfi_json_writer_new();
    nfi_json_double(w, -0.0);
    check_true(strcmp(text_of(w), "-0.0\n") == 0, "a lone -0: \"%s\"",
               text_of(w));
    nfi_json_writer_free(w);
}

static void check_numbers(void)
{
    static const struct {
        double x;
        const char *text;
    } doubles[] = {
        {0.1, "0.10000000000000001"},
        {1e-300, "1e-300"},
        {0x1p53 + 2, "9007199254740994.0"},
        {-0.0, "-0.0"},
        {0x1p-1074, "4.9406564584124654e-324"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {1.0 / 3, "0.33333333333333331"},
        {100, "100.0"},
        {-3, "-3.0"},
        {1e21, "1e+21"},
        {NAN, "\"nan\""},
        {-NAN, "\"nan\""},
        {INFINITY, "\"inf\""},
        {-INFINITY, "\"-inf\""},
    };
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        nfi_json_writer *w = nfi_json_writer_new();
        nfi_json_double(w, doubles[i].x);
        char expected[64];
        snprintf(expected, sizeof expected, "%s\n", doubles[i].text);
        check_true(strcmp(text_of(w), expected) == 0, "%a written as %s, "
                   "expected %s", doubles[i].x, text_of(w), expected);

        nfi_json_value *v = nfi_json_parse(text_of(w), strlen(text_of(w)),
                                           NULL, NULL);
        double back = 0;
        check_true(v != NULL && nfi_json_as_double(v, &back, NULL) == 0 &&
                   same_double(back, doubles[i].x), "%a read back as %a",
                   doubles[i].x, back);
        nfi_json_free(v);
        nfi_json_writer_free(w);
    }

    /* 2^53 + 1 is exact as an integer, not as a double. */
    static const char text[] = "[9007199254740993, -9223372036854775808, "
                               "9223372036854775807, 18446744073709551615]";
    nfi_error err = {""};
    nfi_json_value *v = nfi_json_parse(text, strlen(text), NULL, &err);
    int64_t i = 0;
    uint64_t u = 0;
    double x = 0;
    check_true(v != NULL && nfi_json_as_int64(nfi_json_at(v, 0), &i, &err)
               == 0 && i == (INT64_C(1) << 53) + 1, "2^53+1 as int64: "
               "%" PRId64 " %s", i, err.message);
    check_true(nfi_json_as_double(nfi_json_at(v, 0), &x, &err) == 0 &&
               x == 0x1p53, "2^53+1 as a double rounds to 2^53 (even)");
    check_true(strcmp(nfi_json_number_text(nfi_json_at(v, 0)),
                      "9007199254740993") == 0, "number text kept");
    check_true(nfi_json_as_int64(nfi_json_at(v, 1), &i, &err) == 0 &&
               i == INT64_MIN, "INT64_MIN: %s", err.message);
    check_true(nfi_json_as_int64(nfi_json_at(v, 2), &i, &err) == 0 &&
               i == INT64_MAX, "INT64_MAX: %s", err.message);
    check_true(nfi_json_as_uint64(nfi_json_at(v, 3), &u, &err) == 0 &&
               u == UINT64_MAX, "UINT64_MAX: %s", err.message);
    nfi_json_free(v);

    /* Integers written by the writer. */
    nfi_json_writer *w = nfi_json_writer_new();
    nfi_json_begin_array(w);
    nfi_json_int(w, INT64_MIN);
    nfi_json_int(w, 0);
    nfi_json_uint(w, UINT64_MAX);
    nfi_json_end_array(w);
    check_true(strcmp(text_of(w), "[\n  -9223372036854775808,\n  0,\n  "
                      "18446744073709551615\n]\n") == 0, "integers: %s",
               text_of(w));
    nfi_json_writer_free(w);

    /* Random doubles of every exponent, bit for bit. */
    test_rng rng;
    rng_init(&rng, harness_seed(), 2);
    w = nfi_json_writer_new();
    enum { COUNT = 20000 };
    static double values[COUNT];
    nfi_json_begin_array(w);
    for (int k = 0; k < COUNT; k++) {
        uint64_t bits = rng_next(&rng);
        memcpy(&values[k], &bits, sizeof bits);
        nfi_json_double(w, values[k]);
    }
    nfi_json_end_array(w);
    v = nfi_json_parse(text_of(w), strlen(text_of(w)), NULL, &err);
    size_t wrong = 0;
    for (int k = 0; v != NULL && k < COUNT; k++) {
        double back;
        if (nfi_json_as_double(nfi_json_at(v, (size_t)k), &back, NULL) != 0
            || !same_double(back, values[k])) {
            if (wrong++ == 0)
                check_true(false, "random double %a does not come back",
                           values[k]);
        }
    }
    check_true(v != NULL && nfi_json_length(v) == COUNT && wrong == 0,
               "%d random doubles: %zu wrong (%s)", COUNT, wrong,
               err.message);
    nfi_json_free(v);
    nfi_json_writer_free(w);
}

static void check_strings(void)
{
    char all[0x20 + 8];
    for (int c = 0; c < 0x20; c++)
        all[c] = (char)c;
    memcpy(all + 0x20, "\"\\/\x7f", 4);
    nfi_json_writer *w = nfi_json_writer_new();
    nfi_json_begin_array(w);
    nfi_json_string_len(w, all, 0x24);
    nfi_json_string(w, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
    nfi_json_string(w, "");
    nfi_json_end_array(w);
    static const char expected[] =
        "[\n"
        "  \"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t"
        "\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014"
        "\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
        "\\u001e\\u001f\\\"\\\\/\x7f\",\n"
        "  \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\",\n"
        "  \"\"\n"
        "]\n";
    check_true(strcmp(text_of(w), expected) == 0, "escapes: %s",
               text_of(w));

    nfi_error err = {""};
    nfi_json_value *v = nfi_json_parse(text_of(w), strlen(text_of(w)), NULL,
                                       &err);
    const char *s = NULL;
    size_t len = 0;
    check_true(v != NULL && nfi_json_as_string(nfi_json_at(v, 0), &s, &len,
                                               &err) == 0 &&
               len == 0x24 && memcmp(s, all, 0x24) == 0, "control "
               "characters read back (%zu bytes): %s", len, err.message);
    check_true(nfi_json_as_string(nfi_json_at(v, 1), &s, &len, &err) == 0 &&
               strcmp(s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e") == 0,
               "UTF-8 read back");
    nfi_json_free(v);
    nfi_json_writer_free(w);

    /* \u escapes: BMP, surrogate pairs, upper and lower case, escaped
     * slash; NUL inside. */
    static const char escaped[] = "[\"\\u00e9\\u20AC\\uD834\\uDD1E\\ud83d"
                                  "\\ude00\\/\\u0000x\"]";
    static const char decoded[] = "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e"
                                  "\xf0\x9f\x98\x80/\0x";
    v = nfi_json_parse(escaped, strlen(escaped), NULL, &err);
    check_true(v != NULL && nfi_json_as_string(nfi_json_at(v, 0), &s, &len,
                                               &err) == 0 &&
               len == sizeof decoded - 1 &&
               memcmp(s, decoded, len) == 0, "\\u escapes and surrogate "
               "pairs decoded (%zu bytes): %s", len, err.message);
    nfi_json_free(v);

    /* Text that is not UTF-8 is refused by the writer. */
    static const char *const bad[] = {
        "\xff", "a\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80",
        "\x80", "\xf8\x88\x80\x80\x80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w = nfi_json_writer_new();
        int status = nfi_json_string(w, bad[i]);
        const char *text = nfi_json_writer_text(w, NULL, &err);
        check_true(status == -1 && text == NULL &&
                   contains(err.message, "UTF-8"), "bad UTF-8 #%zu: status "
                   "%d, \"%s\"", i, status, err.message);
        nfi_json_writer_free(w);
    }
}

static void check_misuse(void)
{
    nfi_error err = {""};
    nfi_json_writer *w = nfi_json_writer_new();
    nfi_json_begin_object(w);
    int status = nfi_json_int(w, 1);
    check_true(status == -1, "a value without a key must fail");
    check_true(nfi_json_key(w, "late") == -1, "calls after a failure fail");
    const char *path = path_in(dir, "never.json");
    check_true(nfi_json_writer_save(w, path, &err) == -1 &&
               contains(err.message, "member name") &&
               contains(err.message, path) && !path_exists(path),
               "save after misuse: \"%s\"", err.message);
    nfi_json_writer_free(w);

    static const struct {
        int steps;
        const char *needle;
    } cases[] = {
        {0, "outside an object"},
        {1, "end of an object"},
        {2, "after the end of the document"},
        {3, "right after another"},
        {4, "needs a value"},
        {5, "where nothing is open"},
        {6, "not complete"},
        {7, "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        w = nfi_json_writer_new();
        switch (cases[i].steps) {
        case 0:
            nfi_json_begin_array(w);
            nfi_json_key(w, "k");
            break;
        case 1:
            nfi_json_begin_array(w);
            nfi_json_end_object(w);
            break;
        case 2:
            nfi_json_int(w, 1);
            nfi_json_int(w, 2);
            break;
        case 3:
            nfi_json_begin_object(w);
            nfi_json_key(w, "a");
            nfi_json_key(w, "b");
            break;
        case 4:
            nfi_json_begin_object(w);
            nfi_json_key(w, "a");
            nfi_json_end_object(w);
            break;
        case 5:
            nfi_json_end_array(w);
            break;
        case 6:
            nfi_json_begin_object(w);
            break;
        case 7:
            break;
        }
        err.message[0] = '\0';
        check_true(nfi_json_writer_text(w, NULL, &err) == NULL &&
                   contains(err.message, cases[i].needle), "misuse #%zu: "
                   "\"%s\" should hold \"%s\"", i, err.message,
                   cases[i].needle);
        nfi_json_writer_free(w);
    }
}

/* Malformed input: the message holds NAME:LINE:COLUMN and a word. */
static void check_parse_errors(void)
{
    static const struct {
        const char *text;
        const char *where, *needle;
    } cases[] = {
        {"{\"a\": 1,}", "x.json:1:9:", "member name"},
        {"[1, 2\n  3]", "x.json:2:3:", "',' or ']'"},
        {"{\"a\" 1}", "x.json:1:6:", "':'"},
        {"{\"a\": 1 \"b\": 2}", "x.json:1:9:", "',' or '}'"},
        {"[01]", "x.json:1:2:", "leading zeros"},
        {"[1.]", "x.json:1:4:", "decimal point"},
        {"[1e]", "x.json:1:4:", "exponent"},
        {"[-]", "x.json:1:3:", "digit"},
        {"[+1]", "x.json:1:2:", "expected a value"},
        {"[.5]", "x.json:1:2:", "expected a value"},
        {"[NaN]", "x.json:1:2:", "expected a value"},
        {"\"abc", "x.json:1:1:", "does not end"},
        {"[\"a\\qb\"]", "x.json:1:4:", "'\\q'"},
        {"\"\\ud800\"", "x.json:1:2:", "unpaired high surrogate"},
        {"\"\\udc00\"", "x.json:1:2:", "unpaired low surrogate"},
        {"\"\\ud800\\u0041\"", "x.json:1:2:", "unpaired high"},
        {"\"\\u12g4\"", "x.json:1:2:", "four hexadecimal"},
        {"\"\\u12\"", "x.json:1:2:", "four hexadecimal"},
        {"\"a\tb\"", "x.json:1:3:", "control character U+0009"},
        {"\"\xff\"", "x.json:1:2:", "UTF-8"},
        {"\"\xc3\"", "x.json:1:2:", "UTF-8"},
        {"[tru]", "x.json:1:2:", "expected true"},
        {"nul", "x.json:1:1:", "expected null"},
        {"", "x.json:1:1:", "end of the text"},
        {"  \n ", "x.json:2:2:", "end of the text"},
        {"[1] 2", "x.json:1:5:", "after the end of the value"},
        {"{\"a\":1,\"a\":2}", "x.json:1:8:", "appears twice"},
        {"{\"a\\u0000b\":1}", "x.json:1:2:", "\\u0000"},
        {"[\n\"\xc3\xa9\xc3\xa9\", x]", "x.json:2:7:", "found 'x'"},
        {"{'a': 1}", "x.json:1:2:", "double quotes"},
        {"[1,\r\n2,\r\n}", "x.json:3:1:", "found '}'"},
        {"[1, \xe2\x82\xac]", "x.json:1:5:", "U+20AC"},
        {"\xef\xbb\xbf[x]", "x.json:1:2:", "found 'x'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nfi_error err = {""};
        nfi_json_value *v = nfi_json_parse(cases[i].text,
                                           strlen(cases[i].text), "x.json",
                                           &err);
        check_true(v == NULL && contains(err.message, cases[i].where) &&
                   contains(err.message, cases[i].needle), "malformed #%zu "
                   "\"%s\": \"%s\" should hold \"%s\" and \"%s\"", i,
                   cases[i].text, err.message, cases[i].where,
                   cases[i].needle);
        nfi_json_free(v);
    }

    /* The name defaults to "JSON text"; a NULL error pointer is fine. */
    nfi_error err = {""};
    check_true(nfi_json_parse("[", 1, NULL, &err) == NULL &&
               contains(err.message, "JSON text:1:2:"), "default name: "
               "\"%s\"", err.message);
    check_true(nfi_json_parse("[", 1, NULL, NULL) == NULL, "NULL error");
    /* A NUL byte ends nothing: the length does. */
    check_true(nfi_json_parse("[1]\0", 4, "x.json", &err) == NULL &&
               contains(err.message, "1:4:"), "a NUL after the value: "
               "\"%s\"", err.message);
}

static char *nested(int depth, bool objects)
{
    char *text = malloc(12 * (size_t)depth + 8);
    size_t len = 0;
    for (int i = 0; i < depth; i++)
        len += (size_t)sprintf(text + len, objects ? "{\"k\":" : "[");
    len += (size_t)sprintf(text + len, "7");
    for (int i = 0; i < depth; i++)
        text[len++] = objects ? '}' : ']';
    text[len] = '\0';
    return text;
}

static void check_depth(void)
{
    for (int objects = 0; objects < 2; objects++) {
        char *ok = nested(NFI_JSON_MAX_DEPTH, objects);
        nfi_error err = {""};
        nfi_json_value *v = nfi_json_parse(ok, strlen(ok), NULL, &err);
        const nfi_json_value *inner = v;
        for (int i = 0; inner != NULL && i < NFI_JSON_MAX_DEPTH; i++)
            inner = nfi_json_at(inner, 0);
        int64_t seven = 0;
        check_true(v != NULL && inner != NULL &&
                   nfi_json_as_int64(inner, &seven, NULL) == 0 &&
                   seven == 7, "%d nested %s: %s", NFI_JSON_MAX_DEPTH,
                   objects ? "objects" : "arrays", err.message);
        nfi_json_free(v);
        free(ok);

        char *deep = nested(NFI_JSON_MAX_DEPTH + 1, objects);
        v = nfi_json_parse(deep, strlen(deep), NULL, &err);
        check_true(v == NULL && contains(err.message, "deeper than 1000"),
                   "%d nested: \"%s\"", NFI_JSON_MAX_DEPTH + 1, err.message);
        free(deep);
    }

    /* The writer has no limit of its own: 5000 levels written and the
     * text as expected. */
    nfi_json_writer *w = nfi_json_writer_new();
    for (int i = 0; i < 5000; i++)
        nfi_json_begin_array(w);
    nfi_json_int(w, 1);
    for (int i = 0; i < 5000; i++)
        nfi_json_end_array(w);
    size_t len = 0;
    const char *text = nfi_json_writer_text(w, &len, NULL);
    /* N brackets each way, "1" and the final '\n'; before the opening
     * at level k (from 1) a line end and 2k spaces, before the closing
     * at level k (from 0) a line end and 2k spaces. */
    size_t expected = 2 * 5000 + 1 + 1;
    for (size_t k = 0; k < 5000; k++)
        expected += (1 + 2 * (k + 1)) + (1 + 2 * k);
    check_true(text != NULL && text[0] == '[' && len == expected &&
               strncmp(text + 5000 * 5001 + 2 * 5000, "1\n", 2) == 0,
               "5000 nested arrays: %zu bytes, expected %zu", len,
               expected);
    nfi_json_writer_free(w);
}

static void check_accessors(void)
{
    static const char text[] =
        "{\n"
        "  \"optimizer\": {\"name\": \"adam\", \"lr\": \"0.1\",\n"
        "                \"betas\": [0.9, 0.999], \"eps\": 1e-8},\n"
        "  \"layers\": [1, 2, {\"width\": 1.5}],\n"
        "  \"seed\": 18446744073709551615,\n"
        "  \"odd key\": true,\n"
        "  \"big\": 1e400, \"small\": 1e-400,\n"
        "  \"z\": 0, \"a\": 1, \"m\": 2,\n"
        "  \"special\": [\"nan\", \"inf\", \"-inf\", \"NaN\"]\n"
        "}\n";
    nfi_error err = {""};
    nfi_json_value *root = nfi_json_parse(text, strlen(text), "config.json",
                                          &err);
    if (!check_true(root != NULL, "accessor document: %s", err.message))
        return;
    const nfi_json_value *opt = nfi_json_member(root, "optimizer", &err);
    const nfi_json_value *lr = nfi_json_member(opt, "lr", &err);
    double x = 0;
    check_true(nfi_json_as_double(lr, &x, &err) == -1 &&
               contains(err.message, "config.json:2:39: $.optimizer.lr is "
                        "the string \"0.1\""), "string as number: \"%s\"",
               err.message);
    long line, column;
    nfi_json_position(lr, &line, &column);
    check_true(line == 2 && column == 39, "position of lr: %ld:%ld", line,
               column);
    check_true(nfi_json_member(opt, "momentum", &err) == NULL &&
               contains(err.message, "config.json:2:16: $.optimizer has no "
                        "member \"momentum\""), "missing member: \"%s\"",
               err.message);
    const nfi_json_value *eps = nfi_json_get(opt, "eps");
    check_true(nfi_json_as_double(eps, &x, &err) == 0 && x == 1e-8,
               "eps: %s", err.message);
    const nfi_json_value *betas = nfi_json_get(opt, "betas");
    check_true(nfi_json_length(betas) == 2 &&
               nfi_json_as_double(nfi_json_at(betas, 1), &x, NULL) == 0 &&
               x == 0.999 && nfi_json_at(betas, 2) == NULL, "betas");
    const char *s = NULL;
    check_true(nfi_json_as_string(nfi_json_get(opt, "name"), &s, NULL, &err)
               == 0 && strcmp(s, "adam") == 0, "name");

    const nfi_json_value *layers = nfi_json_get(root, "layers");
    const nfi_json_value *width = nfi_json_get(nfi_json_at(layers, 2),
                                               "width");
    int64_t i = 0;
    check_true(nfi_json_as_int64(width, &i, &err) == -1 &&
               contains(err.message, "$.layers[2].width is 1.5, expected "
                        "an integer"), "fraction as integer: \"%s\"",
               err.message);
    check_true(nfi_json_member(layers, "x", &err) == NULL &&
               contains(err.message, "config.json:4:13: $.layers is an "
                        "array, expected an object"), "member of an array: "
               "\"%s\"", err.message);

    const nfi_json_value *seed = nfi_json_get(root, "seed");
    uint64_t u = 0;
    check_true(nfi_json_as_uint64(seed, &u, &err) == 0 && u == UINT64_MAX,
               "seed as uint64: %s", err.message);
    check_true(nfi_json_as_int64(seed, &i, &err) == -1 &&
               contains(err.message, "$.seed is 18446744073709551615, "
                        "beyond the range"), "seed as int64: \"%s\"",
               err.message);
    check_true(nfi_json_as_string(seed, &s, NULL, &err) == -1 &&
               contains(err.message, "$.seed is a number, expected a "
                        "string"), "number as string: \"%s\"", err.message);
    bool b = false;
    const nfi_json_value *odd = nfi_json_get(root, "odd key");
    check_true(nfi_json_as_bool(odd, &b, &err) == 0 && b, "odd key");
    check_true(nfi_json_as_double(odd, &x, &err) == -1 &&
               contains(err.message, "$[\"odd key\"] is a boolean"),
               "path of an odd key: \"%s\"", err.message);
    check_true(nfi_json_as_double(nfi_json_get(root, "big"), &x, &err) == -1
               && contains(err.message, "beyond the range of binary64"),
               "1e400: \"%s\"", err.message);
    check_true(nfi_json_as_double(nfi_json_get(root, "small"), &x, &err)
               == 0 && x == 0, "1e-400 underflows to 0");
    check_true(nfi_json_as_uint64(nfi_json_at(layers, 0), &u, &err) == 0 &&
               u == 1, "uint64 of 1");

    /* Members keep the document's order. */
    size_t n = nfi_json_length(root);
    check_true(n == 10 && strcmp(nfi_json_key_at(root, 6), "z") == 0 &&
               strcmp(nfi_json_key_at(root, 7), "a") == 0 &&
               strcmp(nfi_json_key_at(root, 8), "m") == 0 &&
               nfi_json_key_at(root, 10) == NULL && nfi_json_at(root, 10) ==
               NULL, "member order (%zu members)", n);

    const nfi_json_value *special = nfi_json_get(root, "special");
    double nan_value = 0, inf = 0, minus_inf = 0;
    check_true(nfi_json_as_double(nfi_json_at(special, 0), &nan_value, NULL)
               == 0 && isnan(nan_value) &&
               nfi_json_as_double(nfi_json_at(special, 1), &inf, NULL) == 0
               && inf == INFINITY &&
               nfi_json_as_double(nfi_json_at(special, 2), &minus_inf, NULL)
               == 0 && minus_inf == -INFINITY, "the strings nan, inf, -inf "
               "as doubles");
    check_true(nfi_json_as_double(nfi_json_at(special, 3), &x, &err) == -1,
               "\"NaN\" is not the writer's spelling");

    char path[64];
    check_true(nfi_json_path(root, path, sizeof path) == 1 &&
               strcmp(path, "$") == 0, "root path");
    int len = nfi_json_path(width, path, 8);
    check_true(len == 17 && strcmp(path, "$.layer") == 0, "short path "
               "buffer: %d \"%s\"", len, path);
    check_true(nfi_json_get(layers, "x") == NULL && nfi_json_length(seed)
               == 0 && nfi_json_at(seed, 0) == NULL &&
               nfi_json_number_text(odd) == NULL &&
               nfi_json_type_of(root) == NFI_JSON_OBJECT &&
               strcmp(nfi_json_type_name(NFI_JSON_ARRAY), "an array") == 0,
               "lookups of the wrong type");
    nfi_json_free(root);
    nfi_json_free(NULL);
}

/* A random value of at most `depth` more levels. */
static void random_value(nfi_json_writer *w, test_rng *rng, int depth)
{
    int kind = (int)rng_below(rng, depth > 0 ? 9 : 7);
    switch (kind) {
    case 0:
        nfi_json_null(w);
        break;
    case 1:
        nfi_json_bool(w, rng_below(rng, 2));
        break;
    case 2:
        nfi_json_int(w, (int64_t)rng_next(rng) >> rng_below(rng, 64));
        break;
    case 3:
        nfi_json_uint(w, rng_next(rng));
        break;
    case 4: {
        uint64_t bits = rng_next(rng);
        double x;
        memcpy(&x, &bits, sizeof x);
        nfi_json_double(w, rng_below(rng, 2) ? x : ldexp(rng_unit(rng),
                        (int)rng_range(rng, -1100, 1100)));
        break;
    }
    case 5:
    case 6: {
        /* Code points of every length, controls and quotes included. */
        unsigned char s[200];
        size_t len = 0, count = rng_below(rng, 30);
        for (size_t k = 0; k < count; k++) {
            uint32_t cp;
            switch (rng_below(rng, 4)) {
            case 0: cp = (uint32_t)rng_below(rng, 0x80); break;
            case 1: cp = (uint32_t)rng_range(rng, 0x80, 0x7ff); break;
            case 2: cp = (uint32_t)rng_range(rng, 0x800, 0xd7ff); break;
            default: cp = (uint32_t)rng_range(rng, 0x10000, 0x10ffff);
            }
            len += cp < 0x80 ? (s[len] = (unsigned char)cp, 1)
                 : cp < 0x800 ? (s[len] = (unsigned char)(0xc0 | cp >> 6),
                                 s[len + 1] = (unsigned char)(0x80 |
                                                              (cp & 0x3f)),
                                 2)
                 : cp < 0x10000 ? (s[len] = (unsigned char)(0xe0 | cp >> 12),
                                   s[len + 1] = (unsigned char)(0x80 |
                                                (cp >> 6 & 0x3f)),
                                   s[len + 2] = (unsigned char)(0x80 |
                                                (cp & 0x3f)), 3)
                 : (s[len] = (unsigned char)(0xf0 | cp >> 18),
                    s[len + 1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
                    s[len + 2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
                    s[len + 3] = (unsigned char)(0x80 | (cp & 0x3f)), 4);
        }
        nfi_json_string_len(w, (const char *)s, len);
        break;
    }
    case 7: {
        nfi_json_begin_array(w);
        size_t count = rng_below(rng, 6);
        for (size_t k = 0; k < count; k++)
            random_value(w, rng, depth - 1);
        nfi_json_end_array(w);
        break;
    }
    default: {
        nfi_json_begin_object(w);
        size_t count = rng_below(rng, 6);
        for (size_t k = 0; k < count; k++) {
            char key[48];
            snprintf(key, sizeof key, "k%zu \"\\\t\xc3\xa9%u", k,
                     (unsigned)rng_below(rng, 1000));
            nfi_json_key(w, key);
            random_value(w, rng, depth - 1);
        }
        nfi_json_end_object(w);
    }
    }
}

/* Writes v again: integers as integers, other numbers as doubles. */
static void rewrite(nfi_json_writer *w, const nfi_json_value *v)
{
    int64_t i;
    uint64_t u;
    double x;
    bool b;
    const char *s;
    size_t len;
    switch (nfi_json_type_of(v)) {
    case NFI_JSON_NULL:
        nfi_json_null(w);
        break;
    case NFI_JSON_BOOL:
        nfi_json_as_bool(v, &b, NULL);
        nfi_json_bool(w, b);
        break;
    case NFI_JSON_NUMBER:
        if (nfi_json_as_int64(v, &i, NULL) == 0)
            nfi_json_int(w, i);
        else if (nfi_json_as_uint64(v, &u, NULL) == 0)
            nfi_json_uint(w, u);
        else if (nfi_json_as_double(v, &x, NULL) == 0)
            nfi_json_double(w, x);
        break;
    case NFI_JSON_STRING:
        nfi_json_as_string(v, &s, &len, NULL);
        nfi_json_string_len(w, s, len);
        break;
    case NFI_JSON_ARRAY:
        nfi_json_begin_array(w);
        for (size_t k = 0; k < nfi_json_length(v); k++)
            rewrite(w, nfi_json_at(v, k));
        nfi_json_end_array(w);
        break;
    case NFI_JSON_OBJECT:
        nfi_json_begin_object(w);
        for (size_t k = 0; k < nfi_json_length(v); k++) {
            nfi_json_key(w, nfi_json_key_at(v, k));
            rewrite(w, nfi_json_at(v, k));
        }
        nfi_json_end_object(w);
        break;
    }
}

static void check_random_documents(void)
{
    test_rng rng;
    rng_init(&rng, harness_seed(), 3);
    for (int doc = 0; doc < 300; doc++) {
        nfi_json_writer *w = nfi_json_writer_new();
        random_value(w, &rng, (int)rng_below(&rng, 7));
        size_t len = 0;
        nfi_error err = {""};
        const char *text = nfi_json_writer_text(w, &len, &err);
        if (!check_true(text != NULL, "random document %d: %s", doc,
                        err.message)) {
            nfi_json_writer_free(w);
            continue;
        }
        nfi_json_value *v = nfi_json_parse(text, len, "random", &err);
        nfi_json_writer *again = nfi_json_writer_new();
        if (v != NULL)
            rewrite(again, v);
        size_t len2 = 0;
        const char *text2 = nfi_json_writer_text(again, &len2, NULL);
        check_true(v != NULL && text2 != NULL && len2 == len &&
                   memcmp(text, text2, len) == 0, "random document %d does "
                   "not come back the same (%s):\n%.300s", doc, err.message,
                   text);
        nfi_json_free(v);
        nfi_json_writer_free(again);
        nfi_json_writer_free(w);
    }
}

static void check_files(void)
{
    const char *path = path_in(dir, "round.json");
    nfi_json_writer *w = nfi_json_writer_new();
    nfi_json_begin_object(w);
    nfi_json_key(w, "format");
    nfi_json_string(w, "bfloat16,round=sr");
    nfi_json_key(w, "eps");
    nfi_json_double(w, 1e-300);
    nfi_json_end_object(w);
    nfi_error err = {""};
    check_true(nfi_json_writer_save(w, path, &err) == 0, "save: %s",
               err.message);
    nfi_json_writer_free(w);

    nfi_json_value *v = nfi_json_parse_file(path, &err);
    double eps = 0;
    check_true(v != NULL && nfi_json_as_double(nfi_json_get(v, "eps"), &eps,
                                               &err) == 0 && eps == 1e-300,
               "read back from the file: %s", err.message);
    check_true(nfi_json_as_int64(nfi_json_get(v, "format"), NULL, &err)
               == -1 && contains(err.message, path) &&
               contains(err.message, ":2:13: $.format is a string"),
               "message names the file: \"%s\"", err.message);
    nfi_json_free(v);

    file_write(path, "{\n  \"a\": [1, 2,]\n}\n", 19);
    check_true(nfi_json_parse_file(path, &err) == NULL &&
               contains(err.message, path) && contains(err.message, ":2:14:"),
               "parse error in a file: \"%s\"", err.message);
    const char *missing = path_in(dir, "missing.json");
    check_true(nfi_json_parse_file(missing, &err) == NULL &&
               contains(err.message, missing), "missing file: \"%s\"",
               err.message);
}

int main(void)
{
    harness_init("test_json", 1);
    dir = temp_dir_make("json");
    check_layout();
    check_numbers();
    check_strings();
    check_misuse();
    check_parse_errors();
    check_depth();
    check_accessors();
    check_random_documents();
    check_files();
    temp_dir_remove(dir);
    return harness_finish();
}
