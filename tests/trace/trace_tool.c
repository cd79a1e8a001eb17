/* A helper for the Python tests of sim/trace: writes files with nfi for
 * NumPy or Python's json and csv to read, and reads theirs with nfi.
 *
 *   trace_tool npy-write DIR       arrays of every dtype and many shapes,
 *                                  and DIR/manifest.txt describing each
 *   trace_tool npy-dump FILE       "DTYPE NDIM D0 D1 ...\nHEX\n" of the
 *                                  array (hex of its little-endian bytes)
 *   trace_tool json-write FILE     a document of tricky strings and
 *                                  numbers
 *   trace_tool json-echo FILE      parses FILE and writes it again on
 *                                  standard output
 *   trace_tool csv-write FILE HEX  a table of random values and, in HEX,
 *                                  the same values as %a
 *
 * Errors go to standard error with exit status 1. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "trace/csv.h"
#include "trace/json.h"
#include "trace/npy.h"

static int fail(const nfi_error *err)
{
    fprintf(stderr, "trace_tool: %s\n", err->message);
    return 1;
}

static void print_hex(FILE *out, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", p[i]);
    fputc('\n', out);
}

static int npy_write(const char *dir)
{
    static const struct {
        int ndim;
        size_t shape[4];
    } shapes[] = {
        {0, {0}}, {1, {0}}, {1, {1}}, {1, {5}}, {2, {2, 3}}, {3, {2, 0, 3}},
        {3, {2, 3, 4}}, {4, {1, 2, 1, 3}}, {1, {1000}},
    };
    char manifest_path[4096];
    snprintf(manifest_path, sizeof manifest_path, "%s/manifest.txt", dir);
    FILE *manifest = fopen(manifest_path, "w");
    if (manifest == NULL) {
        perror(manifest_path);
        return 1;
    }
    test_rng rng;
    rng_init(&rng, 7, 0);
    for (int d = 0; d < NFI_DTYPE_COUNT; d++) {
        nfi_dtype dtype = (nfi_dtype)d;
        size_t size = nfi_dtype_size(dtype);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int overflow;
            size_t count = nfi_npy_count(shapes[s].ndim, shapes[s].shape,
                                         size, &overflow);
            unsigned char *data = malloc(count * size + 1);
            for (size_t i = 0; i < count * size; i++)
                data[i] = (unsigned char)rng_next(&rng);
            if (dtype == NFI_DTYPE_FLOAT64 && count >= 3) {
                double special[3] = {-0.0, NAN, 0x1p-1074};
                memcpy(data, special, sizeof special);
            }
            char name[64], path[4096];
            snprintf(name, sizeof name, "%s_%zu.npy", nfi_dtype_name(dtype),
                     s);
            snprintf(path, sizeof path, "%s/%s", dir, name);
            nfi_error err;
            if (nfi_npy_write(path, dtype, shapes[s].ndim, shapes[s].shape,
                              data, &err) != 0)
                return fail(&err);
            fprintf(manifest, "%s %s %d", name, nfi_dtype_descr(dtype),
                    shapes[s].ndim);
            for (int k = 0; k < shapes[s].ndim; k++)
                fprintf(manifest, " %zu", shapes[s].shape[k]);
            fprintf(manifest, " : ");
            print_hex(manifest, data, count * size);
            free(data);
        }
    }
    return fclose(manifest) == 0 ? 0 : 1;
}

static int npy_dump(const char *path)
{
    nfi_npy_array a;
    nfi_error err;
    if (nfi_npy_read(path, &a, &err) != 0)
        return fail(&err);
    printf("%s %d", nfi_dtype_descr(a.dtype), a.ndim);
    for (int k = 0; k < a.ndim; k++)
        printf(" %zu", a.shape[k]);
    printf("\n");
    print_hex(stdout, a.data, a.count * nfi_dtype_size(a.dtype));
    nfi_npy_free(&a);
    return 0;
}

static int json_write(const char *path)
{
    nfi_json_writer *w = nfi_json_writer_new();
    nfi_json_begin_object(w);
    nfi_json_key(w, "strings");
    nfi_json_begin_array(w);
    nfi_json_string(w, "plain");
    nfi_json_string(w, "quote \" backslash \\ slash /");
    nfi_json_string(w, "\b\f\n\r\t\x01\x1f\x7f");
    nfi_json_string_len(w, "nul\0inside", 10);
    nfi_json_string(w, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
    nfi_json_end_array(w);
    nfi_json_key(w, "doubles");
    nfi_json_begin_array(w);
    static const double doubles[] = {0.1, 1e-300, 0x1p53 + 2, -0.0,
                                     0x1p-1074, 1.7976931348623157e308,
                                     1.0 / 3, -2.5, 0x1.fffffffffffffp-1};
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++)
        nfi_json_double(w, doubles[i]);
    nfi_json_double(w, NAN);
    nfi_json_double(w, INFINITY);
    nfi_json_double(w, -INFINITY);
    nfi_json_end_array(w);
    nfi_json_key(w, "integers");
    nfi_json_begin_array(w);
    nfi_json_int(w, INT64_MIN);
    nfi_json_int(w, INT64_MAX);
    nfi_json_int(w, (INT64_C(1) << 53) + 1);
    nfi_json_uint(w, UINT64_MAX);
    nfi_json_end_array(w);
    nfi_json_key(w, "literals");
    nfi_json_begin_array(w);
    nfi_json_bool(w, true);
    nfi_json_bool(w, false);
    nfi_json_null(w);
    nfi_json_end_array(w);
    nfi_json_key(w, "empty object");
    nfi_json_begin_object(w);
    nfi_json_end_object(w);
    nfi_json_key(w, "empty array");
    nfi_json_begin_array(w);
    nfi_json_end_array(w);
    nfi_json_end_object(w);
    nfi_error err;
    int status = nfi_json_writer_save(w, path, &err);
    nfi_json_writer_free(w);
    return status == 0 ? 0 : fail(&err);
}

/* Writes v with w: numbers by their text's double, or as integers when
 * their text is one that fits. */
static void echo(nfi_json_writer *w, const nfi_json_value *v)
{
    const char *s;
    size_t len;
    int64_t i;
    uint64_t u;
    double x;
    bool b;
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
        else
            nfi_json_string(w, nfi_json_number_text(v));
        break;
    case NFI_JSON_STRING:
        nfi_json_as_string(v, &s, &len, NULL);
        nfi_json_string_len(w, s, len);
        break;
    case NFI_JSON_ARRAY:
        nfi_json_begin_array(w);
        for (size_t k = 0; k < nfi_json_length(v); k++)
            echo(w, nfi_json_at(v, k));
        nfi_json_end_array(w);
        break;
    case NFI_JSON_OBJECT:
        nfi_json_begin_object(w);
        for (size_t k = 0; k < nfi_json_length(v); k++) {
            nfi_json_key(w, nfi_json_key_at(v, k));
            echo(w, nfi_json_at(v, k));
        }
        nfi_json_end_object(w);
        break;
    }
}

static int json_echo(const char *path)
{
    nfi_error err;
    nfi_json_value *root = nfi_json_parse_file(path, &err);
    if (root == NULL)
        return fail(&err);
    nfi_json_writer *w = nfi_json_writer_new();
    echo(w, root);
    nfi_json_free(root);
    size_t len;
    const char *text = nfi_json_writer_text(w, &len, &err);
    if (text == NULL) {
        nfi_json_writer_free(w);
        return fail(&err);
    }
    fwrite(text, 1, len, stdout);
    nfi_json_writer_free(w);
    return 0;
}

static int csv_write(const char *path, const char *hex_path)
{
    static const char *const names[] = {"step", "loss", "tiny", "any_bits",
                                        "count"};
    nfi_error err;
    nfi_csv_writer *w = nfi_csv_create(path, 5, names, &err);
    FILE *hex = fopen(hex_path, "w");
    if (w == NULL || hex == NULL)
        return w == NULL ? fail(&err) : 1;
    test_rng rng;
    rng_init(&rng, 11, 0);
    for (int64_t step = 0; step < 2000; step++) {
        double loss = rng_unit(&rng) * 10;
        double tiny = ldexp(rng_unit(&rng), -(int)rng_below(&rng, 1100));
        uint64_t bits = rng_next(&rng);
        double any;
        memcpy(&any, &bits, sizeof any);
        if (step % 97 == 0)
            any = step % 2 ? INFINITY : -INFINITY;
        if (step % 101 == 0)
            any = NAN;
        int64_t count = (int64_t)rng_next(&rng);
        nfi_csv_add_int(w, step);
        nfi_csv_add_double(w, loss);
        nfi_csv_add_double(w, tiny);
        nfi_csv_add_double(w, any);
        nfi_csv_add_int(w, count);
        if (nfi_csv_end_row(w, &err) != 0)
            return fail(&err);
        fprintf(hex, "%" PRId64 " %a %a %a %" PRId64 "\n", step, loss, tiny,
                any, count);
    }
    fclose(hex);
    return nfi_csv_close(w, &err) == 0 ? 0 : fail(&err);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "npy-write") == 0)
        return npy_write(argv[2]);
    if (argc == 3 && strcmp(argv[1], "npy-dump") == 0)
        return npy_dump(argv[2]);
    if (argc == 3 && strcmp(argv[1], "json-write") == 0)
        return json_write(argv[2]);
    if (argc == 3 && strcmp(argv[1], "json-echo") == 0)
        return json_echo(argv[2]);
    if (argc == 4 && strcmp(argv[1], "csv-write") == 0)
        return csv_write(argv[2], argv[3]);
    fprintf(stderr, "usage: trace_tool npy-write DIR | npy-dump FILE | "
            "json-write FILE | json-echo FILE | csv-write FILE HEX\n");
    return 2;
}
