/* nfi diff: compares two traces (nfi run directories, or traces written
 * by another program in the format of docs/traces.md) step by step, in
 * ulps of the coarser format of each quantity. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "policy.h"
#include "trace/atomic.h"
#include "trace/csv.h"
#include "trace/json.h"
#include "trace/npy.h"
#include "trace/rundir.h"
#include "trace/ulps.h"

extern char **environ;

static const char diff_usage[] =
"Usage: nfi diff A B [--tolerance ULPS] [--plot FILE] [--json]\n"
"\n"
"Compares two traces step by step: nfi run directories, or traces that\n"
"another program wrote in the documented format (docs/traces.md: a\n"
"directory with metrics.csv and trace.json, optionally snapshots/).  For\n"
"every step both metrics.csv have and every column both have, the\n"
"distance |a - b| in ulps of the coarser of the two formats that hold\n"
"the quantity (loss, margins, logit mean: the logits format; the norms\n"
"of parameters and updates: params; feat_mean_norm: activations; the\n"
"fractions, accuracies and residuals: binary64) and the relative error\n"
"|a - b| / max(|a|, |b|).  Snapshot tensors (snapshots/step_N/NAME.npy)\n"
"present in both at a common step are compared element by element (the\n"
"format from NAME.json when there is one, else by name: parameters and\n"
"classifier params, logits and logit_grads logits, features activations,\n"
"optim_m and optim_v optim).  NaN equals NaN; a NaN or an infinity\n"
"against anything else is an infinite distance.\n"
"\n"
"Options:\n"
"  --tolerance ULPS     the largest distance still counted as agreement\n"
"                       (a number >= 0) [0: bit for bit]\n"
"  --plot FILE          draw the distance in ulps of each column against\n"
"                       the step into FILE (.png or .svg, gnuplot)\n"
"  --json               print the comparison as JSON on standard output\n"
"  -h, --help           this text\n"
"\n"
"The verdict is identical (every value equal), within tolerance, or\n"
"diverged at step S in the quantity that first exceeds the tolerance.\n"
"Exit status: 0 identical or within tolerance, 1 diverged, 2 bad input\n"
"(not a trace, no common step, bad option).\n";

/* Prints "nfi diff: MESSAGE"; returns 2, a usage error. */
#define usage_error(...) nfi_cli_fail("diff", 2, __VA_ARGS__)

/* ---- Reading a trace ---- */

#define ROLE_BINARY64 NFI_ROLE_COUNT /* a pseudo-role: binary64 itself */

typedef struct trace {
    const char *dir;
    bool nfi_run;
    char producer[128];
    nfi_format fmt[NFI_ROLE_COUNT + 1];
    nfi_csv_table tab;
    size_t step_col;
} trace;

static int parse_fmt(const char *spec, nfi_format *f, const char *where)
{
    nfi_error err;
    if (nfi_format_parse(spec, f, &err) != 0)
        return usage_error("%s: %s", where, err.message);
    return 0;
}

/* The formats of the roles from an object {role: spec}. */
static int read_formats(const nfi_json_value *obj, trace *t,
                        const char *where)
{
    for (size_t i = 0; i < nfi_json_length(obj); i++) {
        const char *key = nfi_json_key_at(obj, i), *spec;
        int r = 0;
        while (r < NFI_ROLE_COUNT && strcmp(nfi_role_name((nfi_role)r),
                                            key) != 0)
            r++;
        if (r == NFI_ROLE_COUNT)
            return usage_error("%s: unknown role '%s' in formats; the "
                               "roles are params activations logits "
                               "grads accum optim", where, key);
        if (nfi_json_as_string(nfi_json_at(obj, i), &spec, NULL,
                               NULL) != 0)
            return usage_error("%s: formats.%s is not a string", where,
                               key);
        if (parse_fmt(spec, &t->fmt[r], where) != 0)
            return 2;
    }
    return 0;
}

static int trace_open(trace *t, const char *dir)
{
    memset(t, 0, sizeof *t);
    t->dir = dir;
    char path[PATH_MAX + 64];
    nfi_error err;
    if (parse_fmt("binary64", &t->fmt[ROLE_BINARY64], "binary64") != 0)
        return 2;
    snprintf(path, sizeof path, "%s/" NFI_RUNDIR_CONFIG, dir);
    bool run = access(path, F_OK) == 0;
    if (!run)
        snprintf(path, sizeof path, "%s/trace.json", dir);
    nfi_json_value *root = nfi_json_parse_file(path, &err);
    if (root == NULL)
        return usage_error("'%s' is not a trace: it needs config.json (an "
                           "nfi run) or trace.json (docs/traces.md): %s",
                           dir, err.message);
    int rc = 0;
    const nfi_json_value *f;
    if (run) {
        t->nfi_run = true;
        snprintf(t->producer, sizeof t->producer, "nfi train");
        const nfi_json_value *res = nfi_json_get(root, "resolved");
        f = res == NULL ? NULL : nfi_json_get(res, "formats");
        if (f == NULL || nfi_json_type_of(f) != NFI_JSON_OBJECT ||
            nfi_json_length(f) != NFI_ROLE_COUNT)
            rc = usage_error("'%s' lacks $.resolved.formats with the "
                             "format of each role", path);
        else
            rc = read_formats(f, t, path);
    } else {
        const nfi_json_value *v = nfi_json_get(root, "nfi_trace");
        int64_t version;
        const char *spec = NULL, *producer = NULL;
        if (v == NULL || nfi_json_as_int64(v, &version, NULL) != 0 ||
            version != 1) {
            rc = usage_error("'%s' lacks \"nfi_trace\": 1 (the version of "
                             "the trace format)", path);
        } else if ((v = nfi_json_get(root, "format")) == NULL ||
                   nfi_json_as_string(v, &spec, NULL, NULL) != 0) {
            rc = usage_error("'%s' lacks \"format\", the format of the "
                             "trace's numbers (e.g. \"binary32\")", path);
        } else {
            for (int r = 0; r < NFI_ROLE_COUNT && rc == 0; r++)
                rc = parse_fmt(spec, &t->fmt[r], path);
            f = nfi_json_get(root, "formats");
            if (rc == 0 && f != NULL) {
                if (nfi_json_type_of(f) != NFI_JSON_OBJECT)
                    rc = usage_error("'%s': \"formats\" is not an object "
                                     "{role: format}", path);
                else
                    rc = read_formats(f, t, path);
            }
            v = nfi_json_get(root, "producer");
            if (v != NULL && nfi_json_as_string(v, &producer, NULL,
                                                NULL) == 0)
                snprintf(t->producer, sizeof t->producer, "%s", producer);
            else
                snprintf(t->producer, sizeof t->producer, "another program");
        }
    }
    nfi_json_free(root);
    if (rc != 0)
        return rc;
    snprintf(path, sizeof path, "%s/" NFI_RUNDIR_METRICS, dir);
    if (nfi_csv_read(path, &t->tab, &err) != 0)
        return usage_error("%s", err.message);
    size_t c = 0;
    while (c < t->tab.ncols && strcmp(t->tab.names[c], "step") != 0)
        c++;
    if (c == t->tab.ncols) {
        nfi_csv_table_free(&t->tab);
        return usage_error("'%s' has no column 'step'", path);
    }
    t->step_col = c;
    for (size_t r = 0; r < t->tab.nrows; r++) {
        double s = t->tab.values[r * t->tab.ncols + c];
        double prev = r ? t->tab.values[(r - 1) * t->tab.ncols + c] : -1;
        if (!(s >= 0 && s == floor(s) && s > prev)) {
            nfi_csv_table_free(&t->tab);
            return usage_error("'%s' row %zu: the steps must be whole "
                               "numbers >= 0 in increasing order", path,
                               r + 1);
        }
    }
    return 0;
}

/* The role that holds a metrics column (ROLE_BINARY64 for the
 * quantities nfi computes in binary64 or exactly). */
static int column_role(const char *name)
{
    static const struct {
        const char *name;
        int role;
    } table[] = {
        {"loss", NFI_ROLE_LOGITS}, {"margin_min", NFI_ROLE_LOGITS},
        {"margin_mean", NFI_ROLE_LOGITS}, {"margin_max", NFI_ROLE_LOGITS},
        {"logit_mean", NFI_ROLE_LOGITS},
        {"w_mean_norm", NFI_ROLE_PARAMS}, {"w_norm", NFI_ROLE_PARAMS},
        {"param_norm", NFI_ROLE_PARAMS}, {"update_norm", NFI_ROLE_PARAMS},
        {"feat_mean_norm", NFI_ROLE_ACTIVATIONS},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0)
            return table[i].role;
    return ROLE_BINARY64;
}

/* The role of a snapshot tensor, by its name. */
static int tensor_role(const char *name)
{
    if (strcmp(name, "logits") == 0 || strcmp(name, "logit_grads") == 0)
        return NFI_ROLE_LOGITS;
    if (strcmp(name, "features") == 0)
        return NFI_ROLE_ACTIVATIONS;
    if (strcmp(name, "optim_m") == 0 || strcmp(name, "optim_v") == 0)
        return NFI_ROLE_OPTIM;
    if (strcmp(name, "samples") == 0)
        return ROLE_BINARY64;
    return NFI_ROLE_PARAMS; /* W1 b1 ... H W b, params, classifier */
}

/* The format of tensor name at step folder dir of trace t: NAME.json's
 * "format" when there is one, else that of its role. */
static nfi_format tensor_format(const trace *t, const char *dir,
                                const char *name)
{
    char path[PATH_MAX + 800];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    nfi_format f = t->fmt[tensor_role(name)];
    nfi_json_value *root = nfi_json_parse_file(path, NULL);
    const char *spec;
    const nfi_json_value *v = root == NULL ? NULL
                                           : nfi_json_get(root, "format");
    if (v != NULL && nfi_json_as_string(v, &spec, NULL, NULL) == 0)
        nfi_format_parse(spec, &f, NULL);
    nfi_json_free(root);
    return f;
}

/* ---- Comparing ---- */

typedef struct quantity {
    char name[160];
    char format[64];
    double max_ulps, max_rel;
    long max_step;
    long first_step;        /* first step beyond the tolerance; -1 none */
    double first_ulps;
    size_t first_index;     /* tensors: the element there */
    long steps;             /* steps compared */
    double *series;         /* metrics columns: ulps at each common step */
    bool tensor;
    char note[128];         /* tensors: a shape mismatch */
} quantity;

static void note_value(quantity *q, long step, double ulps, double rel,
                       double tol, size_t index)
{
    if (ulps > q->max_ulps || (q->max_step < 0 && ulps >= q->max_ulps)) {
        q->max_ulps = ulps;
        q->max_step = step;
    }
    if (rel > q->max_rel)
        q->max_rel = rel;
    if (ulps > tol && q->first_step < 0) {
        q->first_step = step;
        q->first_ulps = ulps;
        q->first_index = index;
    }
}

static void spell(const nfi_format *f, char *buf, size_t cap)
{
    nfi_format_spell(f, buf, cap);
}

static double *as_doubles(const nfi_npy_array *a)
{
    double *v = malloc((a->count > 0 ? a->count : 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < a->count; i++) {
        switch (a->dtype) {
        case NFI_DTYPE_FLOAT64: v[i] = ((const double *)a->data)[i]; break;
        case NFI_DTYPE_FLOAT32: v[i] = ((const float *)a->data)[i]; break;
        case NFI_DTYPE_INT64:
            v[i] = (double)((const int64_t *)a->data)[i];
            break;
        case NFI_DTYPE_INT32: v[i] = ((const int32_t *)a->data)[i]; break;
        default: v[i] = ((const uint8_t *)a->data)[i]; break;
        }
    }
    return v;
}

/* The quantity named name in the list, added if new. */
static quantity *find_q(quantity **list, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i].name, name) == 0)
            return &(*list)[i];
    quantity *grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    *list = grown;
    quantity *q = &grown[(*n)++];
    memset(q, 0, sizeof *q);
    snprintf(q->name, sizeof q->name, "%s", name);
    q->max_step = -1;
    q->first_step = -1;
    q->tensor = true;
    return q;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The steps N with a folder snapshots/step_N in dir, sorted. */
static long *snapshot_steps(const char *dir, size_t *n)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/" NFI_RUNDIR_SNAPSHOTS, dir);
    *n = 0;
    DIR *d = opendir(path);
    if (d == NULL)
        return NULL;
    long *steps = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        if (strncmp(e->d_name, "step_", 5) != 0)
            continue;
        long s = strtol(e->d_name + 5, &end, 10);
        if (*end != '\0' || e->d_name[5] == '\0')
            continue;
        long *grown = realloc(steps, (*n + 1) * sizeof *grown);
        if (grown == NULL)
            break;
        steps = grown;
        steps[(*n)++] = s;
    }
    closedir(d);
    if (*n > 0)
        qsort(steps, *n, sizeof *steps, cmp_long);
    return steps;
}

/* The folder of step s in trace dir, as written (step_%08ld, or any
 * other zero padding another program chose). */
static bool step_folder(const char *dir, long s, char *buf, size_t cap)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%.*s/" NFI_RUNDIR_SNAPSHOTS,
             (int)(cap > 512 ? cap - 512 : 1), dir);
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d)) != NULL) {
        char *end;
        if (strncmp(e->d_name, "step_", 5) != 0 || e->d_name[5] == '\0')
            continue;
        if (strtol(e->d_name + 5, &end, 10) == s && *end == '\0') {
            snprintf(buf, cap, "%s/%.200s", path, e->d_name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

static int compare_tensors(const trace *a, const trace *b, double tol,
                           quantity **list, size_t *nq, long *nsteps)
{
    size_t na, nb;
    long *sa = snapshot_steps(a->dir, &na), *sb = snapshot_steps(b->dir,
                                                                  &nb);
    *nsteps = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        if (sa[i] < sb[j]) {
            i++;
            continue;
        }
        if (sa[i] > sb[j]) {
            j++;
            continue;
        }
        long step = sa[i];
        i++;
        j++;
        char da[PATH_MAX + 512], db[PATH_MAX + 512];
        if (!step_folder(a->dir, step, da, sizeof da) ||
            !step_folder(b->dir, step, db, sizeof db))
            continue;
        DIR *d = opendir(da);
        if (d == NULL)
            continue;
        bool any = false;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 4, ".npy") != 0 ||
                nfi_atomic_is_temporary(e->d_name) || len > 200)
                continue;
            char name[256], pa[PATH_MAX + 800], pb[PATH_MAX + 800];
            snprintf(name, sizeof name, "%.*s", (int)(len - 4), e->d_name);
            snprintf(pa, sizeof pa, "%s/%s", da, e->d_name);
            snprintf(pb, sizeof pb, "%s/%s", db, e->d_name);
            if (access(pb, F_OK) != 0)
                continue;
            nfi_npy_array x, y;
            nfi_error err;
            if (nfi_npy_read(pa, &x, &err) != 0) {
                closedir(d);
                free(sa);
                free(sb);
                return usage_error("%s", err.message);
            }
            if (nfi_npy_read(pb, &y, &err) != 0) {
                nfi_npy_free(&x);
                closedir(d);
                free(sa);
                free(sb);
                return usage_error("%s", err.message);
            }
            quantity *q = find_q(list, nq, name);
            if (q == NULL) {
                nfi_npy_free(&x);
                nfi_npy_free(&y);
                closedir(d);
                free(sa);
                free(sb);
                return usage_error("out of memory");
            }
            any = true;
            q->steps++;
            nfi_format fa = tensor_format(a, da, name);
            nfi_format fb = tensor_format(b, db, name);
            const nfi_format *f = nfi_format_coarser(&fa, &fb);
            spell(f, q->format, sizeof q->format);
            bool same = x.ndim == y.ndim;
            for (int k = 0; same && k < x.ndim; k++)
                same = x.shape[k] == y.shape[k];
            double *vx = same ? as_doubles(&x) : NULL;
            double *vy = same ? as_doubles(&y) : NULL;
            if (!same || vx == NULL || vy == NULL) {
                if (q->note[0] == '\0')
                    snprintf(q->note, sizeof q->note, "shapes differ at "
                             "step %ld", step);
                note_value(q, step, INFINITY, INFINITY, tol, 0);
            } else {
                for (size_t k = 0; k < x.count; k++)
                    note_value(q, step, nfi_ulp_distance(vx[k], vy[k], f),
                               nfi_rel_error(vx[k], vy[k]), tol, k);
            }
            free(vx);
            free(vy);
            nfi_npy_free(&x);
            nfi_npy_free(&y);
        }
        closedir(d);
        if (any)
            (*nsteps)++;
    }
    free(sa);
    free(sb);
    return 0;
}

/* ---- The plot ---- */

static int run_gnuplot(const char *script)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return usage_error("out of memory");
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char prog[] = "gnuplot";
    char *argv[] = {prog, (char *)script, NULL};
    pid_t pid;
    int e = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        fprintf(stderr, "nfi diff: cannot run gnuplot (%s); on Debian: "
                "apt-get install gnuplot-nox\n", strerror(e));
        return 1;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    fprintf(stderr, "nfi diff: gnuplot failed\n");
    return 1;
}

static void gp_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* Draws 1 + ulps of each column against the step (log scale). */
static int draw(const char *out, const trace *a, const trace *b,
                const long *steps, size_t nsteps, const quantity *q,
                size_t nq)
{
    const char *dot = strrchr(out, '.');
    const char *term = dot == NULL ? NULL : strcasecmp(dot, ".png") == 0
                       ? "pngcairo" : strcasecmp(dot, ".svg") == 0 ? "svg"
                       : NULL;
    if (term == NULL)
        return usage_error("--plot '%s': the name must end in .png or .svg",
                           out);
    nfi_error err;
    nfi_atomic_file *af = nfi_atomic_open(out, &err);
    if (af == NULL)
        return usage_error("--plot: %s", err.message);
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], script[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/nfi-diff-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        nfi_atomic_abort(af);
        return usage_error("cannot make a temporary directory: %s",
                           strerror(errno));
    }
    snprintf(script, sizeof script, "%s/diff.gp", dir);
    FILE *f = fopen(script, "w");
    int status = f == NULL ? 1 : 0;
    if (f != NULL) {
        fprintf(f, "set terminal %s size 900,560 font 'sans,10'\n"
                "set output ", term);
        gp_string(f, nfi_atomic_temp_path(af));
        fprintf(f, "\nset title ");
        char title[2 * PATH_MAX + 64];
        snprintf(title, sizeof title, "%s vs %s", a->dir, b->dir);
        gp_string(f, title);
        fprintf(f, " noenhanced\nset xlabel 'step'\n"
                "set ylabel '1 + distance in ulps (coarser format)'\n"
                "set logscale y\nset key outside right noenhanced\n"
                "set grid\n");
        size_t drawn = 0;
        for (size_t k = 0; k < nq; k++) {
            if (q[k].tensor)
                continue;
            fprintf(f, "$d%zu << EOD\n", k);
            for (size_t i = 0; i < nsteps; i++) {
                double u = q[k].series[i];
                if (isinf(u))
                    fprintf(f, "%ld 1e300\n", steps[i]);
                else
                    fprintf(f, "%ld %.17g\n", steps[i], 1 + u);
            }
            fprintf(f, "EOD\n");
            drawn++;
        }
        fprintf(f, "plot ");
        size_t done = 0;
        for (size_t k = 0; k < nq; k++) {
            if (q[k].tensor)
                continue;
            fprintf(f, "%s$d%zu using 1:2 with linespoints title ",
                    done ? ", " : "", k);
            gp_string(f, q[k].name);
            done++;
        }
        if (drawn == 0)
            fprintf(f, "1 title 'no common column'");
        fprintf(f, "\nunset output\n");
        if (fclose(f) != 0)
            status = 1;
    }
    if (status == 0)
        status = run_gnuplot(script);
    if (status == 0 && nfi_atomic_commit(af, &err) != 0) {
        fprintf(stderr, "nfi diff: %s\n", err.message);
        status = 1;
    } else if (status != 0) {
        nfi_atomic_abort(af);
    }
    unlink(script);
    rmdir(dir);
    return status;
}

/* ---- The command ---- */

static int cmp_name(const void *x, const void *y)
{
    return strcmp(((const quantity *)x)->name, ((const quantity *)y)->name);
}

static void put_num(nfi_json_writer *j, double x)
{
    nfi_json_double(j, x);
}

int nfi_cmd_diff(int argc, char **argv)
{
    enum { OPT_TOL = 256, OPT_PLOT, OPT_JSON };
    static const struct option options[] = {
        {"tolerance", required_argument, NULL, OPT_TOL},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double tol = 0;
    const char *plot = NULL;
    bool json = false;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (ch == OPT_TOL) {
            char *end;
            tol = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(tol >= 0))
                return usage_error("--tolerance '%s' is not a number >= 0",
                                   optarg);
        } else if (ch == OPT_PLOT) {
            plot = optarg;
        } else if (ch == OPT_JSON) {
            json = true;
        } else if (ch == 'h') {
            fputs(diff_usage, stdout);
            return 0;
        } else if (ch == ':') {
            return usage_error("%s needs a value (see 'nfi help diff')",
                               argv[optind - 1]);
        } else {
            return usage_error("unknown option '%s' (see 'nfi help diff')",
                               argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return usage_error("give two traces A B (see 'nfi help diff')");
    trace a, b;
    int status = trace_open(&a, argv[optind]);
    if (status != 0)
        return status;
    if ((status = trace_open(&b, argv[optind + 1])) != 0) {
        nfi_csv_table_free(&a.tab);
        return status;
    }

    /* Common steps. */
    size_t ra = a.tab.nrows, rb = b.tab.nrows, ca = a.tab.ncols,
           cb = b.tab.ncols;
    size_t *ia = malloc((ra + 1) * sizeof *ia);
    size_t *ib = malloc((ra + 1) * sizeof *ib);
    long *steps = malloc((ra + 1) * sizeof *steps);
    quantity *q = NULL;
    size_t nq = 0, ns = 0;
    if (ia == NULL || ib == NULL || steps == NULL) {
        status = usage_error("out of memory");
        goto out;
    }
    for (size_t i = 0, j = 0; i < ra && j < rb;) {
        double x = a.tab.values[i * ca + a.step_col];
        double y = b.tab.values[j * cb + b.step_col];
        if (x < y) {
            i++;
        } else if (x > y) {
            j++;
        } else {
            ia[ns] = i++;
            ib[ns] = j++;
            steps[ns++] = (long)x;
        }
    }
    /* Common columns, in A's order. */
    for (size_t c = 0; c < ca; c++) {
        if (c == a.step_col)
            continue;
        size_t d = 0;
        while (d < cb && strcmp(b.tab.names[d], a.tab.names[c]) != 0)
            d++;
        if (d == cb)
            continue;
        quantity *p = find_q(&q, &nq, a.tab.names[c]);
        if (p == NULL || (p->series = calloc(ns + 1,
                                             sizeof *p->series)) == NULL) {
            status = usage_error("out of memory");
            goto out;
        }
        p->tensor = false;
        int role = column_role(a.tab.names[c]);
        const nfi_format *f = nfi_format_coarser(&a.fmt[role], &b.fmt[role]);
        spell(f, p->format, sizeof p->format);
        p->steps = (long)ns;
        for (size_t s = 0; s < ns; s++) {
            double x = a.tab.values[ia[s] * ca + c];
            double y = b.tab.values[ib[s] * cb + d];
            double u = nfi_ulp_distance(x, y, f);
            p->series[s] = u;
            note_value(p, steps[s], u, nfi_rel_error(x, y), tol, 0);
        }
    }
    size_t ncols = nq;
    long tensor_steps = 0;
    if ((status = compare_tensors(&a, &b, tol, &q, &nq,
                                  &tensor_steps)) != 0)
        goto out;
    /* Tensors in name order, whatever order the folders list them. */
    if (nq > ncols)
        qsort(q + ncols, nq - ncols, sizeof *q, cmp_name);
    if (ns == 0 && tensor_steps == 0) {
        status = usage_error("'%s' and '%s' have no step in common (in "
                             "metrics.csv or snapshots/): nothing to "
                             "compare", a.dir, b.dir);
        goto out;
    }
    if (ncols == 0 && nq == 0) {
        status = usage_error("'%s' and '%s' have no metrics column and no "
                             "snapshot tensor in common", a.dir, b.dir);
        goto out;
    }

    /* The verdict: the first quantity past the tolerance. */
    const quantity *first = NULL, *worst = NULL;
    for (size_t k = 0; k < nq; k++) {
        if (q[k].first_step >= 0 &&
            (first == NULL || q[k].first_step < first->first_step))
            first = &q[k];
        if (worst == NULL || q[k].max_ulps > worst->max_ulps)
            worst = &q[k];
    }
    const char *verdict = first != NULL ? "diverged"
                          : worst != NULL && worst->max_ulps > 0
                          ? "within tolerance" : "identical";
    status = first != NULL ? 1 : 0;

    if (json) {
        nfi_json_writer *j = nfi_json_writer_new();
        nfi_json_begin_object(j);
        nfi_json_key(j, "a");
        nfi_json_string(j, a.dir);
        nfi_json_key(j, "b");
        nfi_json_string(j, b.dir);
        nfi_json_key(j, "tolerance_ulps");
        put_num(j, tol);
        nfi_json_key(j, "steps");
        nfi_json_begin_array(j);
        for (size_t s = 0; s < ns; s++)
            nfi_json_int(j, steps[s]);
        nfi_json_end_array(j);
        nfi_json_key(j, "quantities");
        nfi_json_begin_array(j);
        for (size_t k = 0; k < nq; k++) {
            nfi_json_begin_object(j);
            nfi_json_key(j, "name");
            nfi_json_string(j, q[k].name);
            nfi_json_key(j, "kind");
            nfi_json_string(j, q[k].tensor ? "tensor" : "metric");
            nfi_json_key(j, "format");
            nfi_json_string(j, q[k].format);
            nfi_json_key(j, "steps_compared");
            nfi_json_int(j, q[k].steps);
            nfi_json_key(j, "max_ulps");
            put_num(j, q[k].max_ulps);
            nfi_json_key(j, "max_ulps_step");
            nfi_json_int(j, q[k].max_step);
            nfi_json_key(j, "max_rel_error");
            put_num(j, q[k].max_rel);
            nfi_json_key(j, "first_step_beyond_tolerance");
            if (q[k].first_step >= 0)
                nfi_json_int(j, q[k].first_step);
            else
                nfi_json_null(j);
            if (q[k].tensor && q[k].first_step >= 0) {
                nfi_json_key(j, "first_element");
                nfi_json_uint(j, q[k].first_index);
            }
            if (!q[k].tensor) {
                nfi_json_key(j, "ulps");
                nfi_json_begin_array(j);
                for (size_t s = 0; s < ns; s++)
                    put_num(j, q[k].series[s]);
                nfi_json_end_array(j);
            }
            nfi_json_end_object(j);
        }
        nfi_json_end_array(j);
        nfi_json_key(j, "verdict");
        nfi_json_string(j, verdict);
        nfi_json_key(j, "diverged_step");
        if (first != NULL)
            nfi_json_int(j, first->first_step);
        else
            nfi_json_null(j);
        nfi_json_key(j, "diverged_quantity");
        if (first != NULL)
            nfi_json_string(j, first->name);
        else
            nfi_json_null(j);
        nfi_json_end_object(j);
        nfi_error err;
        const char *text = nfi_json_writer_text(j, NULL, &err);
        if (text != NULL)
            fputs(text, stdout);
        else
            status = usage_error("%s", err.message);
        nfi_json_writer_free(j);
    } else {
        printf("A: %s (%s)\nB: %s (%s)\n", a.dir, a.producer, b.dir,
               b.producer);
        if (ns > 0)
            printf("metrics: %zu common steps (%ld to %ld), %zu common "
                   "columns\n", ns, steps[0], steps[ns - 1], ncols);
        else
            printf("metrics: no common step\n");
        printf("snapshots: %ld common steps, %zu tensors\n", tensor_steps,
               nq - ncols);
        printf("tolerance: %g ulps\n\n", tol);
        printf("%-18s %-10s %12s %8s %12s %s\n", "quantity", "format",
               "max ulps", "at step", "max rel err",
               "first step > tolerance");
        for (size_t k = 0; k < nq; k++) {
            char first_text[96] = "-";
            if (q[k].first_step >= 0 && q[k].tensor)
                snprintf(first_text, sizeof first_text, "%ld (element "
                         "%zu, %g ulps)", q[k].first_step,
                         q[k].first_index, q[k].first_ulps);
            else if (q[k].first_step >= 0)
                snprintf(first_text, sizeof first_text, "%ld (%g ulps)",
                         q[k].first_step, q[k].first_ulps);
            printf("%-18s %-10s %12.6g %8ld %12.3g %s%s%s\n", q[k].name,
                   q[k].format, q[k].max_ulps, q[k].max_step, q[k].max_rel,
                   first_text, q[k].note[0] ? "; " : "", q[k].note);
        }
        printf("\nverdict: %s", verdict);
        if (first != NULL)
            printf(" at step %ld in %s (%g ulps of %s)", first->first_step,
                   first->name, first->first_ulps, first->format);
        else if (worst != NULL && worst->max_ulps > 0)
            printf(" (largest: %g ulps in %s at step %ld)",
                   worst->max_ulps, worst->name, worst->max_step);
        printf("\n");
    }
    if (plot != NULL && ns > 0) {
        int ps = draw(plot, &a, &b, steps, ns, q, nq);
        if (ps != 0)
            status = ps;
    } else if (plot != NULL) {
        fprintf(stderr, "nfi diff: --plot: no common metrics step to "
                "draw\n");
    }
out:
    for (size_t k = 0; k < nq; k++)
        free(q[k].series);
    free(q);
    free(ia);
    free(ib);
    free(steps);
    nfi_csv_table_free(&a.tab);
    nfi_csv_table_free(&b.tab);
    return status;
}
