#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define ALIGN 64
/* NumPy leaves room for the first axis to grow to this many digits. */
#define GROWTH_DIGITS 21

static const struct {
    size_t size;
    const char *descr, *name;
} dtypes[NFI_DTYPE_COUNT] = {
    [NFI_DTYPE_FLOAT64] = {8, "<f8", "float64"},
    [NFI_DTYPE_FLOAT32] = {4, "<f4", "float32"},
    [NFI_DTYPE_INT64] = {8, "<i8", "int64"},
    [NFI_DTYPE_INT32] = {4, "<i4", "int32"},
    [NFI_DTYPE_UINT8] = {1, "|u1", "uint8"},
};

static bool dtype_ok(nfi_dtype dtype)
{
    return (unsigned)dtype < NFI_DTYPE_COUNT;
}

size_t nfi_dtype_size(nfi_dtype dtype)
{
    return dtype_ok(dtype) ? dtypes[dtype].size : 0;
}

const char *nfi_dtype_descr(nfi_dtype dtype)
{
    return dtype_ok(dtype) ? dtypes[dtype].descr : NULL;
}

const char *nfi_dtype_name(nfi_dtype dtype)
{
    return dtype_ok(dtype) ? dtypes[dtype].name : NULL;
}

size_t nfi_npy_count(int ndim, const size_t *shape, size_t elem_size,
                     int *overflow)
{
    size_t count = 1;
    bool zero = false;
    *overflow = 0;
    /* An empty array with a huge other axis still has a size: check the
     * product of the non-zero axes, as NumPy does. */
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) {
            zero = true;
            continue;
        }
        if (count > SIZE_MAX / shape[i]) {
            *overflow = 1;
            return 0;
        }
        count *= shape[i];
    }
    if (elem_size != 0 && count > SIZE_MAX / elem_size) {
        *overflow = 1;
        return 0;
    }
    return zero ? 0 : count;
}

/* Python's repr of a tuple of ints: "()", "(3,)", "(2, 3)". */
static size_t shape_repr(int ndim, const size_t *shape, char *buf,
                         size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu",
                                i > 0 ? ", " : "", shape[i]);
    if (len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "%s)",
                                ndim == 1 ? "," : "");
    return len;
}

long nfi_npy_header(nfi_dtype dtype, int ndim, const size_t *shape,
                    char *buf, size_t cap, nfi_error *err)
{
    if (!dtype_ok(dtype))
        return nfi_error_set(err, "unknown array element type %d; nfi "
                             "writes float64, float32, int64, int32 and "
                             "uint8", (int)dtype);
    if (ndim < 0 || ndim > NFI_NPY_MAX_DIMS)
        return nfi_error_set(err, "an array of %d dimensions cannot be "
                             "written; NumPy takes 0 to %d", ndim,
                             NFI_NPY_MAX_DIMS);

    char dict[NFI_NPY_HEADER_MAX];
    char shape_text[NFI_NPY_HEADER_MAX];
    shape_repr(ndim, shape, shape_text, sizeof shape_text);
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', "
                       "'fortran_order': False, 'shape': %s, }",
                       dtypes[dtype].descr, shape_text);
    if (ndim > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%zu", shape[0]);
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%*s",
                        GROWTH_DIGITS - digits, "");
    }

    /* As NumPy: the dictionary, at least one space, then '\n' ending on
     * a multiple of ALIGN counted from the start of the file. */
    size_t used = MAGIC_LEN + 2 + 2 + (size_t)len + 1;
    size_t pad = ALIGN - used % ALIGN;
    size_t total = used + pad;
    if (total > cap)
        return nfi_error_set(err, "the .npy header needs %zu bytes, the "
                             "buffer has %zu", total, cap);
    size_t header_len = total - (MAGIC_LEN + 4);
    memcpy(buf, MAGIC, MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(header_len & 0xff);
    buf[9] = (char)(header_len >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', pad);
    buf[total - 1] = '\n';
    return (long)total;
}

static bool host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static void swap_elements(unsigned char *p, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++, p += size) {
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
    }
}

int nfi_npy_write(const char *path, nfi_dtype dtype, int ndim,
                  const size_t *shape, const void *data, nfi_error *err)
{
    char header[NFI_NPY_HEADER_MAX];
    nfi_error why;
    long header_len = nfi_npy_header(dtype, ndim, shape, header,
                                      sizeof header, &why);
    if (header_len < 0)
        return nfi_error_set(err, "cannot write '%s': %s", path,
                             why.message);
    int overflow;
    size_t size = dtypes[dtype].size;
    size_t count = nfi_npy_count(ndim, shape, size, &overflow);
    if (overflow)
        return nfi_error_set(err, "cannot write '%s': the shape's size "
                             "overflows the address space", path);
    if (count > 0 && data == NULL)
        return nfi_error_set(err, "cannot write '%s': no data for %zu "
                             "elements", path, count);

    nfi_atomic_file *f = nfi_atomic_open(path, err);
    if (f == NULL)
        return -1;
    nfi_atomic_write(f, header, (size_t)header_len, NULL);
    if (host_little_endian() || size == 1) {
        nfi_atomic_write(f, data, count * size, NULL);
    } else {
        unsigned char chunk[8192];
        const unsigned char *p = data;
        size_t per_chunk = sizeof chunk / size;
        for (size_t done = 0; done < count; done += per_chunk) {
            size_t n = count - done < per_chunk ? count - done : per_chunk;
            memcpy(chunk, p + done * size, n * size);
            swap_elements(chunk, n, size);
            nfi_atomic_write(f, chunk, n * size, NULL);
        }
    }
    return nfi_atomic_commit(f, err);
}

/* A cursor over the header's dictionary text. */
typedef struct header_text {
    const char *s;
    size_t n, i;
} header_text;

static void skip_space(header_text *h)
{
    while (h->i < h->n && strchr(" \t\r\n", h->s[h->i]) != NULL &&
           h->s[h->i] != '\0')
        h->i++;
}

static bool take(header_text *h, char c)
{
    skip_space(h);
    if (h->i < h->n && h->s[h->i] == c) {
        h->i++;
        return true;
    }
    return false;
}

static bool take_word(header_text *h, const char *word)
{
    skip_space(h);
    size_t len = strlen(word);
    if (h->n - h->i >= len && memcmp(h->s + h->i, word, len) == 0) {
        h->i += len;
        return true;
    }
    return false;
}

/* A Python string literal without escapes, in ' or ". */
static bool take_string(header_text *h, char *out, size_t cap)
{
    skip_space(h);
    if (h->i >= h->n || (h->s[h->i] != '\'' && h->s[h->i] != '"'))
        return false;
    char quote = h->s[h->i++];
    size_t len = 0;
    while (h->i < h->n && h->s[h->i] != quote) {
        if (h->s[h->i] == '\\' || len + 1 >= cap)
            return false;
        out[len++] = h->s[h->i++];
    }
    if (h->i >= h->n)
        return false;
    h->i++;
    out[len] = '\0';
    return true;
}

static bool take_size(header_text *h, size_t *out)
{
    skip_space(h);
    size_t v = 0, start = h->i;
    while (h->i < h->n && h->s[h->i] >= '0' && h->s[h->i] <= '9') {
        unsigned d = (unsigned)(h->s[h->i] - '0');
        if (v > (SIZE_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        h->i++;
    }
    if (h->i == start)
        return false;
    /* Files written by NumPy under Python 2 spell long integers "3L". */
    if (h->i < h->n && h->s[h->i] == 'L')
        h->i++;
    *out = v;
    return true;
}

/* "()", "(3,)", "(2, 3)", "(2, 3,)"; "(3)" is an int in Python. */
static bool take_shape(header_text *h, nfi_npy_array *a)
{
    if (!take(h, '('))
        return false;
    a->ndim = 0;
    if (take(h, ')'))
        return true;
    for (;;) {
        if (a->ndim == NFI_NPY_MAX_DIMS ||
            !take_size(h, &a->shape[a->ndim]))
            return false;
        a->ndim++;
        if (take(h, ')'))
            return a->ndim > 1;
        if (!take(h, ','))
            return false;
        if (take(h, ')'))
            return true;
    }
}

static int parse_header(const char *path, const char *text, size_t n,
                        nfi_npy_array *a, nfi_error *err)
{
    header_text h = {text, n, 0};
    bool seen_descr = false, seen_order = false, seen_shape = false;
    char descr[32], key[32];

    if (!take(&h, '{'))
        goto malformed;
    while (!take(&h, '}')) {
        if (!take_string(&h, key, sizeof key) || !take(&h, ':'))
            goto malformed;
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            if (!take_string(&h, descr, sizeof descr))
                goto malformed;
            seen_descr = true;
        } else if (strcmp(key, "fortran_order") == 0 && !seen_order) {
            if (take_word(&h, "True"))
                return nfi_error_set(err, "'%s' holds an array in Fortran "
                                     "order; nfi reads C order only (save "
                                     "np.ascontiguousarray(a))", path);
            if (!take_word(&h, "False"))
                goto malformed;
            seen_order = true;
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            if (!take_shape(&h, a))
                return nfi_error_set(err, "'%s' has a malformed shape in "
                                     "its .npy header; expected a tuple "
                                     "of at most %d integers such as "
                                     "(2, 3)", path, NFI_NPY_MAX_DIMS);
            seen_shape = true;
        } else {
            return nfi_error_set(err, "'%s' has an unexpected or repeated "
                                 "key '%s' in its .npy header; expected "
                                 "'descr', 'fortran_order' and 'shape' "
                                 "once each", path, key);
        }
        if (!take(&h, ',')) {
            if (!take(&h, '}'))
                goto malformed;
            break;
        }
    }
    skip_space(&h);
    if (h.i != h.n)
        goto malformed;
    if (!seen_descr || !seen_order || !seen_shape)
        return nfi_error_set(err, "'%s' lacks '%s' in its .npy header",
                             path, !seen_descr ? "descr" : !seen_order
                             ? "fortran_order" : "shape");

    for (int d = 0; d < NFI_DTYPE_COUNT; d++) {
        if (strcmp(descr, dtypes[d].descr) == 0 ||
            (d == NFI_DTYPE_UINT8 && strcmp(descr, "<u1") == 0)) {
            a->dtype = (nfi_dtype)d;
            return 0;
        }
    }
    return nfi_error_set(err, "'%s' holds '%s' elements; nfi reads '<f8', "
                         "'<f4', '<i8', '<i4' and '|u1'", path, descr);

malformed:
    /* The padding and the final '\n' are not worth showing. */
    while (n > 0 && strchr(" \t\r\n", text[n - 1]) != NULL)
        n--;
    return nfi_error_set(err, "'%s' has a malformed .npy header near byte "
                         "%zu of its dictionary \"%.*s\"", path, h.i,
                         (int)(n < 120 ? n : 120), text);
}

/* Reads exactly n bytes; a short file is reported by the caller, which
 * knows what it expected. */
static int read_exact(int fd, void *buf, size_t n, const char *path,
                      size_t *got, nfi_error *err)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, p + *got, n - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return nfi_error_set(err, "cannot read '%s': %s", path,
                                 strerror(errno));
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

static int read_array(int fd, const char *path, nfi_npy_array *a,
                      nfi_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return nfi_error_set(err, "cannot read '%s': %s", path,
                             strerror(errno));
    if (!S_ISREG(st.st_mode))
        return nfi_error_set(err, "cannot read '%s': not a regular file",
                             path);
    size_t file_size = (size_t)st.st_size;

    unsigned char prefix[12];
    size_t got;
    if (read_exact(fd, prefix, 10, path, &got, err) != 0)
        return -1;
    if (got < 8 || memcmp(prefix, MAGIC, MAGIC_LEN) != 0)
        return nfi_error_set(err, "'%s' is not a .npy file: it does not "
                             "start with \"\\x93NUMPY\" and a version",
                             path);
    int major = prefix[6], minor = prefix[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return nfi_error_set(err, "'%s' has .npy format version %d.%d; nfi "
                             "reads 1.0, 2.0 and 3.0", path, major, minor);
    size_t prefix_len = major == 1 ? 10 : 12;
    if (major != 1) {
        size_t more;
        if (read_exact(fd, prefix + 10, 2, path, &more, err) != 0)
            return -1;
        got += more;
    }
    if (got < prefix_len)
        return nfi_error_set(err, "'%s' ends inside its .npy header (%zu "
                             "bytes)", path, file_size);
    size_t header_len = (size_t)prefix[8] | (size_t)prefix[9] << 8;
    if (major != 1)
        header_len |= (size_t)prefix[10] << 16 | (size_t)prefix[11] << 24;
    if (header_len > file_size - prefix_len)
        return nfi_error_set(err, "'%s' ends inside its .npy header: it "
                             "announces %zu bytes of header, the file has "
                             "%zu bytes in all", path, header_len,
                             file_size);

    char *header = malloc(header_len + 1);
    if (header == NULL)
        return nfi_error_set(err, "cannot read '%s': out of memory for a "
                             "header of %zu bytes", path, header_len);
    int status = read_exact(fd, header, header_len, path, &got, err);
    if (status == 0 && got < header_len)
        status = nfi_error_set(err, "'%s' ends inside its .npy header",
                               path);
    if (status == 0)
        status = parse_header(path, header, header_len, a, err);
    free(header);
    if (status != 0)
        return -1;

    int overflow;
    size_t size = dtypes[a->dtype].size;
    a->count = nfi_npy_count(a->ndim, a->shape, size, &overflow);
    size_t data_size = file_size - prefix_len - header_len;
    char shape_text[NFI_NPY_HEADER_MAX];
    shape_repr(a->ndim, a->shape, shape_text, sizeof shape_text);
    if (overflow)
        return nfi_error_set(err, "'%s' has the shape %s, too large to "
                             "hold in memory", path, shape_text);
    if (data_size != a->count * size)
        return nfi_error_set(err, "'%s' holds %zu bytes of data; the shape "
                             "%s of '%s' needs %zu (the file is %s)", path,
                             data_size, shape_text, dtypes[a->dtype].descr,
                             a->count * size, data_size < a->count * size
                             ? "truncated" : "too long");

    a->data = malloc(a->count * size > 0 ? a->count * size : 1);
    if (a->data == NULL)
        return nfi_error_set(err, "cannot read '%s': out of memory for "
                             "%zu bytes", path, a->count * size);
    if (read_exact(fd, a->data, a->count * size, path, &got, err) != 0)
        return -1;
    if (got != a->count * size)
        return nfi_error_set(err, "'%s' became shorter while being read",
                             path);
    if (!host_little_endian() && size > 1)
        swap_elements(a->data, a->count, size);
    return 0;
}

int nfi_npy_read(const char *path, nfi_npy_array *out, nfi_error *err)
{
    nfi_npy_array a;
    memset(&a, 0, sizeof a);
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nfi_error_set(err, "cannot open '%s': %s", path,
                             strerror(errno));
    int status = read_array(fd, path, &a, err);
    close(fd);
    if (status != 0) {
        free(a.data);
        return -1;
    }
    *out = a;
    return 0;
}

void nfi_npy_free(nfi_npy_array *a)
{
    if (a == NULL)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}
