/* NumPy .npy files (sim/trace/npy.h): every dtype and many shapes read
 * back bit for bit (NaN payloads, -0, subnormals, integer extremes); the
 * header byte for byte as np.save writes it; the data aligned on 64
 * bytes; the reader's checks of magic, version, descriptor, order,
 * shape and size, each with a message naming the file; and the headers
 * of other writers (version 2.0, double quotes, keys in another order).
 *
 * Why: snapshots are the bit-exact ground truth users compare their own
 * low-precision code against, through NumPy and PyTorch.  A byte out of
 * place in the header makes np.load fail; a wrong size check lets a
 * truncated snapshot pass as valid. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "trace/npy.h"
#include "trace_util.h"

static char *dir;

static const struct {
    int ndim;
    size_t shape[NFI_NPY_MAX_DIMS];
} shapes[] = {
    {0, {0}},
    {1, {0}},
    {1, {1}},
    {1, {7}},
    {1, {64}},
    {2, {2, 3}},
    {2, {0, 5}},
    {3, {3, 0, 2}},
    {3, {2, 3, 4}},
    {5, {1, 1, 1, 1, 1}},
    {2, {1000, 3}},
    {1, {100003}},
    {32, {1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1,
          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}},
};

#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

/* Random elements, with the special values of the type first. */
static void *make_data(nfi_dtype dtype, size_t count, test_rng *rng)
{
    size_t size = nfi_dtype_size(dtype);
    unsigned char *data = malloc(count * size + 1);
    for (size_t i = 0; i < count * size; i++)
        data[i] = (unsigned char)rng_next(rng);
    static const uint64_t f64[] = {
        0x7ff8000000000001u, /* NaN with a payload */
        0xfff8000000000000u, /* -NaN */
        0x8000000000000000u, /* -0 */
        0x0000000000000001u, /* smallest subnormal */
        0x7fefffffffffffffu, /* largest finite */
        0x7ff0000000000000u, /* inf */
        0x3fb999999999999au, /* 0.1 */
    };
    static const uint32_t f32[] = {0x7fc00001u, 0x80000000u, 0x00000001u,
                                   0x7f7fffffu, 0xff800000u};
    static const int64_t i64[] = {INT64_MIN, INT64_MAX, -1, 0};
    static const int32_t i32[] = {INT32_MIN, INT32_MAX, -1, 0};
    const void *special = NULL;
    size_t n = 0;
    switch (dtype) {
    case NFI_DTYPE_FLOAT64: special = f64; n = 7; break;
    case NFI_DTYPE_FLOAT32: special = f32; n = 5; break;
    case NFI_DTYPE_INT64: special = i64; n = 4; break;
    case NFI_DTYPE_INT32: special = i32; n = 4; break;
    case NFI_DTYPE_UINT8: break;
    }
    if (n > count)
        n = count;
    if (n > 0)
        memcpy(data, special, n * size);
    return data;
}

static void check_round_trips(void)
{
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    for (int d = 0; d < NFI_DTYPE_COUNT; d++) {
        nfi_dtype dtype = (nfi_dtype)d;
        size_t size = nfi_dtype_size(dtype);
        for (size_t s = 0; s < SHAPE_COUNT; s++) {
            int overflow;
            size_t count = nfi_npy_count(shapes[s].ndim, shapes[s].shape,
                                         size, &overflow);
            void *data = make_data(dtype, count, &rng);
            const char *path = path_in(dir, "a.npy");
            nfi_error err = {""};
            if (!check_true(nfi_npy_write(path, dtype, shapes[s].ndim,
                                          shapes[s].shape, data, &err) == 0,
                            "write %s shape #%zu: %s",
                            nfi_dtype_name(dtype), s, err.message)) {
                free(data);
                continue;
            }

            /* The file: a header of a multiple of 64 bytes, then exactly
             * the data. */
            char header[NFI_NPY_HEADER_MAX];
            long header_len = nfi_npy_header(dtype, shapes[s].ndim,
                                             shapes[s].shape, header,
                                             sizeof header, NULL);
            size_t len;
            char *file = file_read(path, &len);
            check_true(header_len > 0 && header_len % 64 == 0 &&
                       file != NULL && len == (size_t)header_len +
                       count * size && memcmp(file, header,
                                              (size_t)header_len) == 0 &&
                       memcmp(file + header_len, data, count * size) == 0,
                       "%s shape #%zu: file of %zu bytes, header %ld, "
                       "data %zu", nfi_dtype_name(dtype), s, len,
                       header_len, count * size);
            free(file);

            nfi_npy_array a;
            if (check_true(nfi_npy_read(path, &a, &err) == 0, "read %s "
                           "shape #%zu: %s", nfi_dtype_name(dtype), s,
                           err.message)) {
                bool same_shape = a.ndim == shapes[s].ndim;
                for (int k = 0; same_shape && k < a.ndim; k++)
                    same_shape = a.shape[k] == shapes[s].shape[k];
                check_true(a.dtype == dtype && same_shape &&
                           a.count == count && a.data != NULL &&
                           memcmp(a.data, data, count * size) == 0,
                           "%s shape #%zu read back: dtype %d ndim %d "
                           "count %zu", nfi_dtype_name(dtype), s,
                           (int)a.dtype, a.ndim, a.count);
                nfi_npy_free(&a);
                check_true(a.data == NULL && a.ndim == 0, "free empties");
            }
            free(data);
        }
    }
}

/* The bytes np.save writes for np.arange(6.0).reshape(2, 3) (NumPy
 * 1.24): 10 bytes of prefix, the dictionary, 21 - 1 spaces kept for the
 * first axis to grow, padding to 127 bytes and '\n'. */
static void check_layout(void)
{
    static const char dict[] = "{'descr': '<f8', 'fortran_order': False, "
                               "'shape': (2, 3), }";
    char expected[128];
    memcpy(expected, "\x93NUMPY\x01\x00\x76\x00", 10);
    memcpy(expected + 10, dict, sizeof dict - 1);
    memset(expected + 10 + sizeof dict - 1, ' ',
           127 - 10 - (sizeof dict - 1));
    expected[127] = '\n';
    /* 118 = 0x76 bytes of header after the prefix. */
    check_true(10 + sizeof dict - 1 == 69, "the dictionary is %zu bytes",
               sizeof dict - 1);

    double values[6] = {0, 1, 2, 3, 4, 5};
    size_t shape[2] = {2, 3};
    const char *path = path_in(dir, "arange.npy");
    nfi_error err = {""};
    nfi_npy_write(path, NFI_DTYPE_FLOAT64, 2, shape, values, &err);
    size_t len;
    unsigned char *file = (unsigned char *)file_read(path, &len);
    check_true(file != NULL && len == 128 + 48 &&
               memcmp(file, expected, 128) == 0, "header of arange(6.0)"
               ".reshape(2, 3) byte for byte");
    /* Little-endian binary64: 1.0 is 00 .. 00 f0 3f. */
    static const unsigned char one[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    check_true(file != NULL && len == 176 &&
               memcmp(file + 128 + 8, one, 8) == 0, "1.0 in little-endian "
               "at offset 136");
    free(file);

    /* The other headers NumPy writes, from np.save. */
    static const struct {
        nfi_dtype dtype;
        int ndim;
        size_t shape[2];
        const char *dict;
        int spaces;
    } known[] = {
        {NFI_DTYPE_FLOAT32, 0, {0}, "{'descr': '<f4', 'fortran_order': "
         "False, 'shape': (), }", 0},
        {NFI_DTYPE_UINT8, 1, {0}, "{'descr': '|u1', 'fortran_order': "
         "False, 'shape': (0,), }", 20},
        {NFI_DTYPE_INT32, 2, {1000000000000, 0}, "{'descr': '<i4', "
         "'fortran_order': False, 'shape': (1000000000000, 0), }", 8},
        {NFI_DTYPE_INT64, 1, {5}, "{'descr': '<i8', 'fortran_order': "
         "False, 'shape': (5,), }", 20},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char header[NFI_NPY_HEADER_MAX];
        long n = nfi_npy_header(known[i].dtype, known[i].ndim,
                                known[i].shape, header, sizeof header,
                                &err);
        size_t dlen = strlen(known[i].dict);
        bool ok = n == 128 && memcmp(header, "\x93NUMPY\x01\x00\x76\x00",
                                     10) == 0 &&
                  memcmp(header + 10, known[i].dict, dlen) == 0 &&
                  header[127] == '\n';
        for (long k = 10 + (long)dlen; ok && k < 127; k++)
            ok = header[k] == ' ';
        check_true(ok, "header of %s", known[i].dict);
    }

    /* A shape whose dictionary passes a multiple of 64: padding goes on
     * to the next one, as NumPy's rule gives. */
    size_t wide[8] = {123456789, 123456789, 123456789, 123456789,
                      123456789, 123456789, 123456789, 1};
    char header[NFI_NPY_HEADER_MAX];
    long n = nfi_npy_header(NFI_DTYPE_UINT8, 8, wide, header,
                            sizeof header, &err);
    check_true(n == 192 && header[n - 1] == '\n' && header[n - 2] == ' ' &&
               ((unsigned char)header[8] | (unsigned char)header[9] << 8) ==
               n - 10, "header of an 8-d "
               "shape: %ld bytes", n);
    check_true(nfi_npy_header(NFI_DTYPE_UINT8, 8, wide, header, 100, &err)
               == -1, "a header buffer too small");
}

/* Writes a .npy file by hand: the prefix of a version and the dictionary
 * text padded to 64 bytes, then data_len bytes of data. */
static void write_raw(const char *path, int major, int minor,
                      const char *dict, size_t data_len)
{
    size_t prefix = major == 1 ? 10 : 12;
    size_t total = prefix + strlen(dict) + 1;
    total += (64 - total % 64) % 64;
    size_t header_len = total - prefix;
    unsigned char *file = calloc(1, total + data_len);
    memcpy(file, "\x93NUMPY", 6);
    file[6] = (unsigned char)major;
    file[7] = (unsigned char)minor;
    file[8] = (unsigned char)(header_len & 0xff);
    file[9] = (unsigned char)(header_len >> 8);
    memcpy(file + prefix, dict, strlen(dict));
    memset(file + prefix + strlen(dict), ' ', header_len - strlen(dict));
    file[total - 1] = '\n';
    for (size_t i = 0; i < data_len; i++)
        file[total + i] = (unsigned char)i;
    file_write(path, file, total + data_len);
    free(file);
}

static void check_other_writers(void)
{
    const char *path = path_in(dir, "other.npy");
    nfi_npy_array a;
    nfi_error err = {""};

    write_raw(path, 1, 0, "{\"shape\": (2,3,), \"fortran_order\": False, "
              "\"descr\": \"<i4\"}", 24);
    check_true(nfi_npy_read(path, &a, &err) == 0 &&
               a.dtype == NFI_DTYPE_INT32 && a.ndim == 2 &&
               a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6,
               "double quotes, keys reordered, no trailing comma: %s",
               err.message);
    nfi_npy_free(&a);

    write_raw(path, 2, 0, "{'descr': '<f8', 'fortran_order': False, "
              "'shape': (3,), }", 24);
    check_true(nfi_npy_read(path, &a, &err) == 0 && a.count == 3 &&
               ((unsigned char *)a.data)[9] == 9, "version 2.0: %s",
               err.message);
    nfi_npy_free(&a);

    write_raw(path, 3, 0, "{'descr': '<u1', 'fortran_order': False, "
              "'shape': (4L,), }", 4);
    check_true(nfi_npy_read(path, &a, &err) == 0 &&
               a.dtype == NFI_DTYPE_UINT8 && a.count == 4, "version 3.0, "
               "'<u1', a Python 2 long: %s", err.message);
    nfi_npy_free(&a);
}

/* Bad files: the message names the file and contains a word saying what
 * is wrong. */
static void check_bad(const char *dict, int major, int minor,
                      size_t data_len, const char *needle)
{
    const char *path = path_in(dir, "bad.npy");
    write_raw(path, major, minor, dict, data_len);
    nfi_npy_array a;
    a.data = (void *)&a;
    nfi_error err = {""};
    int status = nfi_npy_read(path, &a, &err);
    check_true(status == -1 && strstr(err.message, path) != NULL &&
               strstr(err.message, needle) != NULL && a.data == NULL,
               "bad file %s (version %d.%d, %zu data bytes): status %d, "
               "message \"%s\" should hold \"%s\"", dict, major, minor,
               data_len, status, err.message, needle);
}

static void check_reader_errors(void)
{
    const char *good = "{'descr': '<f8', 'fortran_order': False, "
                       "'shape': (2, 3), }";
    check_bad(good, 1, 0, 47, "truncated");
    check_bad(good, 1, 0, 49, "too long");
    check_bad(good, 1, 0, 0, "needs 48");
    check_bad(good, 4, 0, 48, "version 4.0");
    check_bad(good, 1, 1, 48, "version 1.1");
    check_bad("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
              1, 0, 16, "'>f8'");
    check_bad("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }",
              1, 0, 32, "'<c16'");
    check_bad("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
              1, 0, 32, "Fortran");
    check_bad("{'descr': '<f8', 'fortran_order': False, 'shape': (2), }",
              1, 0, 16, "shape");
    check_bad("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }",
              1, 0, 16, "shape");
    check_bad("{'descr': '<f8', 'fortran_order': False, 'shape': (a,), }",
              1, 0, 16, "shape");
    check_bad("{'descr': '<f8', 'fortran_order': False, 'shape': "
              "(99999999999999999999999,), }", 1, 0, 16, "shape");
    check_bad("{'descr': '<f8', 'fortran_order': False, 'shape': "
              "(4294967296, 4294967296, 4294967296), }", 1, 0, 16,
              "too large");
    check_bad("{'descr': '<f8', 'fortran_order': False}", 1, 0, 8,
              "lacks 'shape'");
    check_bad("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), "
              "'extra': 1}", 1, 0, 8, "'extra'");
    check_bad("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, "
              "'shape': (1,)}", 1, 0, 8, "repeated");
    check_bad("['descr', '<f8']", 1, 0, 8, "malformed");
    check_bad("{'descr': [('a', '<f8')], 'fortran_order': False, "
              "'shape': (1,)}", 1, 0, 8, "malformed");
    check_bad("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x",
              1, 0, 8, "malformed");

    /* Not .npy at all, empty, cut inside the header, missing. */
    const char *path = path_in(dir, "bad.npy");
    nfi_npy_array a;
    nfi_error err = {""};
    static const char zip[] = "PK\x03\x04 a zip file, e.g. .npz";
    file_write(path, zip, sizeof zip - 1);
    check_true(nfi_npy_read(path, &a, &err) == -1 &&
               strstr(err.message, "not a .npy file") != NULL, "bad magic: "
               "\"%s\"", err.message);
    file_write(path, "", 0);
    check_true(nfi_npy_read(path, &a, &err) == -1 &&
               strstr(err.message, "not a .npy file") != NULL, "empty file: "
               "\"%s\"", err.message);
    file_write(path, "\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
    check_true(nfi_npy_read(path, &a, &err) == -1 &&
               strstr(err.message, "ends inside") != NULL, "cut header: "
               "\"%s\"", err.message);
    const char *missing = path_in(dir, "missing.npy");
    check_true(nfi_npy_read(missing, &a, &err) == -1 &&
               strstr(err.message, missing) != NULL, "missing file: \"%s\"",
               err.message);
    check_true(nfi_npy_read(dir, &a, &err) == -1 &&
               strstr(err.message, dir) != NULL, "a directory: \"%s\"",
               err.message);
}

static void check_writer_errors(void)
{
    const char *path = path_in(dir, "w.npy");
    double x = 1.5;
    size_t shape[NFI_NPY_MAX_DIMS + 1];
    for (int i = 0; i <= NFI_NPY_MAX_DIMS; i++)
        shape[i] = 1;
    nfi_error err = {""};
    file_write(path, "previous", 8);
    check_true(nfi_npy_write(path, NFI_DTYPE_FLOAT64, NFI_NPY_MAX_DIMS + 1,
                             shape, &x, &err) == -1 &&
               strstr(err.message, path) != NULL &&
               strstr(err.message, "33 dimensions") != NULL, "33 "
               "dimensions: \"%s\"", err.message);
    check_true(nfi_npy_write(path, (nfi_dtype)7, 1, shape, &x, &err) == -1 &&
               strstr(err.message, "element type 7") != NULL, "bad dtype: "
               "\"%s\"", err.message);
    check_true(nfi_npy_write(path, NFI_DTYPE_FLOAT64, 1, shape, NULL, &err)
               == -1 && strstr(err.message, "no data") != NULL, "NULL data: "
               "\"%s\"", err.message);
    size_t huge[2] = {SIZE_MAX / 4, 3};
    check_true(nfi_npy_write(path, NFI_DTYPE_FLOAT64, 2, huge, &x, &err)
               == -1 && strstr(err.message, "overflows") != NULL,
               "overflowing shape: \"%s\"", err.message);
    check_true(file_equals(path, "previous", 8), "failed writes leave the "
               "old file");
    size_t empty = 0;
    check_true(nfi_npy_write(path, NFI_DTYPE_FLOAT64, 1, &empty, NULL,
                             &err) == 0, "an empty array needs no data: %s",
               err.message);
    const char *missing = path_in(dir, "none/w.npy");
    check_true(nfi_npy_write(missing, NFI_DTYPE_FLOAT64, 0, NULL, &x, &err)
               == -1 && strstr(err.message, missing) != NULL, "missing "
               "directory: \"%s\"", err.message);

    check_true(nfi_dtype_size((nfi_dtype)-1) == 0 &&
               nfi_dtype_descr((nfi_dtype)5) == NULL &&
               strcmp(nfi_dtype_descr(NFI_DTYPE_UINT8), "|u1") == 0 &&
               strcmp(nfi_dtype_name(NFI_DTYPE_INT32), "int32") == 0,
               "dtype tables");
}

int main(void)
{
    harness_init("test_npy", 1);
    dir = temp_dir_make("npy");
    check_round_trips();
    check_layout();
    check_other_writers();
    check_reader_errors();
    check_writer_errors();
    temp_dir_remove(dir);
    return harness_finish();
}
