#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "numtext.h"

struct nfi_csv_writer {
    int fd;
    char *path;
    size_t ncols;
    size_t cells;       /* cells in the row being built */
    char *row;          /* its text */
    size_t len, cap;
    off_t size;         /* bytes in the file: where the next row starts */
    bool failed;
    nfi_error first;
};

/* The header line, with its '\n', malloc'ed; NULL with err on a bad
 * name. */
static char *header_line(const char *path, size_t ncols,
                         const char *const *names, nfi_error *err)
{
    if (ncols == 0) {
        nfi_error_set(err, "cannot write '%s': a table needs at least one "
                      "column", path);
        return NULL;
    }
    size_t len = 0;
    for (size_t i = 0; i < ncols; i++) {
        if (names[i] == NULL || names[i][0] == '\0' ||
            strpbrk(names[i], ",\"\r\n") != NULL) {
            nfi_error_set(err, "cannot write '%s': column %zu has the name "
                          "\"%s\"; a name must be non-empty and hold no "
                          "',', '\"', CR or LF", path, i + 1,
                          names[i] != NULL ? names[i] : "(null)");
            return NULL;
        }
        len += strlen(names[i]) + 1;
    }
    char *line = malloc(len + 1);
    if (line == NULL) {
        nfi_error_set(err, "cannot write '%s': out of memory", path);
        return NULL;
    }
    size_t at = 0;
    for (size_t i = 0; i < ncols; i++) {
        size_t n = strlen(names[i]);
        memcpy(line + at, names[i], n);
        at += n;
        line[at++] = i + 1 < ncols ? ',' : '\n';
    }
    line[at] = '\0';
    return line;
}

static nfi_csv_writer *open_append(const char *path, size_t ncols,
                                   nfi_error *err)
{
    nfi_csv_writer *w = calloc(1, sizeof *w);
    if (w == NULL || (w->path = strdup(path)) == NULL) {
        free(w);
        nfi_error_set(err, "cannot open '%s': out of memory", path);
        return NULL;
    }
    w->ncols = ncols;
    w->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    struct stat st;
    if (w->fd < 0 || fstat(w->fd, &st) != 0) {
        nfi_error_set(err, "cannot open '%s' for appending: %s", path,
                      strerror(errno));
        if (w->fd >= 0)
            close(w->fd);
        free(w->path);
        free(w);
        return NULL;
    }
    w->size = st.st_size;
    return w;
}

nfi_csv_writer *nfi_csv_create(const char *path, size_t ncols,
                               const char *const *names, nfi_error *err)
{
    char *header = header_line(path, ncols, names, err);
    if (header == NULL)
        return NULL;
    int status = nfi_atomic_write_file(path, header, strlen(header), err);
    free(header);
    return status == 0 ? open_append(path, ncols, err) : NULL;
}

/* A line of the table: [start, end) without its line end. */
typedef struct line_span {
    const char *start, *end;
    size_t number;      /* from 1 */
} line_span;

/* The next complete line after *at, or false at the end or before a
 * last line without '\n'. */
static bool next_line(const char *text, size_t len, size_t *at,
                      line_span *line)
{
    const char *nl = *at < len ? memchr(text + *at, '\n', len - *at) : NULL;
    if (nl == NULL)
        return false;
    line->start = text + *at;
    line->end = nl;
    line->number++;
    *at = (size_t)(nl - text) + 1;
    return true;
}

/* Checks a row's cells and stores them in values (may be NULL); the
 * first cell's integer value goes to *step (may be NULL). */
static int parse_row(const char *path, const line_span *line, size_t ncols,
                     double *values, int64_t *step, nfi_error *err)
{
    const char *cell = line->start, *end = line->end;
    if (end > cell && end[-1] == '\r')
        end--;
    size_t count = 1;
    for (const char *c = cell; c < end; c++)
        count += *c == ',';
    if (count != ncols)
        return nfi_error_set(err, "'%s' line %zu has %zu cells, the header "
                             "has %zu names", path, line->number, count,
                             ncols);
    for (size_t i = 0; i < ncols; i++) {
        const char *stop = memchr(cell, ',', (size_t)(end - cell));
        if (stop == NULL)
            stop = end;
        size_t n = (size_t)(stop - cell);
        double x;
        if (!nfi_text_double(cell, n, &x))
            return nfi_error_set(err, "'%s' line %zu column %zu holds "
                                 "\"%.*s\", not a number", path,
                                 line->number, i + 1, (int)(n < 40 ? n : 40),
                                 cell);
        if (values != NULL)
            values[i] = x;
        if (i == 0 && step != NULL) {
            char digits[32];
            char *after;
            bool ok = n > 0 && n < sizeof digits &&
                      strspn(cell + (*cell == '-'), "0123456789") ==
                      n - (*cell == '-');
            if (ok) {
                memcpy(digits, cell, n);
                digits[n] = '\0';
                errno = 0;
                *step = strtoll(digits, &after, 10);
                ok = errno == 0 && *after == '\0';
            }
            if (!ok)
                return nfi_error_set(err, "'%s' line %zu starts with \"%.*s\","
                                     " not an integer step", path,
                                     line->number, (int)(n < 40 ? n : 40),
                                     cell);
        }
        cell = stop + 1;
    }
    return 0;
}

nfi_csv_writer *nfi_csv_resume(const char *path, size_t ncols,
                               const char *const *names, int64_t last_step,
                               size_t *kept, nfi_error *err)
{
    char *header = header_line(path, ncols, names, err);
    if (header == NULL)
        return NULL;
    size_t len;
    char *text = nfi_read_file(path, &len, err);
    if (text == NULL) {
        free(header);
        return NULL;
    }

    size_t header_len = strlen(header);
    if (len < header_len || memcmp(text, header, header_len) != 0) {
        const char *nl = memchr(text, '\n', len);
        int found = (int)(nl != NULL ? nl - text : (long)len);
        nfi_error_set(err, "cannot resume '%s': its header is \"%.*s\", "
                      "this run writes \"%.*s\"", path,
                      found < 150 ? found : 150, text,
                      (int)(header_len - 1 < 150 ? header_len - 1 : 150),
                      header);
        free(header);
        free(text);
        return NULL;
    }
    free(header);

    size_t at = header_len, keep = header_len, rows = 0;
    line_span line = {NULL, NULL, 1};
    while (next_line(text, len, &at, &line)) {
        int64_t step = 0;
        if (parse_row(path, &line, ncols, NULL, &step, err) != 0) {
            char why[NFI_ERROR_MAX];
            snprintf(why, sizeof why, "%s", err != NULL ? err->message : "");
            nfi_error_set(err, "cannot resume: %s", why);
            free(text);
            return NULL;
        }
        if (step > last_step)
            break;
        keep = at;
        rows++;
    }

    int status = 0;
    if (keep < len)
        status = nfi_atomic_write_file(path, text, keep, err);
    free(text);
    if (status != 0)
        return NULL;
    if (kept != NULL)
        *kept = rows;
    return open_append(path, ncols, err);
}

static int fail(nfi_csv_writer *w, const nfi_error *why, nfi_error *err)
{
    if (!w->failed) {
        w->failed = true;
        w->first = *why;
    }
    if (err != NULL)
        *err = w->first;
    return -1;
}

static int add_cell(nfi_csv_writer *w, const char *text)
{
    if (w->failed)
        return -1;
    size_t n = strlen(text);
    if (w->cap - w->len < n + 2) {
        size_t cap = w->cap > 0 ? 2 * w->cap + n : 256 + n;
        char *row = realloc(w->row, cap);
        if (row == NULL) {
            nfi_error why;
            nfi_error_set(&why, "cannot write '%s': out of memory",
                          w->path);
            return fail(w, &why, NULL);
        }
        w->row = row;
        w->cap = cap;
    }
    if (w->cells > 0)
        w->row[w->len++] = ',';
    memcpy(w->row + w->len, text, n);
    w->len += n;
    w->cells++;
    return 0;
}

int nfi_csv_add_double(nfi_csv_writer *w, double x)
{
    char text[NFI_DOUBLE_TEXT_MAX];
    nfi_double_text(x, text);
    return add_cell(w, text);
}

int nfi_csv_add_int(nfi_csv_writer *w, int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    return add_cell(w, text);
}

int nfi_csv_end_row(nfi_csv_writer *w, nfi_error *err)
{
    if (w->failed)
        return fail(w, &w->first, err);
    size_t cells = w->cells;
    w->cells = 0;
    if (cells != w->ncols) {
        w->len = 0;
        return nfi_error_set(err, "a row of '%s' has %zu cells, the header "
                             "has %zu names; the row was not written",
                             w->path, cells, w->ncols);
    }
    /* add_cell keeps room for this line end. */
    w->row[w->len++] = '\n';

    nfi_error why;
    int status = nfi_write_all(w->fd, w->row, w->len, w->path, &why);
    if (status != 0) {
        /* Cut a partly written row off, so that the file holds complete
         * rows only; if that fails too, a resume drops the cut row. */
        if (ftruncate(w->fd, w->size) != 0) {
            char first[NFI_ERROR_MAX];
            snprintf(first, sizeof first, "%s", why.message);
            nfi_error_set(&why, "%s (and the partial row could not be "
                          "removed: %s)", first, strerror(errno));
        }
    } else {
        w->size += (off_t)w->len;
    }
    w->len = 0;
    return status == 0 ? 0 : fail(w, &why, err);
}

int nfi_csv_sync(nfi_csv_writer *w, nfi_error *err)
{
    if (w->failed)
        return fail(w, &w->first, err);
    while (fsync(w->fd) != 0) {
        if (errno == EINTR)
            continue;
        nfi_error why;
        nfi_error_set(&why, "cannot sync '%s': %s", w->path,
                      strerror(errno));
        return fail(w, &why, err);
    }
    return 0;
}

int nfi_csv_close(nfi_csv_writer *w, nfi_error *err)
{
    if (w == NULL)
        return 0;
    int status = nfi_csv_sync(w, err);
    if (close(w->fd) != 0 && status == 0) {
        nfi_error why;
        nfi_error_set(&why, "cannot close '%s': %s", w->path,
                      strerror(errno));
        status = fail(w, &why, err);
    }
    free(w->row);
    free(w->path);
    free(w);
    return status;
}

int nfi_csv_read(const char *path, nfi_csv_table *t, nfi_error *err)
{
    memset(t, 0, sizeof *t);
    size_t len;
    char *text = nfi_read_file(path, &len, err);
    if (text == NULL)
        return -1;

    nfi_csv_table table = {0, 0, NULL, NULL};
    size_t at = 0, cap = 0;
    line_span line = {NULL, NULL, 0};
    if (!next_line(text, len, &at, &line)) {
        free(text);
        return nfi_error_set(err, "'%s' has no complete header line",
                             path);
    }
    const char *end = line.end;
    if (end > line.start && end[-1] == '\r')
        end--;
    table.ncols = 1;
    for (const char *c = line.start; c < end; c++)
        table.ncols += *c == ',';
    table.names = calloc(table.ncols, sizeof *table.names);
    const char *name = line.start;
    for (size_t i = 0; table.names != NULL && i < table.ncols; i++) {
        const char *stop = memchr(name, ',', (size_t)(end - name));
        if (stop == NULL)
            stop = end;
        table.names[i] = strndup(name, (size_t)(stop - name));
        if (table.names[i] == NULL)
            goto out_of_memory;
        name = stop + 1;
    }
    if (table.names == NULL)
        goto out_of_memory;

    while (next_line(text, len, &at, &line)) {
        if (table.nrows == cap) {
            cap = cap > 0 ? 2 * cap : 64;
            double *values = cap < SIZE_MAX / sizeof(double) / table.ncols
                ? realloc(table.values, cap * table.ncols * sizeof *values)
                : NULL;
            if (values == NULL)
                goto out_of_memory;
            table.values = values;
        }
        if (parse_row(path, &line, table.ncols,
                      table.values + table.nrows * table.ncols, NULL,
                      err) != 0) {
            nfi_csv_table_free(&table);
            free(text);
            return -1;
        }
        table.nrows++;
    }
    free(text);
    *t = table;
    return 0;

out_of_memory:
    nfi_csv_table_free(&table);
    free(text);
    return nfi_error_set(err, "cannot read '%s': out of memory", path);
}

void nfi_csv_table_free(nfi_csv_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; t->names != NULL && i < t->ncols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->values);
    memset(t, 0, sizeof *t);
}
