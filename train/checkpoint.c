/* nfi: checkpoints.  See checkpoint.h for the files and their checks. */
#include "checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/atomic.h"
#include "trace/json.h"
#include "trace/npy.h"

#define FORMAT_NAME "nfi checkpoint"
#define MAX_FILES 3

uint32_t nfi_crc32(uint32_t crc, const void *data, size_t n)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* dir/name in a malloc'ed string, or NULL with err set. */
static char *join(const char *dir, const char *name, nfi_error *err)
{
    size_t n = strlen(dir);
    bool slash = n > 0 && dir[n - 1] == '/';
    char *path = malloc(n + strlen(name) + 2);
    if (path == NULL) {
        nfi_error_set(err, "out of memory for the checkpoint in '%s'", dir);
        return NULL;
    }
    sprintf(path, "%s%s%s", dir, slash ? "" : "/", name);
    return path;
}

/* The arrays of a checkpoint, in the order written and listed. */
typedef struct ckpt_file {
    const char *name;
    const char *contents;
    nfi_role role;
    double *data;       /* the trainer's array */
} ckpt_file;

static size_t files_of(nfi_trainer *t, ckpt_file *f)
{
    const nfi_optim_config *c = &t->spec.optim;
    size_t k = 0;
    f[k++] = (ckpt_file){NFI_CHECKPOINT_PARAMS, "the parameter vector in "
                         "the model's layout", NFI_ROLE_PARAMS,
                         nfi_trainer_params(t, NULL)};
    if (c->kind != NFI_OPTIM_SGD || c->momentum != 0)
        f[k++] = (ckpt_file){NFI_CHECKPOINT_MOMENT1,
                             c->kind == NFI_OPTIM_SGD ? "the momentum buffer"
                                                      : "the first moment",
                             NFI_ROLE_OPTIM, t->optim.m};
    if (c->kind != NFI_OPTIM_SGD)
        f[k++] = (ckpt_file){NFI_CHECKPOINT_MOMENT2, "the second moment",
                             NFI_ROLE_OPTIM, t->optim.v};
    return k;
}

/* The text state_crc32 covers (see checkpoint.h). */
static uint32_t state_crc(long step, long optim_step,
                          const uint64_t *counters, size_t nfiles,
                          const char *const *names, const uint64_t *bytes,
                          const uint32_t *crcs)
{
    char text[1024];
    int len = snprintf(text, sizeof text, "step=%ld;optim_step=%ld;"
                       "counters=", step, optim_step);
    for (int r = 0; r < NFI_ROLE_COUNT; r++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s%" PRIu64,
                        r ? "," : "", counters[r]);
    len += snprintf(text + len, sizeof text - (size_t)len, ";files=");
    for (size_t i = 0; i < nfiles; i++)
        len += snprintf(text + len, sizeof text - (size_t)len,
                        "%s%s:%" PRIu64 ":%08" PRIx32, i ? "," : "",
                        names[i], bytes[i], crcs[i]);
    return nfi_crc32(0, text, (size_t)len);
}

static void write_u64_string(nfi_json_writer *j, uint64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, v);
    nfi_json_string(j, s);
}

static void write_crc(nfi_json_writer *j, uint32_t v)
{
    char s[16];
    snprintf(s, sizeof s, "%08" PRIx32, v);
    nfi_json_string(j, s);
}

int nfi_checkpoint_save(nfi_trainer *t, const char *dir, nfi_error *err)
{
    size_t n;
    nfi_trainer_params(t, &n);
    ckpt_file files[MAX_FILES];
    size_t nfiles = files_of(t, files);
    const char *names[MAX_FILES];
    uint64_t bytes[MAX_FILES];
    uint32_t crcs[MAX_FILES];
    for (size_t i = 0; i < nfiles; i++) {
        char *path = join(dir, files[i].name, err);
        if (path == NULL)
            return -1;
        size_t len = 0;
        char *back = NULL;
        /* The checksum is of the bytes as they were stored. */
        if (nfi_npy_write(path, NFI_DTYPE_FLOAT64, 1, &n, files[i].data,
                          err) != 0 ||
            (back = nfi_read_file(path, &len, err)) == NULL) {
            free(path);
            return -1;
        }
        names[i] = files[i].name;
        bytes[i] = len;
        crcs[i] = nfi_crc32(0, back, len);
        free(back);
        free(path);
    }
    uint64_t counters[NFI_ROLE_COUNT];
    for (int r = 0; r < NFI_ROLE_COUNT; r++)
        counters[r] = t->roles.arith[r].fast.counter;

    nfi_json_writer *j = nfi_json_writer_new();
    if (j == NULL)
        return nfi_error_set(err, "out of memory writing the checkpoint "
                             "in '%s'", dir);
    const nfi_train_spec *sp = &t->spec;
    nfi_json_begin_object(j);
    nfi_json_key(j, "format");
    nfi_json_string(j, FORMAT_NAME);
    nfi_json_key(j, "version");
    nfi_json_int(j, NFI_CHECKPOINT_VERSION);
    nfi_json_key(j, "step");
    nfi_json_int(j, t->step);
    nfi_json_key(j, "optim_step");
    nfi_json_int(j, t->optim.step);
    nfi_json_key(j, "n_params");
    nfi_json_uint(j, n);
    nfi_json_key(j, "seed");
    write_u64_string(j, sp->seed);
    nfi_json_key(j, "round");
    nfi_json_string(j, nfi_round_name(sp->mode));
    nfi_json_key(j, "optimizer");
    nfi_json_begin_object(j);
    nfi_json_key(j, "kind");
    nfi_json_string(j, nfi_optim_kind_name(sp->optim.kind));
    nfi_json_key(j, "lr");
    nfi_json_double(j, sp->optim.lr);
    nfi_json_key(j, "beta1");
    nfi_json_double(j, sp->optim.beta1);
    nfi_json_key(j, "beta2");
    nfi_json_double(j, sp->optim.beta2);
    nfi_json_key(j, "eps");
    nfi_json_double(j, sp->optim.eps);
    nfi_json_key(j, "weight_decay");
    nfi_json_double(j, sp->optim.weight_decay);
    nfi_json_key(j, "momentum");
    nfi_json_double(j, sp->optim.momentum);
    nfi_json_end_object(j);
    nfi_json_key(j, "formats");
    nfi_json_begin_object(j);
    for (int r = 0; r < NFI_ROLE_COUNT; r++) {
        char spell[256];
        nfi_format_spell(&sp->policy.format[r], spell, sizeof spell);
        nfi_json_key(j, nfi_role_name((nfi_role)r));
        nfi_json_string(j, spell);
    }
    nfi_json_end_object(j);
    nfi_json_key(j, "sr_counters");
    nfi_json_begin_object(j);
    for (int r = 0; r < NFI_ROLE_COUNT; r++) {
        nfi_json_key(j, nfi_role_name((nfi_role)r));
        write_u64_string(j, counters[r]);
    }
    nfi_json_end_object(j);
    nfi_json_key(j, "files");
    nfi_json_begin_array(j);
    for (size_t i = 0; i < nfiles; i++) {
        char spell[256];
        nfi_format_spell(&sp->policy.format[files[i].role], spell,
                         sizeof spell);
        nfi_json_begin_object(j);
        nfi_json_key(j, "name");
        nfi_json_string(j, files[i].name);
        nfi_json_key(j, "contents");
        nfi_json_string(j, files[i].contents);
        nfi_json_key(j, "role");
        nfi_json_string(j, nfi_role_name(files[i].role));
        nfi_json_key(j, "format");
        nfi_json_string(j, spell);
        nfi_json_key(j, "bytes");
        nfi_json_uint(j, bytes[i]);
        nfi_json_key(j, "crc32");
        write_crc(j, crcs[i]);
        nfi_json_end_object(j);
    }
    nfi_json_end_array(j);
    nfi_json_key(j, "state_crc32");
    write_crc(j, state_crc(t->step, t->optim.step, counters, nfiles, names,
                           bytes, crcs));
    nfi_json_end_object(j);

    char *path = join(dir, NFI_CHECKPOINT_STATE, err);
    int rc = path == NULL ? -1 : nfi_json_writer_save(j, path, err);
    free(path);
    nfi_json_writer_free(j);
    return rc;
}

/* ---- Loading ---- */

/* A member that must be there, with the message naming the file. */
static const nfi_json_value *member(const nfi_json_value *obj,
                                    const char *key, const char *path,
                                    nfi_error *err)
{
    nfi_error why;
    const nfi_json_value *v = nfi_json_member(obj, key, &why);
    if (v == NULL)
        nfi_error_set(err, "checkpoint '%s' is damaged: %s", path,
                      why.message);
    return v;
}

/* Reports a bad value of the checkpoint with its JSON path. */
static int bad_value(const nfi_json_value *v, const char *path,
                     const char *what, nfi_error *err)
{
    char where[256];
    nfi_json_path(v, where, sizeof where);
    long line, col;
    nfi_json_position(v, &line, &col);
    return nfi_error_set(err, "checkpoint '%s' is damaged: %s (line %ld) "
                         "%s", path, where, line, what);
}

static int get_string(const nfi_json_value *obj, const char *key,
                      const char *path, const char **s, nfi_error *err)
{
    const nfi_json_value *v = member(obj, key, path, err);
    if (v == NULL)
        return -1;
    if (nfi_json_as_string(v, s, NULL, NULL) != 0)
        return bad_value(v, path, "is not a string", err);
    return 0;
}

/* A 64-bit integer written as a decimal string. */
static int get_u64_string(const nfi_json_value *obj, const char *key,
                          const char *path, uint64_t *x, nfi_error *err)
{
    const char *s;
    if (get_string(obj, key, path, &s, err) != 0)
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0)
        return bad_value(nfi_json_get(obj, key), path, "is not a whole "
                         "number from 0 to 2^64 - 1 in decimal", err);
    *x = v;
    return 0;
}

static int get_crc(const nfi_json_value *obj, const char *key,
                   const char *path, uint32_t *x, nfi_error *err)
{
    const char *s;
    if (get_string(obj, key, path, &s, err) != 0)
        return -1;
    char *end;
    unsigned long v = strtoul(s, &end, 16);
    if (strlen(s) != 8 || strspn(s, "0123456789abcdef") != 8 ||
        *end != '\0')
        return bad_value(nfi_json_get(obj, key), path, "is not a CRC-32 "
                         "in 8 lowercase hexadecimal digits", err);
    *x = (uint32_t)v;
    return 0;
}

static int get_long(const nfi_json_value *obj, const char *key,
                    const char *path, long *x, nfi_error *err)
{
    const nfi_json_value *v = member(obj, key, path, err);
    if (v == NULL)
        return -1;
    int64_t i;
    if (nfi_json_as_int64(v, &i, NULL) != 0 || i < 0 || i > LONG_MAX)
        return bad_value(v, path, "is not a whole number >= 0", err);
    *x = (long)i;
    return 0;
}

static int get_double(const nfi_json_value *obj, const char *key,
                      const char *path, double *x, nfi_error *err)
{
    const nfi_json_value *v = member(obj, key, path, err);
    if (v == NULL)
        return -1;
    if (nfi_json_as_double(v, x, NULL) != 0)
        return bad_value(v, path, "is not a number", err);
    return 0;
}

/* Checks that state.json describes a run of t's spec. */
static int check_run(const nfi_json_value *root, const char *path,
                     const nfi_trainer *t, size_t n, nfi_error *err)
{
    const nfi_train_spec *sp = &t->spec;
    const nfi_json_value *v = member(root, "n_params", path, err);
    uint64_t np;
    if (v == NULL)
        return -1;
    if (nfi_json_as_uint64(v, &np, NULL) != 0)
        return bad_value(v, path, "is not a whole number", err);
    if (np != n)
        return nfi_error_set(err, "checkpoint '%s' holds %" PRIu64
                             " parameters; this model has %zu: it belongs "
                             "to another run", path, np, n);
    uint64_t seed;
    if (get_u64_string(root, "seed", path, &seed, err) != 0)
        return -1;
    if (seed != sp->seed)
        return nfi_error_set(err, "checkpoint '%s' is of a run with seed %"
                             PRIu64 "; this one has seed %" PRIu64, path,
                             seed, sp->seed);
    const char *s;
    if (get_string(root, "round", path, &s, err) != 0)
        return -1;
    if (strcmp(s, nfi_round_name(sp->mode)) != 0)
        return nfi_error_set(err, "checkpoint '%s' is of a run rounding "
                             "%s; this one rounds %s", path, s,
                             nfi_round_name(sp->mode));

    const nfi_json_value *o = member(root, "optimizer", path, err);
    if (o == NULL || get_string(o, "kind", path, &s, err) != 0)
        return -1;
    if (strcmp(s, nfi_optim_kind_name(sp->optim.kind)) != 0)
        return nfi_error_set(err, "checkpoint '%s' is of a run with "
                             "optimizer %s; this one uses %s", path, s,
                             nfi_optim_kind_name(sp->optim.kind));
    static const char *const keys[] = {"lr", "beta1", "beta2", "eps",
                                       "weight_decay", "momentum"};
    const double mine[] = {sp->optim.lr, sp->optim.beta1, sp->optim.beta2,
                           sp->optim.eps, sp->optim.weight_decay,
                           sp->optim.momentum};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double x;
        if (get_double(o, keys[i], path, &x, err) != 0)
            return -1;
        if (x != mine[i])
            return nfi_error_set(err, "checkpoint '%s' is of a run with %s "
                                 "%.17g; this one has %.17g", path, keys[i],
                                 x, mine[i]);
    }

    const nfi_json_value *f = member(root, "formats", path, err);
    if (f == NULL)
        return -1;
    for (int r = 0; r < NFI_ROLE_COUNT; r++) {
        const char *role = nfi_role_name((nfi_role)r);
        if (get_string(f, role, path, &s, err) != 0)
            return -1;
        nfi_format fmt;
        if (nfi_format_parse(s, &fmt, NULL) != 0)
            return bad_value(nfi_json_get(f, role), path, "is not a format "
                             "specification", err);
        if (!nfi_format_equal(&fmt, &sp->policy.format[r])) {
            char spell[256];
            nfi_format_spell(&sp->policy.format[r], spell, sizeof spell);
            return nfi_error_set(err, "checkpoint '%s' is of a run with %s "
                                 "in %s; this one uses %s", path, role, s,
                                 spell);
        }
    }
    return 0;
}

/* Reads dir/name, checks its size and CRC-32 against the record and
 * reads it as a float64 array of n; *out gets the malloc'ed values. */
static int read_array(const char *dir, const char *name, uint64_t bytes,
                      uint32_t crc, size_t n, const char *state,
                      double **out, nfi_error *err)
{
    char *path = join(dir, name, err);
    if (path == NULL)
        return -1;
    size_t len;
    nfi_error why;
    char *raw = nfi_read_file(path, &len, &why);
    int rc = 0;
    if (raw == NULL) {
        rc = nfi_error_set(err, "checkpoint file missing or unreadable: %s "
                           "(listed in '%s')", why.message, state);
    } else if (len != bytes) {
        rc = nfi_error_set(err, "checkpoint file '%s' is damaged: it holds "
                           "%zu bytes where '%s' records %" PRIu64 "%s",
                           path, len, state, bytes,
                           len < bytes ? " (truncated)" : "");
    } else if (nfi_crc32(0, raw, len) != crc) {
        rc = nfi_error_set(err, "checkpoint file '%s' is damaged: its "
                           "CRC-32 is %08" PRIx32 " where '%s' records %08"
                           PRIx32, path, nfi_crc32(0, raw, len), state, crc);
    }
    free(raw);
    if (rc != 0) {
        free(path);
        return rc;
    }
    nfi_npy_array a;
    if (nfi_npy_read(path, &a, &why) != 0) {
        rc = nfi_error_set(err, "checkpoint file damaged: %s", why.message);
    } else if (a.dtype != NFI_DTYPE_FLOAT64 || a.ndim != 1 ||
               a.shape[0] != n) {
        rc = nfi_error_set(err, "checkpoint file '%s' holds %s with %d "
                           "dimensions where float64 (%zu,) is expected",
                           path, nfi_dtype_name(a.dtype), a.ndim, n);
        nfi_npy_free(&a);
    } else {
        *out = a.data; /* taken over: never NULL after a read */
    }
    free(path);
    return rc;
}

int nfi_checkpoint_load(nfi_trainer *t, const char *dir, nfi_error *err)
{
    size_t n;
    nfi_trainer_params(t, &n);
    ckpt_file files[MAX_FILES];
    size_t nfiles = files_of(t, files);
    double *loaded[MAX_FILES] = {NULL};
    int rc = -1;
    char *path = join(dir, NFI_CHECKPOINT_STATE, err);
    if (path == NULL)
        return -1;
    nfi_json_value *root = nfi_json_parse_file(path, err);
    if (root == NULL) {
        free(path);
        return -1;
    }

    const char *s;
    long version = 0, step = 0, optim_step = 0;
    if (get_string(root, "format", path, &s, err) != 0)
        goto out;
    if (strcmp(s, FORMAT_NAME) != 0) {
        nfi_error_set(err, "'%s' is not an nfi checkpoint ($.format is "
                      "\"%s\", expected \"" FORMAT_NAME "\")", path, s);
        goto out;
    }
    if (get_long(root, "version", path, &version, err) != 0)
        goto out;
    if (version != NFI_CHECKPOINT_VERSION) {
        nfi_error_set(err, "checkpoint '%s' has version %ld; this nfi "
                      "reads version %d", path, version,
                      NFI_CHECKPOINT_VERSION);
        goto out;
    }
    if (check_run(root, path, t, n, err) != 0 ||
        get_long(root, "step", path, &step, err) != 0 ||
        get_long(root, "optim_step", path, &optim_step, err) != 0)
        goto out;

    uint64_t counters[NFI_ROLE_COUNT];
    const nfi_json_value *c = member(root, "sr_counters", path, err);
    if (c == NULL)
        goto out;
    for (int r = 0; r < NFI_ROLE_COUNT; r++)
        if (get_u64_string(c, nfi_role_name((nfi_role)r), path,
                           &counters[r], err) != 0)
            goto out;

    const nfi_json_value *list = member(root, "files", path, err);
    if (list == NULL)
        goto out;
    if (nfi_json_type_of(list) != NFI_JSON_ARRAY ||
        nfi_json_length(list) != nfiles) {
        char expect[128] = "";
        for (size_t i = 0; i < nfiles; i++)
            snprintf(expect + strlen(expect), sizeof expect - strlen(expect),
                     "%s%s", i ? ", " : "", files[i].name);
        nfi_error_set(err, "checkpoint '%s' is damaged: $.files should list "
                      "%s", path, expect);
        goto out;
    }
    const char *names[MAX_FILES];
    uint64_t bytes[MAX_FILES];
    uint32_t crcs[MAX_FILES];
    for (size_t i = 0; i < nfiles; i++) {
        const nfi_json_value *e = nfi_json_at(list, i);
        const nfi_json_value *b;
        if (get_string(e, "name", path, &names[i], err) != 0)
            goto out;
        if (strcmp(names[i], files[i].name) != 0) {
            char what[128];
            snprintf(what, sizeof what, "is \"%.40s\" where %s is "
                     "expected", names[i], files[i].name);
            bad_value(nfi_json_get(e, "name"), path, what, err);
            goto out;
        }
        if ((b = member(e, "bytes", path, err)) == NULL)
            goto out;
        if (nfi_json_as_uint64(b, &bytes[i], NULL) != 0) {
            bad_value(b, path, "is not a whole number", err);
            goto out;
        }
        if (get_crc(e, "crc32", path, &crcs[i], err) != 0)
            goto out;
    }
    uint32_t sum;
    if (get_crc(root, "state_crc32", path, &sum, err) != 0)
        goto out;
    if (sum != state_crc(step, optim_step, counters, nfiles, names, bytes,
                         crcs)) {
        nfi_error_set(err, "checkpoint '%s' is damaged: its steps, counters "
                      "or file records do not match its state_crc32", path);
        goto out;
    }
    for (size_t i = 0; i < nfiles; i++)
        if (read_array(dir, files[i].name, bytes[i], crcs[i], n, path,
                       &loaded[i], err) != 0)
            goto out;

    /* Everything checked: only now is the trainer changed. */
    for (size_t i = 0; i < nfiles; i++)
        memcpy(files[i].data, loaded[i], n * sizeof(double));
    if (t->spec.optim.kind == NFI_OPTIM_SGD) {
        memset(t->optim.v, 0, n * sizeof *t->optim.v);
        if (t->spec.optim.momentum == 0)
            memset(t->optim.m, 0, n * sizeof *t->optim.m);
    }
    t->step = step;
    t->optim.step = optim_step;
    for (int r = 0; r < NFI_ROLE_COUNT; r++)
        t->roles.arith[r].fast.counter = counters[r];
    rc = 0;
out:
    for (size_t i = 0; i < nfiles; i++)
        free(loaded[i]);
    nfi_json_free(root);
    free(path);
    return rc;
}
