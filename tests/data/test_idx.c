/* IDX files (data/idx.h): the writer's bytes against the format written
 * out by hand; round trips of every type, plain and gzip, bit for bit
 * (signed zeros, subnormals, infinities, NaN, integer extremes, data
 * larger than one read chunk); headers alone; the first N items; every
 * error of the reader on files the test corrupts or cuts (missing file,
 * directory, empty file, bad magic, type byte and dimension count,
 * header cut short, absurd sizes, data cut short or too long, gzip cut
 * in the data or in its trailer, corrupt gzip data) and of the writer;
 * and the images + labels loader: scaling by 1/255 against MPFR, the
 * subset, the count check, label ranges and the types it accepts.
 *
 * Why: a reader that silently accepts a cut or corrupt file trains on
 * garbage, and one that changes a value changes the experiment.  All
 * files live in a fresh temporary directory removed at the end. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "idx.h"

static char dir[4096];
static char made[256][64]; /* names of the files made, to remove them */
static int n_made;

/* The path of a file in the temporary directory (a rotating buffer, so
 * that two paths can be alive in one call). */
static const char *path_of(const char *name)
{
    static char paths[4][4200];
    static int next;
    char *p = paths[next++ % 4];
    if (snprintf(p, sizeof paths[0], "%s/%s", dir, name)
        >= (int)sizeof paths[0] || strlen(name) >= sizeof made[0]
        || n_made == 256) {
        fprintf(stderr, "test_idx: no room for the file name %s\n", name);
        exit(2);
    }
    for (int i = 0; i < n_made; i++)
        if (strcmp(made[i], name) == 0)
            return p;
    memcpy(made[n_made++], name, strlen(name) + 1);
    return p;
}

static void make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/nfi-test-idx-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "test_idx: mkdtemp(%s): %s\n", dir,
                strerror(errno));
        exit(2);
    }
}

static void remove_dir(void)
{
    for (int i = 0; i < n_made; i++) {
        const char *p = path_of(made[i]);
        unlink(p);
        rmdir(p); /* the one made a directory on purpose */
    }
    rmdir(dir);
}

/* Writes raw bytes to a file of the directory. */
static const char *write_raw(const char *name, const void *bytes, size_t n)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    if (f == NULL || fwrite(bytes, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "test_idx: cannot write %s\n", p);
        exit(2);
    }
    return p;
}

/* The bytes of a file; *n gets the length. */
static unsigned char *read_raw(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    unsigned char *buf = NULL;
    *n = 0;
    if (f == NULL)
        return NULL;
    size_t cap = 0, r;
    do {
        if (*n == cap) {
            cap = cap == 0 ? 4096 : 2 * cap;
            buf = realloc(buf, cap);
        }
        r = fread(buf + *n, 1, cap - *n, f);
        *n += r;
    } while (r > 0);
    fclose(f);
    return buf;
}

static const char *write_idx(const char *name, nfi_idx_type type, int ndim,
                             const uint32_t *dims, const double *values,
                             int gzip)
{
    const char *p = path_of(name);
    nfi_error err = {""};
    if (nfi_idx_write(p, type, ndim, dims, values, gzip, &err) != 0) {
        fprintf(stderr, "test_idx: %s\n", err.message);
        exit(2);
    }
    return p;
}

static void check_types(void)
{
    static const struct {
        int type;
        size_t size;
        const char *name;
    } types[] = {
        {0x08, 1, "unsigned byte"}, {0x09, 1, "signed byte"},
        {0x0b, 2, "int16"}, {0x0c, 4, "int32"}, {0x0d, 4, "float32"},
        {0x0e, 8, "float64"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        check_true(nfi_idx_type_size(types[i].type) == types[i].size
                   && strcmp(nfi_idx_type_name(types[i].type),
                             types[i].name) == 0,
                   "type 0x%02x: size %zu, name %s", types[i].type,
                   nfi_idx_type_size(types[i].type),
                   nfi_idx_type_name(types[i].type));
    static const int unknown[] = {0, 7, 0x0a, 0x0f, 0xff, -1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        check_true(nfi_idx_type_size(unknown[i]) == 0
                   && nfi_idx_type_name(unknown[i]) == NULL,
                   "type %d is unknown", unknown[i]);
}

/* The writer's bytes against the format spelled out by hand. */
static void check_layout(void)
{
    static const uint32_t dims[] = {2, 3};
    static const double u8[] = {0, 1, 2, 253, 254, 255};
    static const unsigned char u8_bytes[] = {
        0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 253, 254, 255};
    const char *p = write_idx("layout_u8", NFI_IDX_TYPE_U8, 2, dims, u8, 0);
    size_t n;
    unsigned char *got = read_raw(p, &n);
    check_true(got != NULL && n == sizeof u8_bytes
               && memcmp(got, u8_bytes, n) == 0,
               "unsigned byte layout (%zu bytes)", n);
    free(got);

    static const uint32_t d1[] = {3};
    static const double i16[] = {-2, 258, -32768};
    static const unsigned char i16_bytes[] = {
        0, 0, 0x0b, 1, 0, 0, 0, 3, 0xff, 0xfe, 0x01, 0x02, 0x80, 0x00};
    got = read_raw(write_idx("layout_i16", NFI_IDX_TYPE_I16, 1, d1, i16, 0),
                   &n);
    check_true(got != NULL && n == sizeof i16_bytes
               && memcmp(got, i16_bytes, n) == 0, "int16 layout");
    free(got);

    static const double f32[] = {1.0, -2.5, 0x1p-149};
    static const unsigned char f32_bytes[] = {
        0, 0, 0x0d, 1, 0, 0, 0, 3, 0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0,
        0, 0, 0, 1};
    got = read_raw(write_idx("layout_f32", NFI_IDX_TYPE_F32, 1, d1, f32, 0),
                   &n);
    check_true(got != NULL && n == sizeof f32_bytes
               && memcmp(got, f32_bytes, n) == 0, "float32 layout");
    free(got);

    static const double f64[] = {1.0, -0.0, 0x1.23456789abcdep-1000};
    static const unsigned char f64_bytes[] = {
        0, 0, 0x0e, 1, 0, 0, 0, 3,
        0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
        0x80, 0, 0, 0, 0, 0, 0, 0,
        0x01, 0x72, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde};
    got = read_raw(write_idx("layout_f64", NFI_IDX_TYPE_F64, 1, d1, f64, 0),
                   &n);
    check_true(got != NULL && n == sizeof f64_bytes
               && memcmp(got, f64_bytes, n) == 0, "float64 layout");
    free(got);

    static const double i32[] = {-1, 2147483647, -2147483648.0};
    static const unsigned char i32_bytes[] = {
        0, 0, 0x0c, 1, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff,
        0x7f, 0xff, 0xff, 0xff, 0x80, 0, 0, 0};
    got = read_raw(write_idx("layout_i32", NFI_IDX_TYPE_I32, 1, d1, i32, 0),
                   &n);
    check_true(got != NULL && n == sizeof i32_bytes
               && memcmp(got, i32_bytes, n) == 0, "int32 layout");
    free(got);

    /* gzip output starts with the gzip magic; plain output does not. */
    got = read_raw(write_idx("layout_u8.gz", NFI_IDX_TYPE_U8, 2, dims, u8,
                             1), &n);
    check_true(got != NULL && n > 2 && got[0] == 0x1f && got[1] == 0x8b,
               "gzip output starts with 1f 8b");
    free(got);
}

/* Values of a type for the round trips, exact in that type. */
static double value_for(nfi_idx_type type, size_t i, test_rng *rng)
{
    static const double f32_special[] = {
        0.0, -0.0, INFINITY, -INFINITY, NAN, 0x1p-149, -0x1p-149,
        0x1.fffffep127, 0x1p-126, 0x1.fffffcp-127, 1.0, 16777215.0};
    static const double f64_special[] = {
        0.0, -0.0, INFINITY, -INFINITY, NAN, 0x1p-1074, -0x1p-1074,
        0x1.fffffffffffffp1023, 0x1p-1022, 0x0.fffffffffffffp-1022,
        9007199254740991.0, 0.1};
    uint64_t x = rng_next(rng);
    switch (type) {
    case NFI_IDX_TYPE_U8:
        return (double)(i % 256);
    case NFI_IDX_TYPE_I8:
        return (double)(int)(i % 256) - 128;
    case NFI_IDX_TYPE_I16:
        return i < 2 ? (i == 0 ? -32768 : 32767)
                     : (double)(int16_t)(uint16_t)x;
    case NFI_IDX_TYPE_I32:
        return i < 2 ? (i == 0 ? -0x1p31 : 0x1p31 - 1)
                     : (double)(int32_t)(uint32_t)x;
    case NFI_IDX_TYPE_F32: {
        if (i < 12)
            return f32_special[i];
        uint32_t u = (uint32_t)x;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    case NFI_IDX_TYPE_F64: {
        if (i < 12)
            return f64_special[i];
        double d;
        memcpy(&d, &x, sizeof d);
        return d;
    }
    }
    return 0;
}

static void check_round_trips(void)
{
    static const nfi_idx_type types[] = {
        NFI_IDX_TYPE_U8, NFI_IDX_TYPE_I8, NFI_IDX_TYPE_I16, NFI_IDX_TYPE_I32,
        NFI_IDX_TYPE_F32, NFI_IDX_TYPE_F64};
    /* Shapes: a vector, images, a 4-D block, one large enough to take
     * several read chunks, and one with a zero size. */
    static const struct {
        int ndim;
        uint32_t dims[4];
    } shapes[] = {
        {1, {17}}, {3, {5, 4, 3}}, {4, {2, 3, 1, 7}}, {2, {300, 250}},
        {2, {0, 9}},
    };
    test_rng rng;
    rng_init(&rng, harness_seed(), 2);
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (int gzip = 0; gzip <= 1; gzip++) {
                size_t count = 1;
                for (int i = 0; i < shapes[s].ndim; i++)
                    count *= shapes[s].dims[i];
                double *v = malloc((count + 1) * sizeof *v);
                for (size_t i = 0; i < count; i++)
                    v[i] = value_for(types[t], i, &rng);
                char name[64];
                snprintf(name, sizeof name, "trip_%02x_%zu%s", types[t], s,
                         gzip ? ".gz" : "");
                const char *p = write_idx(name, types[t], shapes[s].ndim,
                                          shapes[s].dims, v, gzip);
                nfi_idx_array a;
                nfi_error err = {""};
                int status = nfi_idx_read(p, NFI_IDX_ALL, &a, &err);
                bool ok = status == 0 && a.type == types[t]
                          && a.ndim == shapes[s].ndim && a.count == count
                          && a.items == shapes[s].dims[0];
                for (int i = 0; ok && i < a.ndim; i++)
                    ok = a.dims[i] == shapes[s].dims[i];
                size_t bad = 0;
                while (ok && bad < count && same_double(a.values[bad],
                                                        v[bad]))
                    bad++;
                check_true(ok && bad == count, "round trip %s: status %d "
                           "(%s), value %zu: %a read, %a written", name,
                           status, err.message, bad,
                           ok && bad < count ? a.values[bad] : 0.0,
                           bad < count ? v[bad] : 0.0);

                /* The first items only, and the header alone. */
                if (shapes[s].dims[0] >= 2) {
                    nfi_idx_array b;
                    status = nfi_idx_read(p, 2, &b, &err);
                    size_t per = count / shapes[s].dims[0];
                    ok = status == 0 && b.items == 2 && b.count == 2 * per
                         && b.dims[0] == shapes[s].dims[0];
                    for (size_t i = 0; ok && i < b.count; i++)
                        ok = same_double(b.values[i], v[i]);
                    check_true(ok, "first 2 items of %s: status %d (%s)",
                               name, status, err.message);
                    nfi_idx_array_free(&b);
                }
                nfi_idx_array h;
                status = nfi_idx_read_header(p, &h, &err);
                check_true(status == 0 && h.type == types[t]
                           && h.ndim == shapes[s].ndim
                           && h.dims[0] == shapes[s].dims[0]
                           && h.values == NULL && h.count == 0,
                           "header of %s: status %d (%s)", name, status,
                           err.message);
                nfi_idx_array_free(&a);
                check_true(a.values == NULL && a.count == 0,
                           "free zeroes the array");
                free(v);
            }
        }
    }
    nfi_idx_array_free(NULL);
}

/* Reads path expecting failure with every one of the fragments in the
 * message (NULL-terminated list); the array must come back zeroed. */
static void expect_read_error(const char *what, const char *p, size_t limit,
                              const char *const *fragments)
{
    nfi_idx_array a;
    memset(&a, 0x5a, sizeof a);
    nfi_error err = {""};
    int status = nfi_idx_read(p, limit, &a, &err);
    bool ok = status == -1 && a.values == NULL && a.count == 0
              && strstr(err.message, p) != NULL;
    for (int i = 0; ok && fragments[i] != NULL; i++)
        ok = strstr(err.message, fragments[i]) != NULL;
    check_true(ok, "%s: expected an error naming the file and '%s'..., got "
               "%d (%s)", what, fragments[0], status, err.message);
}

#define FRAGMENTS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void check_read_errors(void)
{
    const char *p = path_of("no_such_file");
    expect_read_error("missing file", p, NFI_IDX_ALL,
                      FRAGMENTS("cannot be opened",
                                "No such file or directory"));
    p = path_of("a_directory");
    mkdir(p, 0755);
    expect_read_error("directory", p, NFI_IDX_ALL,
                      FRAGMENTS("cannot be read", "Is a directory"));

    p = write_raw("empty", "", 0);
    expect_read_error("empty file", p, NFI_IDX_ALL,
                      FRAGMENTS("too short", "0 bytes"));
    static const unsigned char short3[] = {0, 0, 8};
    p = write_raw("short3", short3, sizeof short3);
    expect_read_error("3-byte file", p, NFI_IDX_ALL,
                      FRAGMENTS("too short", "3 bytes"));

    static const unsigned char magic[] = {1, 0, 8, 1, 0, 0, 0, 1, 7};
    p = write_raw("bad_magic", magic, sizeof magic);
    expect_read_error("bad magic", p, NFI_IDX_ALL,
                      FRAGMENTS("not an IDX file", "01 00 08 01",
                                "two zero bytes"));
    /* A text file, as a mistaken path would give. */
    p = write_raw("text", "label,pixel\n", 12);
    expect_read_error("text file", p, NFI_IDX_ALL,
                      FRAGMENTS("not an IDX file", "6c 61 62 65"));

    static const unsigned char type[] = {0, 0, 0x0a, 1, 0, 0, 0, 1, 7};
    p = write_raw("bad_type", type, sizeof type);
    expect_read_error("bad type", p, NFI_IDX_ALL,
                      FRAGMENTS("unknown type byte 0x0a", "0x08"));
    static const unsigned char dims0[] = {0, 0, 8, 0, 7};
    p = write_raw("dims0", dims0, sizeof dims0);
    expect_read_error("0 dimensions", p, NFI_IDX_ALL,
                      FRAGMENTS("declares 0 dimensions", "1 to 16"));
    static const unsigned char dims17[] = {0, 0, 8, 17, 7};
    p = write_raw("dims17", dims17, sizeof dims17);
    expect_read_error("17 dimensions", p, NFI_IDX_ALL,
                      FRAGMENTS("declares 17 dimensions"));

    static const unsigned char header_cut[] = {0, 0, 8, 3, 0, 0, 0, 2, 0};
    p = write_raw("header_cut", header_cut, sizeof header_cut);
    expect_read_error("header cut short", p, NFI_IDX_ALL,
                      FRAGMENTS("truncated in its header", "12 bytes",
                                "has 5"));
    static const unsigned char huge[] = {
        0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0, 0, 0, 2, 1, 2, 3};
    p = write_raw("huge", huge, sizeof huge);
    expect_read_error("absurd sizes", p, NFI_IDX_ALL,
                      FRAGMENTS("4294967295 x 4294967295 x 2",
                                "more than the 2^40"));

    /* 2 x 5 bytes declared, 7 present. */
    static const unsigned char data_cut[] = {
        0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7};
    p = write_raw("data_cut", data_cut, sizeof data_cut);
    expect_read_error("data cut short", p, NFI_IDX_ALL,
                      FRAGMENTS("is truncated", "2 x 5 unsigned byte",
                                "10 bytes", "after 7 bytes"));
    /* The first item is complete: reading it alone succeeds. */
    nfi_idx_array a;
    nfi_error err = {""};
    int status = nfi_idx_read(p, 1, &a, &err);
    check_true(status == 0 && a.count == 5 && a.values[4] == 5,
               "the complete first item of a cut file: %d (%s)", status,
               err.message);
    nfi_idx_array_free(&a);
    /* int32 values cut in the middle of one. */
    static const unsigned char i32_cut[] = {
        0, 0, 0x0c, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0};
    p = write_raw("i32_cut", i32_cut, sizeof i32_cut);
    expect_read_error("int32 cut short", p, NFI_IDX_ALL,
                      FRAGMENTS("is truncated", "8 bytes", "after 6 bytes"));

    static const unsigned char long_data[] = {
        0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3};
    p = write_raw("long_data", long_data, sizeof long_data);
    expect_read_error("data too long", p, NFI_IDX_ALL,
                      FRAGMENTS("goes on past the 2 bytes"));
    status = nfi_idx_read(p, 2, &a, &err);
    check_true(status == 0 && a.count == 2, "the first 2 items of a file "
               "with trailing bytes: %d (%s)", status, err.message);
    nfi_idx_array_free(&a);

    static const uint32_t dims[] = {4, 3};
    static const double v[12] = {0};
    p = write_idx("limits", NFI_IDX_TYPE_U8, 2, dims, v, 0);
    expect_read_error("limit 0", p, 0,
                      FRAGMENTS("has 4 items", "first 0", "1 to 4"));
    expect_read_error("limit 5", p, 5,
                      FRAGMENTS("has 4 items", "first 5", "1 to 4"));
}

/* gzip files cut in their data, cut in their trailer, and corrupted. */
static void check_gzip_errors(void)
{
    enum { N = 20000 };
    static const uint32_t dims[] = {N};
    double *v = malloc(N * sizeof *v);
    test_rng rng;
    rng_init(&rng, harness_seed(), 3);
    /* Half random, half repetitive: compressible, but not to nothing. */
    for (int i = 0; i < N; i++)
        v[i] = i < N / 2 ? (double)rng_below(&rng, 256) : (double)(i % 7);
    const char *p = write_idx("whole.gz", NFI_IDX_TYPE_U8, 1, dims, v, 1);
    size_t n;
    unsigned char *gz = read_raw(p, &n);
    free(v);

    p = write_raw("cut_data.gz", gz, n / 2);
    expect_read_error("gzip cut in its data", p, NFI_IDX_ALL,
                      FRAGMENTS("is truncated", "20000 bytes",
                                "gzip stream is cut short"));
    /* The 8-byte trailer holds the CRC and the length: cutting 4 of its
     * bytes leaves the data whole. */
    p = write_raw("cut_trailer.gz", gz, n - 4);
    expect_read_error("gzip cut in its trailer", p, NFI_IDX_ALL,
                      FRAGMENTS("is truncated", "before its trailer"));
    nfi_idx_array a;
    nfi_error err = {""};
    int status = nfi_idx_read(p, 100, &a, &err);
    check_true(status == 0 && a.count == 100, "the first 100 items of a "
               "gzip file cut in its trailer: %d (%s)", status, err.message);
    nfi_idx_array_free(&a);

    /* A wrong CRC: the data decompresses, the check fails at the end. */
    unsigned char *bad = malloc(n);
    memcpy(bad, gz, n);
    bad[n - 8] ^= 0x01;
    p = write_raw("bad_crc.gz", bad, n);
    expect_read_error("gzip with a wrong CRC", p, NFI_IDX_ALL,
                      FRAGMENTS("is corrupt", "zlib"));
    /* Garbage in the compressed data. */
    memcpy(bad, gz, n);
    for (size_t i = n / 4; i < n / 4 + 16; i++)
        bad[i] = 0xff;
    p = write_raw("garbage.gz", bad, n);
    expect_read_error("gzip with garbage", p, NFI_IDX_ALL,
                      FRAGMENTS("is corrupt", "zlib"));
    /* A gzip header with an unknown compression method. */
    memcpy(bad, gz, n);
    bad[2] = 7;
    p = write_raw("method.gz", bad, n);
    expect_read_error("gzip with a bad method", p, NFI_IDX_ALL,
                      FRAGMENTS("is corrupt", "zlib"));
    free(bad);
    free(gz);
}

static void expect_write_error(const char *what, const char *p,
                               nfi_idx_type type, int ndim,
                               const uint32_t *dims, const double *values,
                               const char *const *fragments)
{
    nfi_error err = {""};
    int status = nfi_idx_write(p, type, ndim, dims, values, 0, &err);
    bool ok = status == -1 && strstr(err.message, p) != NULL;
    for (int i = 0; ok && fragments[i] != NULL; i++)
        ok = strstr(err.message, fragments[i]) != NULL;
    check_true(ok, "%s: expected a write error naming the file and '%s'..., "
               "got %d (%s)", what, fragments[0], status, err.message);
}

static void check_write_errors(void)
{
    const char *p = path_of("write_errors");
    static const uint32_t d3[] = {3};
    static const double u8_bad[] = {1, 256, 2};
    expect_write_error("256 as a byte", p, NFI_IDX_TYPE_U8, 1, d3, u8_bad,
                       FRAGMENTS("value 1 is 256", "unsigned byte"));
    static const double u8_neg[] = {-1, 0, 0};
    expect_write_error("-1 as a byte", p, NFI_IDX_TYPE_U8, 1, d3, u8_neg,
                       FRAGMENTS("value 0 is -1"));
    static const double i8_bad[] = {-128, 127, 128};
    expect_write_error("128 as a signed byte", p, NFI_IDX_TYPE_I8, 1, d3,
                       i8_bad, FRAGMENTS("value 2 is 128", "signed byte"));
    static const double i16_bad[] = {0.5, 0, 0};
    expect_write_error("0.5 as int16", p, NFI_IDX_TYPE_I16, 1, d3, i16_bad,
                       FRAGMENTS("value 0 is 0.5", "int16"));
    static const double i32_bad[] = {0, 0x1p31, 0};
    expect_write_error("2^31 as int32", p, NFI_IDX_TYPE_I32, 1, d3, i32_bad,
                       FRAGMENTS("value 1 is 2147483648", "int32"));
    static const double nan_int[] = {0, 0, NAN};
    expect_write_error("NaN as int16", p, NFI_IDX_TYPE_I16, 1, d3, nan_int,
                       FRAGMENTS("value 2 is nan"));
    static const double f32_big[] = {0, 1e39, 0};
    expect_write_error("1e39 as float32", p, NFI_IDX_TYPE_F32, 1, d3,
                       f32_big, FRAGMENTS("value 1 is 9.9999999999999994e+38",
                                          "float32"));
    static const double f32_inexact[] = {1 + 0x1p-30, 0, 0};
    expect_write_error("1 + 2^-30 as float32", p, NFI_IDX_TYPE_F32, 1, d3,
                       f32_inexact, FRAGMENTS("value 0 is 1.00000000093"));
    expect_write_error("unknown type", p, (nfi_idx_type)0x0a, 1, d3,
                       u8_bad, FRAGMENTS("type 0x0a is unknown"));
    expect_write_error("0 dimensions", p, NFI_IDX_TYPE_U8, 0, d3, u8_bad,
                       FRAGMENTS("0 dimensions", "1 to 16"));
    expect_write_error("17 dimensions", p, NFI_IDX_TYPE_U8, 17, d3, u8_bad,
                       FRAGMENTS("17 dimensions"));
    static const uint32_t huge[] = {1u << 31, 1u << 31};
    expect_write_error("2^62 values", p, NFI_IDX_TYPE_U8, 2, huge, u8_bad,
                       FRAGMENTS("2147483648 x 2147483648", "2^40"));
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/no_such_dir/file", dir);
    static const double ok3[] = {1, 2, 3};
    expect_write_error("missing directory", missing, NFI_IDX_TYPE_U8, 1, d3,
                       ok3, FRAGMENTS("cannot be created",
                                      "No such file or directory"));
    check_true(access(p, F_OK) != 0, "no file is made for a bad value");
}

/* Images and labels for the loader: n samples of 3 x 2 bytes. */
static void write_pair(const char *images, const char *labels, uint32_t n,
                       const double *label_values, nfi_idx_type label_type,
                       int gzip)
{
    uint32_t idims[] = {n, 3, 2}, ldims[] = {n};
    double *pixels = malloc(6 * n * sizeof *pixels);
    for (uint32_t i = 0; i < 6 * n; i++)
        pixels[i] = (double)((i * 37 + 11) % 256);
    if (n > 0) {
        pixels[0] = 0;
        pixels[1] = 255;
    }
    write_idx(images, NFI_IDX_TYPE_U8, 3, idims, pixels, gzip);
    write_idx(labels, label_type, 1, ldims, label_values, gzip);
    free(pixels);
}

static void expect_load_error(const char *what, const char *images,
                              const char *labels, size_t k, size_t subset,
                              const char *const *fragments)
{
    nfi_idx_dataset d;
    memset(&d, 0x5a, sizeof d);
    nfi_error err = {""};
    int status = nfi_idx_load(path_of(images), path_of(labels), k, subset,
                              &d, &err);
    bool ok = status == -1 && d.x == NULL && d.label == NULL && d.n == 0;
    for (int i = 0; ok && fragments[i] != NULL; i++)
        ok = strstr(err.message, fragments[i]) != NULL;
    check_true(ok, "%s: expected a load error with '%s'..., got %d (%s)",
               what, fragments[0], status, err.message);
}

static void check_loader(void)
{
    /* Every byte value scales to the binary64 number nearest v / 255. */
    static const uint32_t d256[] = {256, 1};
    double bytes[256], labels256[256];
    for (int i = 0; i < 256; i++) {
        bytes[i] = i;
        labels256[i] = i % 3;
    }
    write_idx("all_bytes", NFI_IDX_TYPE_U8, 2, d256, bytes, 0);
    write_idx("all_labels", NFI_IDX_TYPE_U8, 1, d256, labels256, 0);
    nfi_idx_dataset d;
    nfi_error err = {""};
    int status = nfi_idx_load(path_of("all_bytes"), path_of("all_labels"), 3,
                              NFI_IDX_ALL, &d, &err);
    bool ok = status == 0 && d.n == 256 && d.width == 1
              && d.sample_ndim == 1 && d.sample_dims[0] == 1 && d.k == 3;
    mpfr_t q;
    mpfr_init2(q, 53);
    for (int i = 0; ok && i < 256; i++) {
        mpfr_set_ui(q, (unsigned long)i, MPFR_RNDN);
        mpfr_div_ui(q, q, 255, MPFR_RNDN);
        ok = same_double(d.x[i], mpfr_get_d(q, MPFR_RNDN))
             && d.label[i] == (uint32_t)(i % 3);
        if (!ok)
            check_true(false, "byte %d scales to %a, expected %a", i,
                       d.x[i], mpfr_get_d(q, MPFR_RNDN));
    }
    mpfr_clear(q);
    check_true(ok && d.x[0] == 0 && d.x[255] == 1, "every byte / 255: %d "
               "(%s)", status, err.message);
    nfi_idx_dataset_free(&d);
    check_true(d.x == NULL && d.n == 0, "free zeroes the data set");
    nfi_idx_dataset_free(&d);
    nfi_idx_dataset_free(NULL);

    /* Images 7 x 3 x 2, plain and gzip; the subset is the first samples
     * in file order. */
    static const double labels7[] = {3, 0, 9, 1, 1, 4, 2};
    for (int gzip = 0; gzip <= 1; gzip++) {
        const char *images = gzip ? "img7.gz" : "img7";
        const char *labels = gzip ? "lab7.gz" : "lab7";
        write_pair(images, labels, 7, labels7, NFI_IDX_TYPE_U8, gzip);
        for (size_t subset = 1; subset <= 8; subset++) {
            size_t s = subset == 8 ? NFI_IDX_ALL : subset;
            size_t n = subset == 8 ? 7 : subset;
            status = nfi_idx_load(path_of(images), path_of(labels), 10, s,
                                  &d, &err);
            ok = status == 0 && d.n == n && d.width == 6
                 && d.sample_ndim == 2 && d.sample_dims[0] == 3
                 && d.sample_dims[1] == 2;
            for (size_t i = 0; ok && i < n; i++) {
                ok = d.label[i] == (uint32_t)labels7[i];
                for (size_t j = 0; ok && j < 6; j++) {
                    size_t at = i * 6 + j;
                    double v = at == 0 ? 0 : at == 1 ? 255
                               : (double)((at * 37 + 11) % 256);
                    ok = same_double(d.x[at], v / 255.0);
                }
            }
            check_true(ok, "load %s + %s, subset %zu: %d (%s)", images,
                       labels, subset, status, err.message);
            nfi_idx_dataset_free(&d);
        }
    }

    expect_load_error("k = 1", "img7", "lab7", 1, NFI_IDX_ALL,
                      FRAGMENTS("k = 1", "at least 2"));
    expect_load_error("subset 0", "img7", "lab7", 10, 0,
                      FRAGMENTS("subset 0"));
    expect_load_error("subset 8", "img7", "lab7", 10, 8,
                      FRAGMENTS("subset 8", "7 samples", "img7"));
    /* Label 9 of sample 2 is outside [0, 9); a subset that stops before
     * it reads no further and succeeds. */
    expect_load_error("label 9 with k = 9", "img7", "lab7", 9, NFI_IDX_ALL,
                      FRAGMENTS("lab7", "label 9 of sample 2",
                                "outside [0, 9)"));
    status = nfi_idx_load(path_of("img7"), path_of("lab7"), 9, 2, &d, &err);
    check_true(status == 0 && d.n == 2, "a subset before the bad label: %d "
               "(%s)", status, err.message);
    nfi_idx_dataset_free(&d);
    expect_load_error("missing images", "no_images", "lab7", 10,
                      NFI_IDX_ALL, FRAGMENTS("no_images", "cannot be opened"));
    expect_load_error("missing labels", "img7", "no_labels", 10,
                      NFI_IDX_ALL, FRAGMENTS("no_labels", "cannot be opened"));

    /* Counts that differ. */
    static const uint32_t d6[] = {6};
    write_idx("lab6", NFI_IDX_TYPE_U8, 1, d6, labels7, 0);
    expect_load_error("6 labels for 7 images", "img7", "lab6", 10,
                      NFI_IDX_ALL, FRAGMENTS("img7", "has 7 samples",
                                             "lab6", "has 6"));
    /* Images that are not bytes, and labels that are not a vector of
     * integers. */
    static const uint32_t dimg[] = {7, 6};
    double signed_pixels[42] = {0};
    write_idx("img7_i8", NFI_IDX_TYPE_I8, 2, dimg, signed_pixels, 0);
    expect_load_error("signed byte images", "img7_i8", "lab7", 10,
                      NFI_IDX_ALL, FRAGMENTS("img7_i8", "signed byte",
                                             "unsigned bytes"));
    write_idx("lab7_2d", NFI_IDX_TYPE_U8, 2, dimg, signed_pixels, 0);
    expect_load_error("2-D labels", "img7", "lab7_2d", 10, NFI_IDX_ALL,
                      FRAGMENTS("lab7_2d", "not a labels file", "7 x 6",
                                "one dimension of integers"));
    static const uint32_t d7[] = {7};
    write_idx("lab7_f32", NFI_IDX_TYPE_F32, 1, d7, labels7, 0);
    expect_load_error("float labels", "img7", "lab7_f32", 10, NFI_IDX_ALL,
                      FRAGMENTS("lab7_f32", "float32", "not a labels"));
    /* Integer labels of the wider types, one of them negative. */
    static const double labels_neg[] = {3, 0, 9, -1, 1, 4, 2};
    write_idx("lab7_i16", NFI_IDX_TYPE_I16, 1, d7, labels_neg, 0);
    expect_load_error("a negative label", "img7", "lab7_i16", 10,
                      NFI_IDX_ALL, FRAGMENTS("label -1 of sample 3",
                                             "outside [0, 10)"));
    write_idx("lab7_i32", NFI_IDX_TYPE_I32, 1, d7, labels7, 0);
    status = nfi_idx_load(path_of("img7.gz"), path_of("lab7_i32"), 10,
                          NFI_IDX_ALL, &d, &err);
    check_true(status == 0 && d.n == 7 && d.label[2] == 9, "int32 labels "
               "with gzip images: %d (%s)", status, err.message);
    nfi_idx_dataset_free(&d);
    /* No samples at all. */
    static const uint32_t d0[] = {0, 4}, d00[] = {0};
    write_idx("img0", NFI_IDX_TYPE_U8, 2, d0, NULL, 0);
    write_idx("lab0", NFI_IDX_TYPE_U8, 1, d00, NULL, 0);
    expect_load_error("no samples", "img0", "lab0", 10, NFI_IDX_ALL,
                      FRAGMENTS("img0", "no samples"));
}

int main(void)
{
    harness_init("test_idx", 1);
    make_dir();
    check_types();
    check_layout();
    check_round_trips();
    check_read_errors();
    check_gzip_errors();
    check_write_errors();
    check_loader();
    remove_dir();
    return harness_finish();
}
