/* nfi: IDX files, plain or gzip.  See idx.h.
 *
 * Every file goes through zlib's gz* functions: they decompress a gzip
 * file and pass any other file through unchanged, so one code path reads
 * both forms and the form is told by the content, not the name. */
#include "idx.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

/* Bytes per gzread or gzwrite call: a multiple of every value size. */
#define CHUNK 65536

/* Room for "4294967295 x " per dimension. */
#define DIMS_TEXT_MAX (NFI_IDX_MAX_DIMS * 14)

const char *nfi_idx_type_name(int type)
{
    switch (type) {
    case NFI_IDX_TYPE_U8: return "unsigned byte";
    case NFI_IDX_TYPE_I8: return "signed byte";
    case NFI_IDX_TYPE_I16: return "int16";
    case NFI_IDX_TYPE_I32: return "int32";
    case NFI_IDX_TYPE_F32: return "float32";
    case NFI_IDX_TYPE_F64: return "float64";
    }
    return NULL;
}

size_t nfi_idx_type_size(int type)
{
    switch (type) {
    case NFI_IDX_TYPE_U8: return 1;
    case NFI_IDX_TYPE_I8: return 1;
    case NFI_IDX_TYPE_I16: return 2;
    case NFI_IDX_TYPE_I32: return 4;
    case NFI_IDX_TYPE_F32: return 4;
    case NFI_IDX_TYPE_F64: return 8;
    }
    return 0;
}

/* "60000 x 28 x 28" */
static const char *dims_text(char buf[DIMS_TEXT_MAX], int ndim,
                             const uint32_t *dims)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndim && at < DIMS_TEXT_MAX; i++)
        at += (size_t)snprintf(buf + at, DIMS_TEXT_MAX - at, "%s%u",
                               i == 0 ? "" : " x ", dims[i]);
    return buf;
}

/* The product of the sizes, or NFI_IDX_MAX_VALUES + 1 when it is
 * larger (a zero size anywhere makes it 0). */
static uint64_t value_count(int ndim, const uint32_t *dims)
{
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++)
        if (dims[i] == 0)
            return 0;
    for (int i = 0; i < ndim; i++) {
        /* count <= 2^40 and dims[i] < 2^32: the product fits. */
        count *= dims[i];
        if (count > NFI_IDX_MAX_VALUES)
            return NFI_IDX_MAX_VALUES + 1;
    }
    return count;
}

/* An open file being read: plain or gzip behind one interface. */
typedef struct source {
    const char *path;
    gzFile g;
    int stream_cut; /* the gzip stream ended before its own end marker */
} source;

static int source_open(source *s, const char *path, nfi_error *err)
{
    s->path = path;
    s->g = NULL;
    s->stream_cut = 0;
    /* open() rather than gzopen(), for a reliable errno. */
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return nfi_error_set(err, "IDX file '%s' cannot be opened: %s",
                             path, strerror(errno));
    s->g = gzdopen(fd, "rb");
    if (s->g == NULL) {
        close(fd);
        return nfi_error_set(err, "IDX file '%s': no memory for its reader",
                             path);
    }
    return 0;
}

static void source_close(source *s)
{
    if (s->g != NULL)
        gzclose_r(s->g);
    s->g = NULL;
}

/* Reads up to n bytes into buf.  Returns the number read, fewer than n
 * only where the data ends (a gzip stream cut short sets stream_cut), or
 * -1 with an error for a failed read or corrupt compressed data. */
static long long source_read(source *s, void *buf, size_t n,
                             nfi_error *err)
{
    size_t got = 0;
    while (got < n) {
        unsigned want = n - got > CHUNK ? CHUNK : (unsigned)(n - got);
        int r = gzread(s->g, (unsigned char *)buf + got, want);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        int errnum = Z_OK;
        const char *message = gzerror(s->g, &errnum);
        if (errnum == Z_BUF_ERROR) {
            /* zlib's "unexpected end of file": a truncated gzip file. */
            s->stream_cut = 1;
            break;
        }
        if (r == 0 && errnum == Z_OK)
            break; /* the end of the data */
        if (errnum == Z_DATA_ERROR)
            return nfi_error_set(err, "IDX file '%s' is corrupt: its gzip "
                                 "data is invalid after %zu more bytes "
                                 "(zlib: %s)", s->path, got, message);
        if (errnum == Z_ERRNO)
            message = strerror(errno);
        return nfi_error_set(err, "IDX file '%s' cannot be read (%s)",
                             s->path, message);
    }
    return (long long)got;
}

/* Reads and checks the header; fills type, ndim and dims of out. */
static int read_header(source *s, nfi_idx_array *out, nfi_error *err)
{
    unsigned char magic[4];
    long long n = source_read(s, magic, 4, err);
    if (n < 0)
        return -1;
    if (n < 4)
        return nfi_error_set(err, "IDX file '%s' is too short: %lld bytes, "
                             "less than the 4 bytes of an IDX magic number",
                             s->path, n);
    if (magic[0] != 0 || magic[1] != 0)
        return nfi_error_set(err, "IDX file '%s' is not an IDX file: it "
                             "starts with the bytes %02x %02x %02x %02x; "
                             "expected two zero bytes, a type byte and a "
                             "dimension count (00 00 08 03 for images)",
                             s->path, magic[0], magic[1], magic[2],
                             magic[3]);
    if (nfi_idx_type_size(magic[2]) == 0)
        return nfi_error_set(err, "IDX file '%s' has the unknown type byte "
                             "0x%02x; expected 0x08 (unsigned byte), 0x09 "
                             "(signed byte), 0x0b (int16), 0x0c (int32), "
                             "0x0d (float32) or 0x0e (float64)", s->path,
                             magic[2]);
    if (magic[3] < 1 || magic[3] > NFI_IDX_MAX_DIMS)
        return nfi_error_set(err, "IDX file '%s' declares %d dimensions; "
                             "expected 1 to %d", s->path, magic[3],
                             NFI_IDX_MAX_DIMS);

    int ndim = magic[3];
    unsigned char sizes[4 * NFI_IDX_MAX_DIMS];
    n = source_read(s, sizes, 4 * (size_t)ndim, err);
    if (n < 0)
        return -1;
    if (n < 4 * ndim)
        return nfi_error_set(err, "IDX file '%s' is truncated in its "
                             "header: %d dimension sizes take %d bytes, "
                             "the file has %lld of them", s->path, ndim,
                             4 * ndim, n);
    for (int i = 0; i < ndim; i++) {
        const unsigned char *b = sizes + 4 * i;
        out->dims[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16
                       | (uint32_t)b[2] << 8 | b[3];
    }
    if (value_count(ndim, out->dims) > NFI_IDX_MAX_VALUES) {
        char text[DIMS_TEXT_MAX];
        return nfi_error_set(err, "IDX file '%s' declares %s values, more "
                             "than the 2^40 accepted (a corrupt header?)",
                             s->path, dims_text(text, ndim, out->dims));
    }
    out->type = (nfi_idx_type)magic[2];
    out->ndim = ndim;
    return 0;
}

int nfi_idx_read_header(const char *path, nfi_idx_array *out,
                        nfi_error *err)
{
    memset(out, 0, sizeof *out);
    source s;
    if (source_open(&s, path, err) != 0)
        return -1;
    int status = read_header(&s, out, err);
    source_close(&s);
    if (status != 0)
        memset(out, 0, sizeof *out);
    return status;
}

/* The value of one big-endian IDX element, exactly. */
static double decode(const unsigned char *b, nfi_idx_type type)
{
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;
    switch (type) {
    case NFI_IDX_TYPE_U8:
        return b[0];
    case NFI_IDX_TYPE_I8:
        return b[0] < 128 ? b[0] : (int)b[0] - 256;
    case NFI_IDX_TYPE_I16:
        u32 = (uint32_t)b[0] << 8 | b[1];
        return u32 < 32768 ? (double)u32 : (double)u32 - 65536;
    case NFI_IDX_TYPE_I32:
        u32 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16
              | (uint32_t)b[2] << 8 | b[3];
        return u32 < 0x80000000U ? (double)u32 : (double)u32 - 0x1p32;
    case NFI_IDX_TYPE_F32:
        u32 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16
              | (uint32_t)b[2] << 8 | b[3];
        memcpy(&f, &u32, sizeof f);
        return f;
    case NFI_IDX_TYPE_F64:
        u64 = 0;
        for (int i = 0; i < 8; i++)
            u64 = u64 << 8 | b[i];
        memcpy(&d, &u64, sizeof d);
        return d;
    }
    return NAN;
}

int nfi_idx_read(const char *path, size_t limit, nfi_idx_array *out,
                 nfi_error *err)
{
    memset(out, 0, sizeof *out);
    source s;
    if (source_open(&s, path, err) != 0)
        return -1;
    nfi_idx_array a;
    memset(&a, 0, sizeof a);
    if (read_header(&s, &a, err) != 0)
        goto fail;

    char text[DIMS_TEXT_MAX];
    const char *type_name = nfi_idx_type_name(a.type);
    dims_text(text, a.ndim, a.dims);
    if (limit == 0 || (limit != NFI_IDX_ALL && limit > a.dims[0])) {
        nfi_error_set(err, "IDX file '%s' has %u items (%s %s values); "
                      "cannot read the first %zu, expected 1 to %u",
                      path, a.dims[0], text, type_name, limit, a.dims[0]);
        goto fail;
    }
    a.items = limit == NFI_IDX_ALL ? a.dims[0] : limit;
    size_t per_item = 1;
    for (int i = 1; i < a.ndim; i++)
        per_item *= a.dims[i];
    a.count = a.items * per_item;

    size_t size = nfi_idx_type_size(a.type);
    uint64_t bytes = (uint64_t)a.count * size;
    if (a.count > 0) {
        a.values = malloc(a.count * sizeof *a.values);
        if (a.values == NULL) {
            nfi_error_set(err, "IDX file '%s': could not allocate %zu bytes "
                          "for %zu values", path,
                          a.count * sizeof *a.values, a.count);
            goto fail;
        }
    }

    unsigned char buf[CHUNK];
    uint64_t done = 0;
    while (done < bytes) {
        size_t want = bytes - done > CHUNK ? CHUNK : (size_t)(bytes - done);
        long long n = source_read(&s, buf, want, err);
        if (n < 0)
            goto fail;
        for (long long i = 0; i + (long long)size <= n; i += size)
            a.values[(done + (uint64_t)i) / size] = decode(buf + i, a.type);
        done += (uint64_t)n;
        if ((size_t)n < want) {
            nfi_error_set(err, "IDX file '%s' is truncated: its header "
                          "declares %s %s values, so %llu bytes of data "
                          "%s, but the data ends after %llu bytes%s", path,
                          text, type_name, (unsigned long long)bytes,
                          a.items == a.dims[0] ? "in all"
                          : "for the items asked for",
                          (unsigned long long)done,
                          s.stream_cut ? " (the gzip stream is cut short)"
                          : "");
            goto fail;
        }
    }

    if (limit == NFI_IDX_ALL) {
        /* One byte more must not exist.  Reading it also makes zlib check
         * the gzip trailer (CRC and length). */
        unsigned char extra;
        long long n = source_read(&s, &extra, 1, err);
        if (n < 0)
            goto fail;
        if (n > 0) {
            nfi_error_set(err, "IDX file '%s' goes on past the %llu bytes "
                          "of data its header declares (%s %s values); "
                          "expected the file to end there", path,
                          (unsigned long long)bytes, text, type_name);
            goto fail;
        }
        if (s.stream_cut) {
            nfi_error_set(err, "IDX file '%s' is truncated: the data is "
                          "complete but the gzip stream is cut short "
                          "before its trailer", path);
            goto fail;
        }
    }

    source_close(&s);
    *out = a;
    return 0;

fail:
    source_close(&s);
    free(a.values);
    return -1;
}

void nfi_idx_array_free(nfi_idx_array *array)
{
    if (array == NULL)
        return;
    free(array->values);
    memset(array, 0, sizeof *array);
}

/* Whether v is exactly a value of the type. */
static int representable(double v, nfi_idx_type type)
{
    switch (type) {
    case NFI_IDX_TYPE_U8:
        return v == floor(v) && v >= 0 && v <= 255;
    case NFI_IDX_TYPE_I8:
        return v == floor(v) && v >= -128 && v <= 127;
    case NFI_IDX_TYPE_I16:
        return v == floor(v) && v >= -32768 && v <= 32767;
    case NFI_IDX_TYPE_I32:
        return v == floor(v) && v >= -0x1p31 && v <= 0x1p31 - 1;
    case NFI_IDX_TYPE_F32:
        /* Converting a finite double beyond FLT_MAX to float is undefined
         * in C, so the range is tested first. */
        return isnan(v) || isinf(v)
               || (fabs(v) <= FLT_MAX && (double)(float)v == v);
    case NFI_IDX_TYPE_F64:
        return 1;
    }
    return 0;
}

/* Writes v, representable in type, big-endian into b. */
static void encode(unsigned char *b, double v, nfi_idx_type type)
{
    size_t size = nfi_idx_type_size(type);
    uint64_t u = 0;
    if (type == NFI_IDX_TYPE_F32) {
        float f = (float)v;
        uint32_t u32;
        memcpy(&u32, &f, sizeof u32);
        u = u32;
    } else if (type == NFI_IDX_TYPE_F64) {
        memcpy(&u, &v, sizeof u);
    } else {
        /* Two's complement of the integer, cut to the type's width. */
        u = (uint64_t)(int64_t)v;
    }
    for (size_t i = 0; i < size; i++)
        b[i] = (unsigned char)(u >> (8 * (size - 1 - i)));
}

int nfi_idx_write(const char *path, nfi_idx_type type, int ndim,
                  const uint32_t *dims, const double *values, int gzip,
                  nfi_error *err)
{
    size_t size = nfi_idx_type_size(type);
    if (size == 0)
        return nfi_error_set(err, "IDX write of '%s': type 0x%02x is "
                             "unknown; expected 0x08, 0x09, 0x0b, 0x0c, "
                             "0x0d or 0x0e", path, (unsigned)type);
    if (ndim < 1 || ndim > NFI_IDX_MAX_DIMS)
        return nfi_error_set(err, "IDX write of '%s': %d dimensions; "
                             "expected 1 to %d", path, ndim,
                             NFI_IDX_MAX_DIMS);
    uint64_t count = value_count(ndim, dims);
    if (count > NFI_IDX_MAX_VALUES) {
        char text[DIMS_TEXT_MAX];
        return nfi_error_set(err, "IDX write of '%s': %s values, more than "
                             "the 2^40 accepted", path,
                             dims_text(text, ndim, dims));
    }
    for (uint64_t i = 0; i < count; i++)
        if (!representable(values[i], type))
            return nfi_error_set(err, "IDX write of '%s': value %llu is "
                                 "%.17g, not a %s value", path,
                                 (unsigned long long)i, values[i],
                                 nfi_idx_type_name(type));

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return nfi_error_set(err, "IDX file '%s' cannot be created: %s",
                             path, strerror(errno));
    /* "T" writes the bytes through zlib without compressing them. */
    gzFile g = gzdopen(fd, gzip ? "wb" : "wbT");
    if (g == NULL) {
        close(fd);
        return nfi_error_set(err, "IDX file '%s': no memory for its writer",
                             path);
    }

    unsigned char buf[CHUNK];
    size_t at = 0;
    buf[at++] = 0;
    buf[at++] = 0;
    buf[at++] = (unsigned char)type;
    buf[at++] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int k = 3; k >= 0; k--)
            buf[at++] = (unsigned char)(dims[i] >> (8 * k));
    int ok = 1;
    for (uint64_t i = 0; ok && i <= count; i++) {
        if (at + size > CHUNK || i == count) {
            ok = gzwrite(g, buf, (unsigned)at) == (int)at;
            at = 0;
        }
        if (i < count) {
            encode(buf + at, values[i], type);
            at += size;
        }
    }
    int errnum = Z_OK;
    const char *message = ok ? NULL : gzerror(g, &errnum);
    if (errnum == Z_ERRNO)
        message = strerror(errno);
    int closed = gzclose_w(g);
    if (ok && closed != Z_OK) {
        ok = 0;
        message = closed == Z_ERRNO ? strerror(errno) : "zlib error";
    }
    if (!ok)
        return nfi_error_set(err, "IDX file '%s' could not be written: %s",
                             path, message);
    return 0;
}

/* Whether an IDX type holds integers (a labels file must). */
static int integer_type(nfi_idx_type type)
{
    return type == NFI_IDX_TYPE_U8 || type == NFI_IDX_TYPE_I8
           || type == NFI_IDX_TYPE_I16 || type == NFI_IDX_TYPE_I32;
}

int nfi_idx_load(const char *images_path, const char *labels_path,
                 size_t k, size_t subset, nfi_idx_dataset *out,
                 nfi_error *err)
{
    memset(out, 0, sizeof *out);
    if (k < 2)
        return nfi_error_set(err, "IDX data set: k = %zu classes; expected "
                             "at least 2", k);
    if (subset == 0)
        return nfi_error_set(err, "IDX data set: subset 0 would be empty; "
                             "expected 1 up to the number of samples");

    /* Headers first: a mismatch is reported before any data is read. */
    nfi_idx_array images, labels;
    char text[DIMS_TEXT_MAX];
    if (nfi_idx_read_header(images_path, &images, err) != 0
        || nfi_idx_read_header(labels_path, &labels, err) != 0)
        return -1;
    if (images.type != NFI_IDX_TYPE_U8)
        return nfi_error_set(err, "IDX file '%s' holds %s values; images "
                             "must be unsigned bytes (type 0x08), which "
                             "are scaled by 1/255", images_path,
                             nfi_idx_type_name(images.type));
    if (labels.ndim != 1 || !integer_type(labels.type))
        return nfi_error_set(err, "IDX file '%s' is not a labels file: it "
                             "holds %s %s values; expected one dimension "
                             "of integers", labels_path,
                             dims_text(text, labels.ndim, labels.dims),
                             nfi_idx_type_name(labels.type));
    if (images.dims[0] != labels.dims[0])
        return nfi_error_set(err, "IDX data set: the images file '%s' has "
                             "%u samples but the labels file '%s' has %u; "
                             "expected the same number", images_path,
                             images.dims[0], labels_path, labels.dims[0]);
    if (images.dims[0] == 0)
        return nfi_error_set(err, "IDX data set: the images file '%s' has "
                             "no samples", images_path);
    if (subset != NFI_IDX_ALL && subset > images.dims[0])
        return nfi_error_set(err, "IDX data set: subset %zu is larger than "
                             "the %u samples of '%s'; expected 1 to %u",
                             subset, images.dims[0], images_path,
                             images.dims[0]);

    if (nfi_idx_read(labels_path, subset, &labels, err) != 0)
        return -1;
    uint32_t *label = malloc(labels.count * sizeof *label);
    if (label == NULL) {
        nfi_idx_array_free(&labels);
        return nfi_error_set(err, "IDX data set: could not allocate %zu "
                             "labels", labels.count);
    }
    for (size_t i = 0; i < labels.count; i++) {
        double v = labels.values[i];
        if (!(v >= 0 && v < (double)k)) {
            nfi_error_set(err, "IDX file '%s': label %.0f of sample %zu is "
                          "outside [0, %zu); expected labels 0 to %zu",
                          labels_path, v, i, k, k - 1);
            free(label);
            nfi_idx_array_free(&labels);
            return -1;
        }
        label[i] = (uint32_t)v;
    }
    nfi_idx_array_free(&labels);

    if (nfi_idx_read(images_path, subset, &images, err) != 0) {
        free(label);
        return -1;
    }
    /* IEEE division: v / 255 correctly rounded to nearest binary64. */
    for (size_t i = 0; i < images.count; i++)
        images.values[i] = images.values[i] / 255.0;

    out->n = images.items;
    out->width = images.items == 0 ? 0 : images.count / images.items;
    out->sample_ndim = images.ndim - 1;
    for (int i = 1; i < images.ndim; i++)
        out->sample_dims[i - 1] = images.dims[i];
    out->k = k;
    out->x = images.values;
    out->label = label;
    return 0;
}

void nfi_idx_dataset_free(nfi_idx_dataset *data)
{
    if (data == NULL)
        return;
    free(data->x);
    free(data->label);
    memset(data, 0, sizeof *data);
}
