/* CSV metrics tables (sim/trace/csv.h): random doubles of every exponent
 * read back bit for bit by an independent strtod and by nfi_csv_read;
 * the exact text of special values; names that would need quotes
 * refused; rows with the wrong number of cells refused; resuming a run
 * keeps the rows up to its checkpoint step, drops a row cut by a crash,
 * replaces the file atomically only when something is dropped, and
 * refuses a different header or a corrupt row without touching the file;
 * a row that does not fit under a file-size limit is cut off again.
 *
 * Why: metrics.csv is where the verifier and the user's plots find the
 * exact zero-sum residual and the norms; a value that does not come back
 * exactly, or a resumed run that duplicates steps, falsifies them. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "harness.h"
#include "trace/csv.h"
#include "trace_util.h"

static char *dir;

static const char *const names[] = {"step", "loss", "residual", "norm"};

static bool contains(const char *message, const char *needle)
{
    return strstr(message, needle) != NULL;
}

/* Writes rows for steps [first, last] with values made from the step. */
static void write_steps(nfi_csv_writer *w, int64_t first, int64_t last)
{
    for (int64_t s = first; s <= last; s++) {
        nfi_csv_add_int(w, s);
        nfi_csv_add_double(w, 1.0 / (double)(s + 1));
        nfi_csv_add_double(w, ldexp(1, -(int)s));
        nfi_csv_add_double(w, (double)s * 0.1);
        nfi_csv_end_row(w, NULL);
    }
}

/* The steps of the table at path, in order; -1 on a read error. */
static long read_steps(const char *path, int64_t *steps, size_t cap)
{
    nfi_csv_table t;
    nfi_error err = {""};
    if (nfi_csv_read(path, &t, &err) != 0) {
        check_true(false, "read %s: %s", path, err.message);
        return -1;
    }
    long n = (long)t.nrows;
    for (size_t i = 0; i < t.nrows && i < cap; i++)
        steps[i] = (int64_t)t.values[i * t.ncols];
    nfi_csv_table_free(&t);
    return n;
}

static bool consecutive(const int64_t *steps, long n, int64_t first)
{
    for (long i = 0; i < n; i++) {
        if (steps[i] != first + i)
            return false;
    }
    return true;
}

static void check_round_trip(void)
{
    const char *path = path_in(dir, "random.csv");
    static const char *const cols[] = {"step", "a", "b", "c"};
    nfi_error err = {""};
    nfi_csv_writer *w = nfi_csv_create(path, 4, cols, &err);
    if (!check_true(w != NULL, "create: %s", err.message))
        return;
    enum { ROWS = 5000 };
    static double values[ROWS][3];
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    for (int r = 0; r < ROWS; r++) {
        nfi_csv_add_int(w, r);
        for (int c = 0; c < 3; c++) {
            uint64_t bits = rng_next(&rng);
            double x;
            memcpy(&x, &bits, sizeof x);
            if (c == 1)
                x = ldexp(rng_unit(&rng), (int)rng_range(&rng, -1080, 1030));
            values[r][c] = x;
            nfi_csv_add_double(w, x);
        }
        nfi_csv_end_row(w, NULL);
    }
    check_true(nfi_csv_close(w, &err) == 0, "close: %s", err.message);

    /* Independently: split the lines, strtod each cell. */
    size_t len;
    char *text = file_read(path, &len);
    char *line = text, *save = NULL;
    line = strtok_r(text, "\n", &save);
    check_true(line != NULL && strcmp(line, "step,a,b,c") == 0, "header "
               "line \"%s\"", line != NULL ? line : "");
    size_t wrong = 0, rows = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *cell_save = NULL;
        char *cell = strtok_r(line, ",", &cell_save);
        long r = strtol(cell, NULL, 10);
        for (int c = 0; c < 3 && r >= 0 && r < ROWS; c++) {
            cell = strtok_r(NULL, ",", &cell_save);
            char *end;
            double x = cell != NULL ? strtod(cell, &end) : 0;
            if (cell == NULL || *end != '\0' || !same_double(x,
                                                            values[r][c])) {
                if (wrong++ < 5)
                    check_true(false, "row %ld column %d: \"%s\" is not "
                               "%a", r, c, cell != NULL ? cell : "",
                               values[r][c]);
            }
        }
        rows++;
    }
    check_true(rows == ROWS && wrong == 0, "%zu rows read back by strtod, "
               "%zu cells wrong", rows, wrong);
    free(text);

    nfi_csv_table t;
    if (check_true(nfi_csv_read(path, &t, &err) == 0, "nfi_csv_read: %s",
                   err.message)) {
        size_t differ = 0;
        for (size_t r = 0; r < t.nrows && r < ROWS; r++) {
            differ += t.values[r * 4] != (double)r;
            for (int c = 0; c < 3; c++)
                differ += !same_double(t.values[r * 4 + 1 + (size_t)c],
                                       values[r][c]);
        }
        check_true(t.ncols == 4 && t.nrows == ROWS && differ == 0 &&
                   strcmp(t.names[3], "c") == 0, "nfi_csv_read: %zu rows, "
                   "%zu cells differ", t.nrows, differ);
        nfi_csv_table_free(&t);
    }
}

static void check_text(void)
{
    const char *path = path_in(dir, "text.csv");
    static const char *const cols[] = {"step", "x"};
    static const struct {
        double x;
        const char *text;
    } cells[] = {
        {0.1, "0.10000000000000001"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {NAN, "nan"},
        {-NAN, "nan"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
        {0x1p-1074, "4.9406564584124654e-324"},
        {1e300, "1.0000000000000001e+300"},
    };
    nfi_error err = {""};
    nfi_csv_writer *w = nfi_csv_create(path, 2, cols, &err);
    char expected[1000] = "step,x\n";
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        nfi_csv_add_int(w, INT64_MIN + (int64_t)i);
        nfi_csv_add_double(w, cells[i].x);
        nfi_csv_end_row(w, &err);
        snprintf(expected + strlen(expected), sizeof expected -
                 strlen(expected), "%" PRId64 ",%s\n", INT64_MIN +
                 (int64_t)i, cells[i].text);
    }
    nfi_csv_close(w, &err);
    size_t len;
    char *text = file_read(path, &len);
    check_true(text != NULL && strcmp(text, expected) == 0, "cell text:\n%s"
               "expected:\n%s", text != NULL ? text : "", expected);
    free(text);
}

static void check_refusals(void)
{
    nfi_error err = {""};
    const char *path = path_in(dir, "names.csv");
    static const char *const bad[][2] = {
        {"step", "a,b"}, {"step", ""}, {"step", "say \"x\""},
        {"step", "two\nlines"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_true(nfi_csv_create(path, 2, bad[i], &err) == NULL &&
                   contains(err.message, "column 2") &&
                   contains(err.message, path), "bad name #%zu: \"%s\"", i,
                   err.message);
    }
    check_true(nfi_csv_create(path, 0, names, &err) == NULL &&
               contains(err.message, "at least one column"), "no column: "
               "\"%s\"", err.message);
    check_true(!path_exists(path), "refused tables create no file");
    const char *missing = path_in(dir, "no/such.csv");
    check_true(nfi_csv_create(missing, 4, names, &err) == NULL &&
               contains(err.message, missing), "missing directory: \"%s\"",
               err.message);

    /* A row with the wrong count is dropped; the writer goes on. */
    nfi_csv_writer *w = nfi_csv_create(path, 4, names, &err);
    nfi_csv_add_int(w, 0);
    nfi_csv_add_double(w, 1);
    check_true(nfi_csv_end_row(w, &err) == -1 &&
               contains(err.message, "2 cells") &&
               contains(err.message, "4 names"), "short row: \"%s\"",
               err.message);
    write_steps(w, 0, 1);
    for (int i = 0; i < 5; i++)
        nfi_csv_add_int(w, i);
    check_true(nfi_csv_end_row(w, &err) == -1, "long row refused");
    check_true(nfi_csv_close(w, &err) == 0, "close after refused rows: %s",
               err.message);
    int64_t steps[4];
    check_true(read_steps(path, steps, 4) == 2 && consecutive(steps, 2, 0),
               "only the good rows were written");
    check_true(nfi_csv_close(NULL, &err) == 0, "close(NULL)");
}

static void check_resume(void)
{
    const char *path = path_in(dir, "metrics.csv");
    nfi_error err = {""};
    nfi_csv_writer *w = nfi_csv_create(path, 4, names, &err);
    write_steps(w, 0, 9);
    nfi_csv_close(w, &err);
    struct stat before, after;
    stat(path, &before);

    /* Resuming after the last step drops nothing and keeps the file. */
    size_t kept = 0;
    w = nfi_csv_resume(path, 4, names, 9, &kept, &err);
    check_true(w != NULL && kept == 10, "resume at the last step: %zu rows "
               "kept (%s)", kept, err.message);
    stat(path, &after);
    check_true(after.st_ino == before.st_ino, "nothing dropped: the file is "
               "appended to, not replaced");
    write_steps(w, 10, 14);
    nfi_csv_close(w, &err);

    /* A checkpoint at step 6: 7..14 go, then the run goes on from 7. */
    w = nfi_csv_resume(path, 4, names, 6, &kept, &err);
    check_true(w != NULL && kept == 7, "resume at step 6: %zu rows kept "
               "(%s)", kept, err.message);
    stat(path, &after);
    check_true(after.st_ino != before.st_ino, "rows dropped: the file was "
               "replaced atomically");
    write_steps(w, 7, 20);
    check_true(nfi_csv_sync(w, &err) == 0, "sync: %s", err.message);
    nfi_csv_close(w, &err);
    int64_t steps[64];
    long n = read_steps(path, steps, 64);
    check_true(n == 21 && consecutive(steps, n, 0), "steps 0..20 once each "
               "after the resume (%ld rows)", n);

    /* A crash cut the last row: it goes, the complete ones stay. */
    size_t len;
    char *text = file_read(path, &len);
    char *cut = malloc(len + 20);
    memcpy(cut, text, len);
    memcpy(cut + len, "21,0.5,1e-", 10);
    file_write(path, cut, len + 10);
    w = nfi_csv_resume(path, 4, names, INT64_MAX, &kept, &err);
    check_true(w != NULL && kept == 21, "a cut last row: %zu kept (%s)",
               kept, err.message);
    nfi_csv_close(w, &err);
    check_true(file_equals(path, text, len), "the cut row is gone and the "
               "rest is as it was");

    /* Before the first step: only the header stays. */
    w = nfi_csv_resume(path, 4, names, -1, &kept, &err);
    static const char header[] = "step,loss,residual,norm\n";
    check_true(w != NULL && kept == 0 &&
               file_equals(path, header, sizeof header - 1), "resume "
               "before step 0 (%s)", err.message);
    write_steps(w, 0, 2);
    nfi_csv_close(w, &err);
    n = read_steps(path, steps, 64);
    check_true(n == 3 && consecutive(steps, n, 0), "rows after a resume at "
               "-1");

    /* Refusals leave the file as it was. */
    free(text);
    text = file_read(path, &len);
    static const char *const other[] = {"step", "loss", "residual", "nrm"};
    check_true(nfi_csv_resume(path, 4, other, 5, NULL, &err) == NULL &&
               contains(err.message, "\"step,loss,residual,norm\"") &&
               contains(err.message, "\"step,loss,residual,nrm\"") &&
               contains(err.message, path), "another header: \"%s\"",
               err.message);
    check_true(nfi_csv_resume(path, 3, names, 5, NULL, &err) == NULL &&
               contains(err.message, "header"), "fewer columns: \"%s\"",
               err.message);
    check_true(file_equals(path, text, len), "a refused resume changes "
               "nothing");

    memcpy(cut, text, len);
    char *second_row = strchr(strchr(cut, '\n') + 1, '\n') + 1;
    memcpy(second_row, "1,0.5,", 6);
    second_row[6] = ',';
    file_write(path, cut, len);
    check_true(nfi_csv_resume(path, 4, names, 5, NULL, &err) == NULL &&
               contains(err.message, "line 3") && contains(err.message,
                                                           path),
               "a corrupt row: \"%s\"", err.message);
    check_true(file_equals(path, cut, len), "a corrupt table is left as it "
               "was");

    file_write(path, "step,loss,residual,norm\n1.5,1,2,3\n", 34);
    check_true(nfi_csv_resume(path, 4, names, 5, NULL, &err) == NULL &&
               contains(err.message, "not an integer step"), "a fractional "
               "step: \"%s\"", err.message);
    const char *missing = path_in(dir, "none.csv");
    check_true(nfi_csv_resume(missing, 4, names, 5, NULL, &err) == NULL &&
               contains(err.message, missing) &&
               contains(err.message, strerror(ENOENT)), "a missing table: "
               "\"%s\"", err.message);
    free(text);
    free(cut);
}

/* A row that does not fit under the file-size limit is removed again,
 * and the writer reports the first failure from then on. */
static void check_failed_row(void)
{
    const char *path = path_in(dir, "limited.csv");
    nfi_error err = {""};
    nfi_csv_writer *w = nfi_csv_create(path, 4, names, &err);
    write_steps(w, 0, 3);
    struct stat st;
    stat(path, &st);

    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
    sigaction(SIGXFSZ, &ignore, &previous);
    struct rlimit small = {(rlim_t)st.st_size + 20, old.rlim_max};
    setrlimit(RLIMIT_FSIZE, &small);
    nfi_csv_add_int(w, 4);
    nfi_csv_add_double(w, 0.1);
    nfi_csv_add_double(w, 0.2);
    nfi_csv_add_double(w, 0.3);
    int status = nfi_csv_end_row(w, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &previous, NULL);

    check_true(status == -1 && contains(err.message, path) &&
               contains(err.message, strerror(EFBIG)), "a row beyond the "
               "limit: status %d \"%s\"", status, err.message);
    struct stat now;
    stat(path, &now);
    check_true(now.st_size == st.st_size, "the partial row was cut off "
               "(%lld bytes, %lld before)", (long long)now.st_size,
               (long long)st.st_size);
    nfi_error later = {""};
    nfi_csv_add_int(w, 5);
    check_true(nfi_csv_end_row(w, &later) == -1 &&
               strcmp(later.message, err.message) == 0, "later rows repeat "
               "the failure: \"%s\"", later.message);
    check_true(nfi_csv_close(w, &later) == -1 &&
               strcmp(later.message, err.message) == 0, "close repeats it");
    int64_t steps[8];
    check_true(read_steps(path, steps, 8) == 4 && consecutive(steps, 4, 0),
               "the table holds its complete rows");
}

static void check_reader(void)
{
    const char *path = path_in(dir, "crlf.csv");
    static const char crlf[] = "step,x\r\n1,0.5\r\n2,nan\r\n3,-inf\r\n4,0.2";
    file_write(path, crlf, sizeof crlf - 1);
    nfi_csv_table t;
    nfi_error err = {""};
    check_true(nfi_csv_read(path, &t, &err) == 0 && t.nrows == 3 &&
               t.ncols == 2 && strcmp(t.names[1], "x") == 0 &&
               t.values[1] == 0.5 && isnan(t.values[3]) &&
               t.values[5] == -INFINITY, "CRLF, a cut last row left out: %s",
               err.message);
    nfi_csv_table_free(&t);

    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"step,x\n1,0.5\n2,abc\n", "line 3 column 2 holds \"abc\""},
        {"step,x\n1,0.5,7\n", "line 2 has 3 cells"},
        {"step,x\n1,\n", "line 2 column 2"},
        {"step,x\n1, 0.5\n", "line 2 column 2"},
        {"step,x", "no complete header"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        file_write(path, bad[i].text, strlen(bad[i].text));
        t.nrows = 99;
        check_true(nfi_csv_read(path, &t, &err) == -1 &&
                   contains(err.message, bad[i].needle) &&
                   contains(err.message, path) && t.nrows == 0 &&
                   t.values == NULL, "bad table #%zu: \"%s\"", i,
                   err.message);
    }
    nfi_csv_table_free(NULL);
}

int main(void)
{
    harness_init("test_csv", 1);
    dir = temp_dir_make("csv");
    check_round_trip();
    check_text();
    check_refusals();
    check_resume();
    check_failed_row();
    check_reader();
    temp_dir_remove(dir);
    return harness_finish();
}
