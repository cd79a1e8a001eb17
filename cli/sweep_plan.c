/* nfi sweep: the list of runs, the shard rule and DIR/sweep.json. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_native.h"
#include "format.h"
#include "nfi_config.h"
#include "sweep.h"
#include "trace/json.h"

static char *dup_text(const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        abort(); /* out of memory in a few bytes: nothing sensible left */
    return c;
}

/* Appends s to the name, filesystem-safe: letters, digits and . + - =
 * kept, anything else '_'. */
static void name_add(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    for (; *s != '\0' && n + 1 < cap; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '+' ||
                  ch == '-' || ch == '=';
        buf[n++] = ok ? ch : '_';
    }
    buf[n] = '\0';
}

int sweep_plan_make(const sweep_args *a, sweep_plan *plan, nfi_error *err)
{
    memset(plan, 0, sizeof *plan);
    size_t n_fmt = a->mantissa
        ? (size_t)((a->p_hi - a->p_lo) / a->p_step + 1) : a->n_formats;
    size_t combos = 1;
    for (size_t v = 0; v < a->n_vary; v++)
        combos *= a->vary[v].n;
    size_t n = n_fmt * combos;
    plan->runs = calloc(n > 0 ? n : 1, sizeof *plan->runs);
    if (plan->runs == NULL)
        return nfi_error_set(err, "out of memory for %zu runs", n);
    int width = 3;
    for (size_t m = 1000; m < n; m *= 10)
        width++;
    for (size_t f = 0; f < n_fmt; f++) {
        char spec[256], label[128];
        nfi_format fmt;
        if (a->mantissa) {
            long p = a->p_lo + (long)f * a->p_step;
            snprintf(spec, sizeof spec, "p=%ld,emin=%ld,emax=%ld", p,
                     a->emin, a->emax);
            snprintf(label, sizeof label, "p%ld", p);
        } else {
            snprintf(spec, sizeof spec, "%s", a->formats[f]);
            label[0] = '\0';
            name_add(label, 64, spec);
        }
        if (nfi_format_parse(spec, &fmt, err) != 0) {
            sweep_plan_free(plan, a->n_vary);
            return -1;
        }
        for (size_t c = 0; c < combos; c++) {
            sweep_run *r = &plan->runs[plan->n];
            r->index = plan->n++;
            r->format = dup_text(spec);
            r->p = fmt.p;
            r->emin = fmt.emin;
            r->emax = fmt.emax;
            r->cost = sweep_format_cost(&fmt);
            r->value = calloc(a->n_vary > 0 ? a->n_vary : 1,
                              sizeof *r->value);
            if (r->value == NULL)
                abort();
            char name[512];
            snprintf(name, sizeof name, "%0*zu-%s", width, r->index, label);
            size_t rest = c;
            for (size_t v = a->n_vary; v-- > 0;) {
                r->value[v] = rest % a->vary[v].n;
                rest /= a->vary[v].n;
            }
            for (size_t v = 0; v < a->n_vary; v++) {
                char part[96];
                snprintf(part, sizeof part, "-%s=", a->vary[v].name);
                name_add(name, sizeof name, part);
                char val[64];
                val[0] = '\0';
                name_add(val, sizeof val,
                         a->vary[v].values[r->value[v]]);
                name_add(name, sizeof name, val);
            }
            r->name = dup_text(name);
        }
    }
    return 0;
}

void sweep_plan_free(sweep_plan *plan, size_t n_vary)
{
    (void)n_vary;
    for (size_t i = 0; i < plan->n; i++) {
        free(plan->runs[i].name);
        free(plan->runs[i].format);
        free(plan->runs[i].value);
    }
    free(plan->runs);
    memset(plan, 0, sizeof *plan);
}

int sweep_format_cost(const nfi_format *f)
{
    if (nfi_native_width(f, NFI_ROUND_RNE) != 0)
        return 1;
    if (f->p <= 25)
        return 2;
    return f->p <= 52 ? 4 : 32;
}

typedef struct cost_key {
    int cost;
    size_t index;
} cost_key;

static int costlier_first(const void *x, const void *y)
{
    const cost_key *a = x, *b = y;
    if (a->cost != b->cost)
        return a->cost > b->cost ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

void sweep_order_longest_first(const sweep_plan *plan, size_t *idx,
                               size_t n)
{
    cost_key *key = malloc((n > 0 ? n : 1) * sizeof *key);
    if (key == NULL)
        return; /* the given order: slower at worst, never different */
    for (size_t i = 0; i < n; i++)
        key[i] = (cost_key){plan->runs[idx[i]].cost, idx[i]};
    qsort(key, n, sizeof *key, costlier_first);
    for (size_t i = 0; i < n; i++)
        idx[i] = key[i].index;
    free(key);
}

bool sweep_in_shard(size_t index, long i, long n)
{
    return n <= 1 || (long)(index % (size_t)n) == i;
}

void sweep_args_free(sweep_args *a)
{
    for (size_t i = 0; i < a->n_train; i++)
        free(a->train[i]);
    free(a->train);
    for (size_t i = 0; i < a->n_formats; i++)
        free(a->formats[i]);
    free(a->formats);
    for (size_t v = 0; v < a->n_vary; v++) {
        free(a->vary[v].name);
        for (size_t k = 0; k < a->vary[v].n; k++)
            free(a->vary[v].values[k]);
        free(a->vary[v].values);
    }
    free(a->vary);
    free(a->range);
    memset(a, 0, sizeof *a);
}

/* The document of sweep.json. */
static nfi_json_writer *sweep_json(const sweep_args *a,
                                   const sweep_plan *plan)
{
    nfi_json_writer *j = nfi_json_writer_new();
    if (j == NULL)
        return NULL;
    char text[128];
    nfi_json_begin_object(j);
    nfi_json_key(j, "nfi_version");
    nfi_json_string(j, NFI_VERSION);
    nfi_json_key(j, "command");
    nfi_json_string(j, "sweep");
    nfi_json_key(j, "train_options");
    nfi_json_begin_array(j);
    for (size_t i = 0; i < a->n_train; i++)
        nfi_json_string(j, a->train[i]);
    nfi_json_end_array(j);
    nfi_json_key(j, "formats");
    nfi_json_begin_array(j);
    for (size_t i = 0; i < a->n_formats; i++)
        nfi_json_string(j, a->formats[i]);
    nfi_json_end_array(j);
    nfi_json_key(j, "mantissa");
    if (a->mantissa) {
        snprintf(text, sizeof text, "%ld:%ld:%ld", a->p_lo, a->p_hi,
                 a->p_step);
        nfi_json_string(j, text);
    } else {
        nfi_json_null(j);
    }
    nfi_json_key(j, "exponent_range");
    if (a->mantissa) {
        snprintf(text, sizeof text, "emin=%ld,emax=%ld", a->emin, a->emax);
        nfi_json_string(j, text);
    } else {
        nfi_json_null(j);
    }
    nfi_json_key(j, "vary");
    nfi_json_begin_array(j);
    for (size_t v = 0; v < a->n_vary; v++) {
        nfi_json_begin_object(j);
        nfi_json_key(j, "option");
        nfi_json_string(j, a->vary[v].name);
        nfi_json_key(j, "values");
        nfi_json_begin_array(j);
        for (size_t k = 0; k < a->vary[v].n; k++)
            nfi_json_string(j, a->vary[v].values[k]);
        nfi_json_end_array(j);
        nfi_json_end_object(j);
    }
    nfi_json_end_array(j);
    nfi_json_key(j, "records");
    nfi_json_string(j, a->keep_records ? "full" : "metrics");
    nfi_json_key(j, "find_threshold");
    nfi_json_bool(j, a->find_threshold);
    nfi_json_key(j, "shard");
    snprintf(text, sizeof text, "%ld/%ld", a->shard_i, a->shard_n);
    nfi_json_string(j, text);
    nfi_json_key(j, "runs");
    nfi_json_begin_array(j);
    for (size_t i = 0; i < plan->n; i++) {
        nfi_json_begin_object(j);
        nfi_json_key(j, "name");
        nfi_json_string(j, plan->runs[i].name);
        nfi_json_key(j, "format");
        nfi_json_string(j, plan->runs[i].format);
        nfi_json_end_object(j);
    }
    nfi_json_end_array(j);
    nfi_json_end_object(j);
    return j;
}

int sweep_json_write(const char *dir, const sweep_args *a,
                     const sweep_plan *plan, nfi_error *err)
{
    nfi_json_writer *j = sweep_json(a, plan);
    if (j == NULL)
        return nfi_error_set(err, "out of memory writing sweep.json");
    char path[4096];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    int rc = nfi_json_writer_save(j, path, err);
    nfi_json_writer_free(j);
    return rc;
}

/* A compact text of a JSON value (strings, numbers, booleans, null,
 * arrays and objects), for messages. */
static void compact(const nfi_json_value *v, char *buf, size_t cap)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap)
        return;
    const char *s;
    switch (nfi_json_type_of(v)) {
    case NFI_JSON_STRING:
        nfi_json_as_string(v, &s, NULL, NULL);
        snprintf(buf + n, cap - n, "\"%s\"", s);
        break;
    case NFI_JSON_ARRAY:
    case NFI_JSON_OBJECT: {
        bool obj = nfi_json_type_of(v) == NFI_JSON_OBJECT;
        snprintf(buf + n, cap - n, obj ? "{" : "[");
        for (size_t i = 0; i < nfi_json_length(v); i++) {
            n = strlen(buf);
            if (i > 0)
                snprintf(buf + n, cap - n, ", ");
            n = strlen(buf);
            if (obj)
                snprintf(buf + n, cap - n, "%s: ", nfi_json_key_at(v, i));
            compact(nfi_json_at(v, i), buf, cap);
        }
        n = strlen(buf);
        snprintf(buf + n, cap - n, obj ? "}" : "]");
        break;
    }
    case NFI_JSON_NULL:
        snprintf(buf + n, cap - n, "null");
        break;
    case NFI_JSON_BOOL: {
        bool b = false;
        nfi_json_as_bool(v, &b, NULL);
        snprintf(buf + n, cap - n, b ? "true" : "false");
        break;
    }
    default:
        snprintf(buf + n, cap - n, "%s",
                 nfi_json_number_text(v) ? nfi_json_number_text(v) : "?");
        break;
    }
}

int sweep_json_same(const char *path, const sweep_args *a,
                    bool ignore_shard, char *diff, size_t cap,
                    nfi_error *err)
{
    nfi_json_value *old = nfi_json_parse_file(path, err);
    if (old == NULL)
        return -1;
    sweep_plan none = {0, NULL};
    nfi_json_writer *j = sweep_json(a, &none);
    size_t len = 0;
    const char *text = j ? nfi_json_writer_text(j, &len, err) : NULL;
    nfi_json_value *now =
        text ? nfi_json_parse(text, len, "sweep.json", err) : NULL;
    nfi_json_writer_free(j);
    if (now == NULL) {
        nfi_json_free(old);
        return -1;
    }
    int same = 1;
    for (size_t i = 0; i < nfi_json_length(now) && same; i++) {
        const char *key = nfi_json_key_at(now, i);
        if (strcmp(key, "runs") == 0 ||
            (ignore_shard && strcmp(key, "shard") == 0))
            continue;
        char was[1024] = "", is[1024] = "";
        const nfi_json_value *ov = nfi_json_get(old, key);
        if (ov != NULL)
            compact(ov, was, sizeof was);
        else
            snprintf(was, sizeof was, "(none)");
        compact(nfi_json_at(now, i), is, sizeof is);
        if (strcmp(was, is) != 0) {
            snprintf(diff, cap, "%s was %s and is now %s", key, was, is);
            same = 0;
        }
    }
    nfi_json_free(old);
    nfi_json_free(now);
    return same;
}

static int read_strings(const nfi_json_value *root, const char *key,
                        char ***out, size_t *n, nfi_error *err)
{
    const nfi_json_value *v = nfi_json_member(root, key, err);
    if (v == NULL)
        return -1;
    if (nfi_json_type_of(v) != NFI_JSON_ARRAY)
        return nfi_error_set(err, "sweep.json: %s is not an array", key);
    *n = nfi_json_length(v);
    *out = calloc(*n > 0 ? *n : 1, sizeof **out);
    if (*out == NULL)
        abort();
    for (size_t i = 0; i < *n; i++) {
        const char *s;
        if (nfi_json_as_string(nfi_json_at(v, i), &s, NULL, err) != 0)
            return -1;
        (*out)[i] = dup_text(s);
    }
    return 0;
}

int sweep_json_read(const char *path, sweep_args *a, nfi_error *err)
{
    memset(a, 0, sizeof *a);
    nfi_json_value *root = nfi_json_parse_file(path, err);
    if (root == NULL)
        return -1;
    int rc = -1;
    const nfi_json_value *v;
    const char *s;
    if (read_strings(root, "train_options", &a->train, &a->n_train,
                     err) != 0 ||
        read_strings(root, "formats", &a->formats, &a->n_formats, err) != 0)
        goto done;
    v = nfi_json_get(root, "mantissa");
    if (v != NULL && nfi_json_type_of(v) == NFI_JSON_STRING) {
        nfi_json_as_string(v, &s, NULL, NULL);
        const nfi_json_value *r = nfi_json_get(root, "exponent_range");
        const char *rs = NULL;
        if (sscanf(s, "%ld:%ld:%ld", &a->p_lo, &a->p_hi, &a->p_step) != 3 ||
            r == NULL || nfi_json_as_string(r, &rs, NULL, NULL) != 0 ||
            sscanf(rs, "emin=%ld,emax=%ld", &a->emin, &a->emax) != 2 ||
            a->p_step < 1 || a->p_lo > a->p_hi) {
            nfi_error_set(err, "%s: a damaged mantissa or exponent_range",
                          path);
            goto done;
        }
        a->mantissa = true;
    }
    v = nfi_json_member(root, "vary", err);
    if (v == NULL || nfi_json_type_of(v) != NFI_JSON_ARRAY) {
        nfi_error_set(err, "%s: vary is not an array", path);
        goto done;
    }
    a->n_vary = nfi_json_length(v);
    a->vary = calloc(a->n_vary > 0 ? a->n_vary : 1, sizeof *a->vary);
    if (a->vary == NULL)
        abort();
    for (size_t i = 0; i < a->n_vary; i++) {
        const nfi_json_value *o = nfi_json_at(v, i);
        const nfi_json_value *name = nfi_json_get(o, "option");
        if (name == NULL || nfi_json_as_string(name, &s, NULL, err) != 0 ||
            read_strings(o, "values", &a->vary[i].values, &a->vary[i].n,
                         err) != 0) {
            nfi_error_set(err, "%s: a damaged vary entry", path);
            goto done;
        }
        a->vary[i].name = dup_text(s);
    }
    v = nfi_json_get(root, "records");
    a->keep_records = v != NULL &&
                      nfi_json_as_string(v, &s, NULL, NULL) == 0 &&
                      strcmp(s, "full") == 0;
    v = nfi_json_get(root, "find_threshold");
    if (v != NULL)
        nfi_json_as_bool(v, &a->find_threshold, NULL);
    a->shard_n = 1;
    v = nfi_json_get(root, "shard");
    if (v == NULL || nfi_json_as_string(v, &s, NULL, NULL) != 0 ||
        sscanf(s, "%ld/%ld", &a->shard_i, &a->shard_n) != 2 ||
        a->shard_n < 1 || a->shard_i < 0 || a->shard_i >= a->shard_n) {
        nfi_error_set(err, "%s: a damaged shard", path);
        goto done;
    }
    rc = 0;
done:
    nfi_json_free(root);
    return rc;
}
