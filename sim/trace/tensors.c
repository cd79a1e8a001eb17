/* nfi trace: .npz and safetensors files.  See tensors.h. */
#include "tensors.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "atomic.h"
#include "json.h"

static const struct {
    const char *name, *npy, *st;
    size_t size;
    bool is_int;
} elems[NFI_ELEM_COUNT] = {
    [NFI_ELEM_F64] = {"float64", "<f8", "F64", 8, false},
    [NFI_ELEM_F32] = {"float32", "<f4", "F32", 4, false},
    [NFI_ELEM_F16] = {"float16", "<f2", "F16", 2, false},
    [NFI_ELEM_BF16] = {"bfloat16", NULL, "BF16", 2, false},
    [NFI_ELEM_I64] = {"int64", "<i8", "I64", 8, true},
    [NFI_ELEM_I32] = {"int32", "<i4", "I32", 4, true},
    [NFI_ELEM_I16] = {"int16", "<i2", "I16", 2, true},
    [NFI_ELEM_I8] = {"int8", "|i1", "I8", 1, true},
    [NFI_ELEM_U64] = {"uint64", "<u8", "U64", 8, true},
    [NFI_ELEM_U32] = {"uint32", "<u4", "U32", 4, true},
    [NFI_ELEM_U16] = {"uint16", "<u2", "U16", 2, true},
    [NFI_ELEM_U8] = {"uint8", "|u1", "U8", 1, true},
    [NFI_ELEM_BOOL] = {"bool", "|b1", "BOOL", 1, true},
};

const char *nfi_elem_name(nfi_elem e)
{
    return (unsigned)e < NFI_ELEM_COUNT ? elems[e].name : "?";
}

size_t nfi_elem_size(nfi_elem e)
{
    return (unsigned)e < NFI_ELEM_COUNT ? elems[e].size : 0;
}

bool nfi_elem_is_int(nfi_elem e)
{
    return (unsigned)e < NFI_ELEM_COUNT && elems[e].is_int;
}

void nfi_tensor_set_free(nfi_tensor_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->t[i].data);
    free(s->t);
    s->t = NULL;
    s->n = 0;
}

const nfi_tensor *nfi_tensor_find(const nfi_tensor_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0)
            return &s->t[i];
    return NULL;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

/* Appends a tensor to s (the data taken over). */
static int set_add(nfi_tensor_set *s, const nfi_tensor *t, const char *path,
                   nfi_error *err)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, t->name) == 0)
            return nfi_error_set(err, "'%s' holds two tensors named '%s'",
                                 path, t->name);
    nfi_tensor *grown = realloc(s->t, (s->n + 1) * sizeof *grown);
    if (grown == NULL)
        return nfi_error_set(err, "reading '%s': out of memory", path);
    s->t = grown;
    s->t[s->n++] = *t;
    return 0;
}

/* The element count of the shape; -1 on overflow of count * size. */
static int shape_count(nfi_tensor *t)
{
    size_t c = 1, size = elems[t->elem].size;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] != 0 && c > SIZE_MAX / size / t->shape[d])
            return -1;
        c *= t->shape[d];
    }
    t->count = c;
    return 0;
}

/* Copies count little-endian elements of size bytes into host order. */
static void *copy_le(const unsigned char *src, size_t count, size_t size)
{
    void *out = malloc(count * size > 0 ? count * size : 1);
    if (out == NULL)
        return NULL;
    unsigned char *o = out;
    const uint16_t probe = 1;
    bool little = *(const unsigned char *)&probe == 1;
    if (little || size == 1) {
        memcpy(out, src, count * size);
        return out;
    }
    for (size_t i = 0; i < count; i++)
        for (size_t b = 0; b < size; b++)
            o[i * size + b] = src[i * size + size - 1 - b];
    return out;
}

/* ---- .npy members ---- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Parses the header dictionary of an .npy member into t (elem, ndim,
 * shape).  what names the member in messages. */
static int npy_dict(const char *h, size_t n, nfi_tensor *t, const char *what,
                    nfi_error *err)
{
    const char *p = h, *end = h + n;
    bool seen[3] = {false, false, false};
    p = skip_ws(p, end);
    if (p == end || *p++ != '{')
        goto bad;
    for (;;) {
        p = skip_ws(p, end);
        if (p < end && *p == '}')
            break;
        if (p == end || (*p != '\'' && *p != '"'))
            goto bad;
        char q = *p++;
        const char *k = p;
        while (p < end && *p != q)
            p++;
        if (p == end)
            goto bad;
        size_t klen = (size_t)(p - k);
        p = skip_ws(p + 1, end);
        if (p == end || *p++ != ':')
            goto bad;
        p = skip_ws(p, end);
        if (klen == 5 && memcmp(k, "descr", 5) == 0) {
            if (p == end || (*p != '\'' && *p != '"'))
                goto bad;
            char dq = *p++;
            const char *d = p;
            while (p < end && *p != dq)
                p++;
            if (p == end)
                goto bad;
            size_t dlen = (size_t)(p - d);
            p++;
            int found = -1;
            for (int e = 0; e < NFI_ELEM_COUNT && found < 0; e++) {
                const char *s = elems[e].npy;
                if (s == NULL)
                    continue;
                if ((strlen(s) == dlen && memcmp(s, d, dlen) == 0) ||
                    (dlen == 3 && s[0] == '|' && d[0] == '<' &&
                     memcmp(s + 1, d + 1, 2) == 0))
                    found = e;
            }
            if (found < 0)
                return nfi_error_set(err, "%s holds elements of type "
                                     "'%.*s'; nfi reads little-endian "
                                     "float64, float32, float16 and "
                                     "integers", what, (int)dlen, d);
            t->elem = (nfi_elem)found;
            seen[0] = true;
        } else if (klen == 13 && memcmp(k, "fortran_order", 13) == 0) {
            if ((size_t)(end - p) >= 4 && memcmp(p, "True", 4) == 0)
                return nfi_error_set(err, "%s is in Fortran order; save "
                                     "np.ascontiguousarray(a)", what);
            if ((size_t)(end - p) < 5 || memcmp(p, "False", 5) != 0)
                goto bad;
            p += 5;
            seen[1] = true;
        } else if (klen == 5 && memcmp(k, "shape", 5) == 0) {
            if (p == end || *p++ != '(')
                goto bad;
            t->ndim = 0;
            for (;;) {
                p = skip_ws(p, end);
                if (p < end && *p == ')') {
                    p++;
                    break;
                }
                if (p == end || *p < '0' || *p > '9' ||
                    t->ndim == NFI_TENSOR_MAX_DIMS)
                    goto bad;
                size_t v = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                    if (v > (SIZE_MAX - 9) / 10)
                        goto bad;
                    v = v * 10 + (size_t)(*p++ - '0');
                }
                t->shape[t->ndim++] = v;
                p = skip_ws(p, end);
                if (p < end && *p == ',')
                    p++;
            }
            seen[2] = true;
        } else {
            goto bad;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',')
            p++;
    }
    if (!seen[0] || !seen[1] || !seen[2])
        goto bad;
    return 0;
bad:
    return nfi_error_set(err, "%s has a malformed .npy header", what);
}

/* Parses one .npy member (len bytes at b) into t. */
static int npy_member(const unsigned char *b, size_t len, nfi_tensor *t,
                      const char *what, nfi_error *err)
{
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return nfi_error_set(err, "%s is not an .npy array", what);
    int major = b[6];
    if (major < 1 || major > 3)
        return nfi_error_set(err, "%s has .npy version %d.%d; nfi reads "
                             "1.0 to 3.0", what, b[6], b[7]);
    size_t pre = major == 1 ? 10 : 12;
    if (len < pre)
        return nfi_error_set(err, "%s ends inside its header", what);
    size_t hlen = (size_t)le(b + 8, major == 1 ? 2 : 4);
    if (hlen > len - pre)
        return nfi_error_set(err, "%s ends inside its header", what);
    if (npy_dict((const char *)b + pre, hlen, t, what, err) != 0)
        return -1;
    if (shape_count(t) != 0)
        return nfi_error_set(err, "%s has a shape too large", what);
    size_t need = t->count * elems[t->elem].size, have = len - pre - hlen;
    if (have != need)
        return nfi_error_set(err, "%s holds %zu bytes of data where its "
                             "shape needs %zu (%s)", what, have, need,
                             have < need ? "truncated" : "too long");
    t->data = copy_le(b + pre + hlen, t->count, elems[t->elem].size);
    if (t->data == NULL)
        return nfi_error_set(err, "%s: out of memory", what);
    return 0;
}

/* ---- .npz ---- */

#define ZIP_LOCAL 0x04034b50u
#define ZIP_CENTRAL 0x02014b50u
#define ZIP_END 0x06054b50u
#define ZIP64_END 0x06064b50u
#define ZIP64_LOCATOR 0x07064b50u

static int inflate_raw(const unsigned char *src, size_t n, unsigned char *dst,
                       size_t m, size_t *got)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        return -1;
    int rc = Z_OK;
    size_t in_done = 0, out_done = 0;
    while (rc == Z_OK) {
        size_t in_chunk = n - in_done > UINT_MAX ? UINT_MAX : n - in_done;
        size_t out_chunk = m - out_done > UINT_MAX ? UINT_MAX
                                                   : m - out_done;
        z.next_in = (unsigned char *)src + in_done;
        z.avail_in = (unsigned)in_chunk;
        z.next_out = dst + out_done;
        z.avail_out = (unsigned)out_chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        in_done += in_chunk - z.avail_in;
        out_done += out_chunk - z.avail_out;
        if (rc == Z_OK && z.avail_in == in_chunk &&
            z.avail_out == out_chunk)
            break; /* no progress: input ends early or output is full */
        if (rc == Z_BUF_ERROR)
            break;
    }
    inflateEnd(&z);
    *got = out_done;
    return rc == Z_STREAM_END ? 0 : -1;
}

static int npz_parse(const unsigned char *b, size_t len, const char *path,
                     nfi_tensor_set *out, nfi_error *err)
{
    /* The end of central directory record, searched from the end (a
     * comment of up to 65535 bytes may follow it). */
    if (len < 22)
        return nfi_error_set(err, "'%s' is not a zip archive (.npz): too "
                             "short", path);
    size_t e = len - 22, stop = len >= 22 + 65535 ? len - 22 - 65535 : 0;
    for (;;) {
        if (le(b + e, 4) == ZIP_END)
            break;
        if (e == stop)
            return nfi_error_set(err, "'%s' is not a zip archive (.npz) "
                                 "or is truncated: no end of central "
                                 "directory record", path);
        e--;
    }
    uint64_t entries = le(b + e + 10, 2), cd_size = le(b + e + 12, 4);
    uint64_t cd_off = le(b + e + 16, 4);
    if ((entries == 0xffff || cd_size == 0xffffffffu ||
         cd_off == 0xffffffffu) && e >= 20 &&
        le(b + e - 20, 4) == ZIP64_LOCATOR) {
        uint64_t z64 = le(b + e - 20 + 8, 8);
        if (len < 56 || z64 > len - 56 || le(b + z64, 4) != ZIP64_END)
            return nfi_error_set(err, "'%s' has a damaged zip64 record",
                                 path);
        entries = le(b + z64 + 32, 8);
        cd_size = le(b + z64 + 40, 8);
        cd_off = le(b + z64 + 48, 8);
    }
    if (cd_off > len || cd_size > len - cd_off)
        return nfi_error_set(err, "'%s' is damaged or truncated: its zip "
                             "directory lies outside the file", path);
    size_t p = (size_t)cd_off, cd_end = (size_t)(cd_off + cd_size);
    for (uint64_t i = 0; i < entries; i++) {
        if (p + 46 > cd_end || le(b + p, 4) != ZIP_CENTRAL)
            return nfi_error_set(err, "'%s' is damaged: bad zip directory "
                                 "entry %" PRIu64, path, i + 1);
        unsigned flags = (unsigned)le(b + p + 8, 2);
        unsigned method = (unsigned)le(b + p + 10, 2);
        uint32_t crc = (uint32_t)le(b + p + 16, 4);
        uint64_t csize = le(b + p + 20, 4), usize = le(b + p + 24, 4);
        size_t nlen = (size_t)le(b + p + 28, 2);
        size_t xlen = (size_t)le(b + p + 30, 2);
        size_t clen = (size_t)le(b + p + 32, 2);
        uint64_t loff = le(b + p + 42, 4);
        if (p + 46 + nlen + xlen + clen > cd_end)
            return nfi_error_set(err, "'%s' is damaged: bad zip directory "
                                 "entry %" PRIu64, path, i + 1);
        const char *name = (const char *)b + p + 46;
        /* zip64 extra field: the sizes and offset that do not fit. */
        const unsigned char *x = b + p + 46 + nlen, *xend = x + xlen;
        while (x + 4 <= xend) {
            unsigned id = (unsigned)le(x, 2), sz = (unsigned)le(x + 2, 2);
            const unsigned char *v = x + 4;
            if (v + sz > xend)
                break;
            if (id == 1) {
                const unsigned char *q = v;
                if (usize == 0xffffffffu && q + 8 <= v + sz) {
                    usize = le(q, 8);
                    q += 8;
                }
                if (csize == 0xffffffffu && q + 8 <= v + sz) {
                    csize = le(q, 8);
                    q += 8;
                }
                if (loff == 0xffffffffu && q + 8 <= v + sz)
                    loff = le(q, 8);
            }
            x = v + sz;
        }
        p += 46 + nlen + xlen + clen;

        char what[NFI_TENSOR_NAME_MAX + 4200];
        snprintf(what, sizeof what, "'%s' member '%.*s'", path,
                 (int)(nlen < 200 ? nlen : 200), name);
        if (nlen < 5 || memcmp(name + nlen - 4, ".npy", 4) != 0 ||
            nlen - 4 >= NFI_TENSOR_NAME_MAX)
            return nfi_error_set(err, "%s is not NAME.npy (an .npz holds "
                                 ".npy arrays only)", what);
        if (flags & 1)
            return nfi_error_set(err, "%s is encrypted", what);
        if (method != 0 && method != 8)
            return nfi_error_set(err, "%s uses zip compression method %u; "
                                 "nfi reads stored (0) and deflated (8) "
                                 "members", what, method);
        if (len < 30 || loff > len - 30 || le(b + loff, 4) != ZIP_LOCAL)
            return nfi_error_set(err, "%s is damaged: no local header at "
                                 "offset %" PRIu64, what, loff);
        uint64_t start = loff + 30 + le(b + loff + 26, 2) +
                         le(b + loff + 28, 2);
        if (start > len || csize > len - start)
            return nfi_error_set(err, "%s is truncated: its %" PRIu64
                                 " bytes run past the end of the file",
                                 what, csize);
        if (usize > SIZE_MAX - 1)
            return nfi_error_set(err, "%s is too large", what);
        unsigned char *raw = NULL;
        const unsigned char *data = b + start;
        if (method == 8) {
            raw = malloc(usize > 0 ? (size_t)usize : 1);
            size_t got = 0;
            if (raw == NULL)
                return nfi_error_set(err, "%s: out of memory", what);
            if (inflate_raw(b + start, (size_t)csize, raw, (size_t)usize,
                            &got) != 0 || got != usize) {
                free(raw);
                return nfi_error_set(err, "%s is damaged: its deflated "
                                     "data do not inflate to %" PRIu64
                                     " bytes", what, usize);
            }
            data = raw;
        } else if (csize != usize) {
            return nfi_error_set(err, "%s is damaged: stored with %" PRIu64
                                 " bytes but %" PRIu64 " announced", what,
                                 csize, usize);
        }
        uLong c = crc32(0L, Z_NULL, 0);
        for (size_t off = 0; off < usize;) {
            size_t chunk = usize - off > UINT_MAX ? UINT_MAX : usize - off;
            c = crc32(c, data + off, (uInt)chunk);
            off += chunk;
        }
        if ((uint32_t)c != crc) {
            free(raw);
            return nfi_error_set(err, "%s is damaged: its CRC-32 is %08lx "
                                 "where the archive records %08" PRIx32,
                                 what, (unsigned long)(uint32_t)c, crc);
        }
        nfi_tensor t;
        memset(&t, 0, sizeof t);
        memcpy(t.name, name, nlen - 4);
        t.name[nlen - 4] = '\0';
        int rc = npy_member(data, (size_t)usize, &t, what, err);
        free(raw);
        if (rc == 0 && (rc = set_add(out, &t, path, err)) != 0)
            free(t.data);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- safetensors ---- */

static int st_parse(const unsigned char *b, size_t len, const char *path,
                    nfi_tensor_set *out, nfi_error *err)
{
    if (len < 8)
        return nfi_error_set(err, "'%s' is not a safetensors file: shorter "
                             "than its 8-byte header length", path);
    uint64_t hlen = le(b, 8);
    if (hlen > len - 8)
        return nfi_error_set(err, "'%s' is not a safetensors file or is "
                             "truncated: it announces a %" PRIu64 "-byte "
                             "header, the file has %zu bytes", path, hlen,
                             len);
    nfi_error why;
    nfi_json_value *root = nfi_json_parse((const char *)b + 8, (size_t)hlen,
                                          path, &why);
    if (root == NULL)
        return nfi_error_set(err, "'%s' is not a safetensors file: its "
                             "header is not JSON (%s)", path, why.message);
    int rc = 0;
    size_t base = 8 + (size_t)hlen, dlen = len - base;
    if (nfi_json_type_of(root) != NFI_JSON_OBJECT) {
        rc = nfi_error_set(err, "'%s': the safetensors header is not a "
                           "JSON object", path);
        goto done;
    }
    for (size_t i = 0; i < nfi_json_length(root) && rc == 0; i++) {
        const char *name = nfi_json_key_at(root, i);
        const nfi_json_value *v = nfi_json_at(root, i);
        if (strcmp(name, "__metadata__") == 0)
            continue;
        char what[NFI_TENSOR_NAME_MAX + 4200];
        snprintf(what, sizeof what, "'%s' tensor '%.200s'", path, name);
        const nfi_json_value *dt = nfi_json_get(v, "dtype");
        const nfi_json_value *sh = nfi_json_get(v, "shape");
        const nfi_json_value *off = nfi_json_get(v, "data_offsets");
        const char *ds;
        if (dt == NULL || sh == NULL || off == NULL ||
            nfi_json_as_string(dt, &ds, NULL, NULL) != 0 ||
            nfi_json_type_of(sh) != NFI_JSON_ARRAY ||
            nfi_json_type_of(off) != NFI_JSON_ARRAY ||
            nfi_json_length(off) != 2) {
            rc = nfi_error_set(err, "%s lacks a string dtype, an array "
                               "shape or two data_offsets", what);
            break;
        }
        nfi_tensor t;
        memset(&t, 0, sizeof t);
        if (strlen(name) >= NFI_TENSOR_NAME_MAX) {
            rc = nfi_error_set(err, "%s: name too long", what);
            break;
        }
        snprintf(t.name, sizeof t.name, "%s", name);
        int found = -1;
        for (int e = 0; e < NFI_ELEM_COUNT; e++)
            if (strcmp(ds, elems[e].st) == 0)
                found = e;
        if (found < 0) {
            rc = nfi_error_set(err, "%s has dtype '%.40s'; nfi reads F64, "
                               "F32, F16, BF16 and integer types", what, ds);
            break;
        }
        t.elem = (nfi_elem)found;
        if (nfi_json_length(sh) > NFI_TENSOR_MAX_DIMS) {
            rc = nfi_error_set(err, "%s has more than %d dimensions", what,
                               NFI_TENSOR_MAX_DIMS);
            break;
        }
        t.ndim = (int)nfi_json_length(sh);
        for (int d = 0; d < t.ndim && rc == 0; d++) {
            uint64_t s;
            if (nfi_json_as_uint64(nfi_json_at(sh, (size_t)d), &s,
                                   NULL) != 0 || s > SIZE_MAX)
                rc = nfi_error_set(err, "%s has a bad shape", what);
            t.shape[d] = (size_t)s;
        }
        uint64_t o0, o1;
        if (rc == 0 &&
            (nfi_json_as_uint64(nfi_json_at(off, 0), &o0, NULL) != 0 ||
             nfi_json_as_uint64(nfi_json_at(off, 1), &o1, NULL) != 0 ||
             o0 > o1))
            rc = nfi_error_set(err, "%s has bad data_offsets", what);
        if (rc == 0 && shape_count(&t) != 0)
            rc = nfi_error_set(err, "%s has a shape too large", what);
        if (rc != 0)
            break;
        size_t need = t.count * elems[t.elem].size;
        if (o1 > dlen) {
            rc = nfi_error_set(err, "%s lies past the end of the file "
                               "(truncated?): bytes %" PRIu64 " to %" PRIu64
                               " of %zu", what, o0, o1, dlen);
            break;
        }
        if (o1 - o0 != need) {
            rc = nfi_error_set(err, "%s spans %" PRIu64 " bytes where its "
                               "shape needs %zu", what, o1 - o0, need);
            break;
        }
        t.data = copy_le(b + base + o0, t.count, elems[t.elem].size);
        if (t.data == NULL) {
            rc = nfi_error_set(err, "%s: out of memory", what);
            break;
        }
        if ((rc = set_add(out, &t, path, err)) != 0)
            free(t.data);
    }
done:
    nfi_json_free(root);
    return rc;
}

static int read_with(const char *path, int kind, nfi_tensor_set *out,
                     nfi_error *err)
{
    memset(out, 0, sizeof *out);
    size_t len;
    unsigned char *b = (unsigned char *)nfi_read_file(path, &len, err);
    if (b == NULL)
        return -1;
    if (kind < 0)
        kind = len >= 2 && b[0] == 'P' && b[1] == 'K' ? 0 : 1;
    int rc = kind == 0 ? npz_parse(b, len, path, out, err)
                       : st_parse(b, len, path, out, err);
    free(b);
    if (rc != 0)
        nfi_tensor_set_free(out);
    return rc;
}

int nfi_tensors_read(const char *path, nfi_tensor_set *out, nfi_error *err)
{
    return read_with(path, -1, out, err);
}

int nfi_npz_read(const char *path, nfi_tensor_set *out, nfi_error *err)
{
    return read_with(path, 0, out, err);
}

int nfi_safetensors_read(const char *path, nfi_tensor_set *out,
                         nfi_error *err)
{
    return read_with(path, 1, out, err);
}

/* ---- Conversions ---- */

/* The value of a binary16 bit pattern. */
static double half_value(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 0x1f;
    unsigned m = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m != 0 ? NAN : INFINITY;
    else
        v = ldexp(m | 0x400u, e - 25);
    return sign ? -v : v;
}

int nfi_tensor_to_double(const nfi_tensor *t, double *out, nfi_error *err)
{
    for (size_t i = 0; i < t->count; i++) {
        switch (t->elem) {
        case NFI_ELEM_F64: out[i] = ((const double *)t->data)[i]; break;
        case NFI_ELEM_F32: out[i] = ((const float *)t->data)[i]; break;
        case NFI_ELEM_F16:
            out[i] = half_value(((const uint16_t *)t->data)[i]);
            break;
        case NFI_ELEM_BF16: {
            uint32_t bits = (uint32_t)((const uint16_t *)t->data)[i] << 16;
            float f;
            memcpy(&f, &bits, sizeof f);
            out[i] = f;
            break;
        }
        default:
            return nfi_error_set(err, "tensor '%s' holds %s; a "
                                 "floating-point type is expected "
                                 "(float64, float32, float16, bfloat16)",
                                 t->name, elems[t->elem].name);
        }
    }
    return 0;
}

int nfi_tensor_to_int64(const nfi_tensor *t, int64_t *out, nfi_error *err)
{
    if (!elems[t->elem].is_int)
        return nfi_error_set(err, "tensor '%s' holds %s; an integer type "
                             "is expected", t->name, elems[t->elem].name);
    for (size_t i = 0; i < t->count; i++) {
        const void *d = t->data;
        switch (t->elem) {
        case NFI_ELEM_I64: out[i] = ((const int64_t *)d)[i]; break;
        case NFI_ELEM_I32: out[i] = ((const int32_t *)d)[i]; break;
        case NFI_ELEM_I16: out[i] = ((const int16_t *)d)[i]; break;
        case NFI_ELEM_I8: out[i] = ((const int8_t *)d)[i]; break;
        case NFI_ELEM_U64:
            if (((const uint64_t *)d)[i] > INT64_MAX)
                return nfi_error_set(err, "tensor '%s' element %zu is "
                                     "above 2^63 - 1", t->name, i);
            out[i] = (int64_t)((const uint64_t *)d)[i];
            break;
        case NFI_ELEM_U32: out[i] = ((const uint32_t *)d)[i]; break;
        case NFI_ELEM_U16: out[i] = ((const uint16_t *)d)[i]; break;
        default: out[i] = ((const uint8_t *)d)[i]; break;
        }
    }
    return 0;
}

/* ---- Writing ---- */

/* The bytes of tensor t as an .npy file (header, little-endian data),
 * malloc'ed into *buf. */
static int npy_bytes(const nfi_tensor_out *t, size_t count,
                     unsigned char **buf, size_t *len, nfi_error *err)
{
    char dict[1024];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': "
                     "False, 'shape': (", elems[t->elem].npy);
    for (int d = 0; d < t->ndim; d++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu%s",
                      t->shape[d], t->ndim == 1 || d + 1 < t->ndim ? ", "
                      : "");
    if (t->ndim == 1)
        n -= 1; /* "(5,)" as NumPy writes it */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    size_t hl = (size_t)n + 1;
    size_t total_head = 10 + hl;
    size_t pad = (64 - total_head % 64) % 64;
    hl += pad;
    size_t data = count * 8;
    *len = 10 + hl + data;
    unsigned char *b = malloc(*len);
    if (b == NULL)
        return nfi_error_set(err, "out of memory writing '%s'", t->name);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    put_le(b + 8, hl, 2);
    memcpy(b + 10, dict, (size_t)n);
    memset(b + 10 + n, ' ', pad);
    b[10 + hl - 1] = '\n';
    const unsigned char *src = t->data;
    for (size_t i = 0; i < count; i++) {
        uint64_t v;
        memcpy(&v, src + 8 * i, 8);
        put_le(b + 10 + hl + 8 * i, v, 8);
    }
    *buf = b;
    return 0;
}

static int write_npz(nfi_atomic_file *f, const nfi_tensor_out *t, size_t n,
                     nfi_error *err)
{
    unsigned char *central = NULL;
    size_t clen = 0, off = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].ndim; d++)
            count *= t[i].shape[d];
        unsigned char *b;
        size_t len;
        if (npy_bytes(&t[i], count, &b, &len, err) != 0) {
            rc = -1;
            break;
        }
        if (len >= 0xffffffffu || off >= 0xffffffffu) {
            free(b);
            rc = nfi_error_set(err, "tensor '%s' is too large for this "
                               "writer (4 GiB)", t[i].name);
            break;
        }
        uLong c = crc32(crc32(0L, Z_NULL, 0), b, (uInt)len);
        size_t nlen = strlen(t[i].name) + 4;
        unsigned char h[30];
        put_le(h, ZIP_LOCAL, 4);
        put_le(h + 4, 20, 2);
        put_le(h + 6, 0, 2);
        put_le(h + 8, 0, 2);
        put_le(h + 10, 0, 2);          /* time */
        put_le(h + 12, (1 << 5) | 1, 2); /* date: 1980-01-01 */
        put_le(h + 14, c, 4);
        put_le(h + 18, len, 4);
        put_le(h + 22, len, 4);
        put_le(h + 26, nlen, 2);
        put_le(h + 28, 0, 2);
        unsigned char *grown = realloc(central, clen + 46 + nlen);
        if (grown == NULL) {
            free(b);
            rc = nfi_error_set(err, "out of memory");
            break;
        }
        central = grown;
        unsigned char *e = central + clen;
        put_le(e, ZIP_CENTRAL, 4);
        put_le(e + 4, 20, 2);
        memcpy(e + 6, h + 4, 26);      /* version needed .. name length */
        memset(e + 32, 0, 10);         /* comment, disk, attributes */
        put_le(e + 38, 0x1a4u << 16, 4); /* rw-r--r-- */
        put_le(e + 42, off, 4);
        memcpy(e + 46, t[i].name, nlen - 4);
        memcpy(e + 46 + nlen - 4, ".npy", 4);
        clen += 46 + nlen;
        if (nfi_atomic_write(f, h, 30, err) != 0 ||
            nfi_atomic_write(f, e + 46, nlen, err) != 0 ||
            nfi_atomic_write(f, b, len, err) != 0)
            rc = -1;
        off += 30 + nlen + len;
        free(b);
    }
    if (rc == 0) {
        unsigned char end[22];
        put_le(end, ZIP_END, 4);
        put_le(end + 4, 0, 4);
        put_le(end + 8, n, 2);
        put_le(end + 10, n, 2);
        put_le(end + 12, clen, 4);
        put_le(end + 16, off, 4);
        put_le(end + 20, 0, 2);
        if ((clen > 0 && nfi_atomic_write(f, central, clen, err) != 0) ||
            nfi_atomic_write(f, end, 22, err) != 0)
            rc = -1;
    }
    free(central);
    return rc;
}

static int write_st(nfi_atomic_file *f, const nfi_tensor_out *t, size_t n,
                    nfi_error *err)
{
    nfi_json_writer *j = nfi_json_writer_new();
    if (j == NULL)
        return nfi_error_set(err, "out of memory");
    nfi_json_begin_object(j);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].ndim; d++)
            count *= t[i].shape[d];
        nfi_json_key(j, t[i].name);
        nfi_json_begin_object(j);
        nfi_json_key(j, "dtype");
        nfi_json_string(j, elems[t[i].elem].st);
        nfi_json_key(j, "shape");
        nfi_json_begin_array(j);
        for (int d = 0; d < t[i].ndim; d++)
            nfi_json_uint(j, t[i].shape[d]);
        nfi_json_end_array(j);
        nfi_json_key(j, "data_offsets");
        nfi_json_begin_array(j);
        nfi_json_uint(j, off);
        nfi_json_uint(j, off + 8 * count);
        nfi_json_end_array(j);
        nfi_json_end_object(j);
        off += 8 * count;
    }
    nfi_json_end_object(j);
    size_t hl;
    const char *text = nfi_json_writer_text(j, &hl, err);
    int rc = text == NULL ? -1 : 0;
    if (rc == 0) {
        /* padded with spaces to a multiple of 8 bytes */
        size_t pad = (8 - hl % 8) % 8;
        unsigned char lenb[8];
        put_le(lenb, hl + pad, 8);
        rc = nfi_atomic_write(f, lenb, 8, err);
        if (rc == 0)
            rc = nfi_atomic_write(f, text, hl, err);
        for (size_t k = 0; k < pad && rc == 0; k++)
            rc = nfi_atomic_write(f, " ", 1, err);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].ndim; d++)
            count *= t[i].shape[d];
        const unsigned char *src = t[i].data;
        for (size_t k = 0; k < count && rc == 0; k++) {
            uint64_t v;
            unsigned char o[8];
            memcpy(&v, src + 8 * k, 8);
            put_le(o, v, 8);
            rc = nfi_atomic_write(f, o, 8, err);
        }
    }
    nfi_json_writer_free(j);
    return rc;
}

int nfi_tensors_write(const char *path, bool npz, const nfi_tensor_out *t,
                      size_t n, nfi_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].elem != NFI_ELEM_F64 && t[i].elem != NFI_ELEM_I64)
            return nfi_error_set(err, "cannot write '%s': tensor '%s' is "
                                 "neither float64 nor int64", path,
                                 t[i].name);
        if (t[i].name[0] == '\0' || strlen(t[i].name) >= 200 ||
            t[i].ndim < 0 || t[i].ndim > NFI_TENSOR_MAX_DIMS)
            return nfi_error_set(err, "cannot write '%s': bad tensor name "
                                 "or shape", path);
    }
    nfi_atomic_file *f = nfi_atomic_open(path, err);
    if (f == NULL)
        return -1;
    int rc = npz ? write_npz(f, t, n, err) : write_st(f, t, n, err);
    if (rc != 0) {
        nfi_atomic_abort(f);
        return -1;
    }
    return nfi_atomic_commit(f, err);
}
