/* nfi plot: draws the metrics of one or more run directories with
 * gnuplot.
 *
 * The runs are read through the library (train/runlog.h); this file
 * writes a gnuplot script holding the data as inline data blocks, runs
 * gnuplot on it as a child process and moves the picture into place.
 * gnuplot writes to a temporary beside the target (nfi_atomic_open),
 * which is renamed over the target only when gnuplot succeeded, so a
 * failed plot leaves an existing file as it was. */
#define _POSIX_C_SOURCE 200809L

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
#include "runlog.h"
#include "sweep.h"
#include "trace/atomic.h"
#include "trace/json.h"
#include "trace/rundir.h"

extern char **environ;

static const char plot_usage[] =
"Usage: nfi plot RUNDIR... -o FILE.png|FILE.svg [OPTIONS]\n"
"       nfi plot SWEEPDIR -o FILE.png|FILE.svg [OPTIONS]\n"
"\n"
"A directory written by nfi sweep (it holds sweep.json) is drawn as\n"
"two panels: a heat map with one row per run (the sweep's order) of\n"
"log10 of the loss against the step (a loss of 0 or NaN left white),\n"
"and the absorption onset and first loss spike of each run against p.\n"
"\n"
"Draws the metrics.csv of each run directory (written by nfi train)\n"
"against the step, in four panels one above the other that share the\n"
"step axis:\n"
"  loss                 the training loss, log scale\n"
"  absorbed fraction    absorbed_frac, 0 to 1\n"
"  |mean classifier row|\n"
"                       w_mean_norm, log scale\n"
"  |mean feature|       feat_mean_norm, log scale\n"
"Each run has one colour; the legend names it by its directory's last\n"
"component and its format (the --format, --policy and --round of its\n"
"config.json).  Vertical lines in the run's colour mark its absorption\n"
"onset (dashed) and the start of each loss spike (dotted), labelled\n"
"'onset NAME' and 'spike NAME' in the absorbed-fraction panel.  They\n"
"are as summary.json defines them: the onset is the first logged step\n"
"with absorbed_frac > 0; a spike is a logged step whose loss is above\n"
"the minimum M of the earlier logged losses and at least 10 max(M, 0),\n"
"and its start one whose preceding logged step is no spike.  They are\n"
"found in metrics.csv (a run still running has no summary.json) and\n"
"taken from summary.json when it is there.\n"
"\n"
"Values of 0 or below on a log axis, and NaN or infinite values on any\n"
"axis, are left out of their line; a panel without a value to draw\n"
"says so.  The picture is drawn by gnuplot (Debian package gnuplot-nox),\n"
"found on PATH.  FILE is replaced only when gnuplot succeeds.\n"
"\n"
"Options:\n"
"  -o, --output FILE    the picture; .png or .svg chooses the format\n"
"                       (required)\n"
"  --title T            a title above the panels [none]\n"
"  --size WxH           the size in pixels [1000x1200]\n"
"  --steps A:B          only the steps from A to B; either may be left\n"
"                       out (100: or :5000) [all]\n"
"  --keep-script FILE   also write the gnuplot script, data included,\n"
"                       to FILE, to restyle the plot: gnuplot FILE draws\n"
"                       it again\n"
"  -h, --help           this text\n"
"\n"
"Exit status 2 is a usage error (also a missing or damaged metrics.csv,\n"
"config.json or summary.json, or no logged step in range), 1 a failure\n"
"of gnuplot or of writing FILE.\n"
"\n"
"Example:\n"
"  nfi train --task add --modulus 7 --hidden 16 --steps 2000 --out r32\n"
"  nfi train --task add --modulus 7 --hidden 16 --steps 2000 \\\n"
"            --format bf16 --out r16\n"
"  nfi plot r32 r16 -o add7.png --title 'add mod 7'\n";

/* Line colours of the runs, in turn (a palette that stays apart for
 * the common colour-vision deficiencies). */
static const char *const colours[] = {
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
    "#000000", "#f0e442",
};
#define NCOLOURS (sizeof colours / sizeof colours[0])

typedef struct plot_run {
    const char *dir;
    char *name;     /* the directory's last component */
    char *label;    /* legend text */
    nfi_run_series s;
} plot_run;

typedef struct plot_opts {
    const char *out;
    const char *title;
    const char *keep;
    long width, height;
    long lo, hi;    /* step range, LONG_MIN / LONG_MAX when open */
} plot_opts;

/* Prints "nfi plot: MESSAGE" and returns status. */
#define plot_error(status, ...) nfi_cli_fail("plot", status, __VA_ARGS__)

/* ---- Text ---- */

/* A growing string; on running out of memory it keeps failed set. */
typedef struct buf {
    char *s;
    size_t len, cap;
    bool failed;
} buf;

static void bprintf(buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void bprintf(buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = 2 * b->cap + (size_t)n + 256;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* Appends s as a gnuplot single-quoted string: a quote is doubled, and
 * control characters (which would end the command) become '?'. */
static void bquote(buf *b, const char *s)
{
    bprintf(b, "'");
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            bprintf(b, "''");
        else if ((unsigned char)*s < 0x20 || *s == 0x7f)
            bprintf(b, "?");
        else
            bprintf(b, "%c", *s);
    }
    bprintf(b, "'");
}

/* ---- Options ---- */

/* Parses a decimal long in s[0, n) into *v; false when it is not one. */
static bool parse_long(const char *s, size_t n, long *v)
{
    char tmp[32];
    if (n == 0 || n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    *v = strtol(tmp, &end, 10);
    return errno == 0 && *end == '\0';
}

static int parse_size(const char *s, plot_opts *o)
{
    const char *x = strchr(s, 'x');
    if (x == NULL || !parse_long(s, (size_t)(x - s), &o->width) ||
        !parse_long(x + 1, strlen(x + 1), &o->height) ||
        o->width < 100 || o->height < 100 || o->width > 20000 ||
        o->height > 20000)
        return plot_error(2, "--size '%s': expected WxH in pixels, each "
                          "from 100 to 20000, e.g. 1000x1200", s);
    return 0;
}

static int parse_steps(const char *s, plot_opts *o)
{
    const char *c = strchr(s, ':');
    o->lo = LONG_MIN;
    o->hi = LONG_MAX;
    if (c == NULL || (c > s && !parse_long(s, (size_t)(c - s), &o->lo)) ||
        (c[1] != '\0' && !parse_long(c + 1, strlen(c + 1), &o->hi)) ||
        o->lo > o->hi)
        return plot_error(2, "--steps '%s': expected A:B with integers "
                          "A <= B, or A: or :B", s);
    return 0;
}

/* The terminal of the output's extension, or NULL. */
static const char *terminal_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot == NULL || (slash != NULL && dot < slash))
        return NULL;
    if (strcasecmp(dot, ".png") == 0)
        return "pngcairo";
    if (strcasecmp(dot, ".svg") == 0)
        return "svg";
    return NULL;
}

/* ---- Reading the runs ---- */

/* The last component of dir, without trailing slashes (malloc'ed). */
static char *base_name(const char *dir)
{
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    return strndup(dir + start, end - start);
}

/* The string member key of config.json's options, or NULL. */
static const char *option_text(const nfi_json_value *root, const char *key)
{
    const nfi_json_value *v = nfi_json_get(nfi_json_get(root, "options"),
                                           key);
    const char *s;
    if (v == NULL || nfi_json_as_string(v, &s, NULL, NULL) != 0)
        return NULL;
    return s;
}

/* Reads the run directory r->dir; returns 0 or the exit status (the
 * message printed). */
static int read_run(plot_run *r)
{
    nfi_error err;
    struct stat st;
    if (stat(r->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return plot_error(2, "'%s' is not a directory (expected a run "
                          "directory written by nfi train)", r->dir);
    if (nfi_run_series_read(r->dir, &r->s, &err) != 0)
        return plot_error(2, "%s", err.message);
    r->name = base_name(r->dir);
    if (r->name == NULL)
        return plot_error(1, "out of memory");

    size_t n = strlen(r->dir) + sizeof "/" NFI_RUNDIR_CONFIG;
    char *path = malloc(n);
    if (path == NULL)
        return plot_error(1, "out of memory");
    snprintf(path, n, "%s/%s", r->dir, NFI_RUNDIR_CONFIG);
    nfi_json_value *cfg = nfi_json_parse_file(path, &err);
    free(path);
    if (cfg == NULL)
        return plot_error(2, "%s", err.message);
    const char *format = option_text(cfg, "format");
    const char *policy = option_text(cfg, "policy");
    const char *round = option_text(cfg, "round");
    buf b = {0};
    bprintf(&b, "%s (%s", r->name, format ? format : "format unknown");
    if (policy != NULL && policy[0] != '\0')
        bprintf(&b, ", %s", policy);
    if (round != NULL && strcmp(round, "rne") != 0)
        bprintf(&b, ", round=%s", round);
    bprintf(&b, ")");
    nfi_json_free(cfg);
    if (b.failed) {
        free(b.s);
        return plot_error(1, "out of memory");
    }
    r->label = b.s;
    return 0;
}

/* ---- The script ---- */

enum { COL_LOSS, COL_ABSORBED, COL_WMEAN, COL_FEAT, NPANELS };

static const struct {
    const char *ylabel;
    bool log;
} panels[NPANELS] = {
    [COL_LOSS] = {"loss", true},
    [COL_ABSORBED] = {"absorbed fraction", false},
    [COL_WMEAN] = {"|mean classifier row|", true},
    [COL_FEAT] = {"|mean feature|", true},
};

static bool in_range(const plot_opts *o, double step)
{
    return step >= (double)o->lo && step <= (double)o->hi;
}

/* The value of panel p at row i of s, or NaN when it is not drawn. */
static double panel_value(const nfi_run_series *s, int p, size_t i)
{
    const double *col[NPANELS] = {
        [COL_LOSS] = s->loss, [COL_ABSORBED] = s->absorbed_frac,
        [COL_WMEAN] = s->w_mean_norm, [COL_FEAT] = s->feat_mean_norm,
    };
    double v = col[p][i];
    if (!isfinite(v) || (panels[p].log && v <= 0))
        return NAN;
    return v;
}

/* Writes the gnuplot script drawing the runs into output (with the
 * terminal term) to b.  xlo..xhi is the step range drawn. */
static void make_script(buf *b, const plot_run *runs, size_t nruns,
                        const plot_opts *o, const char *term,
                        const char *output, double xlo, double xhi)
{
    bprintf(b, "# Written by nfi plot; 'gnuplot FILE' draws it.\n");
    for (size_t r = 0; r < nruns; r++) {
        const nfi_run_series *s = &runs[r].s;
        bprintf(b, "\n# %s: step loss absorbed_frac w_mean_norm "
                "feat_mean_norm\n$run%zu << EOD\n", runs[r].dir, r);
        for (size_t i = 0; i < s->n; i++) {
            if (!in_range(o, s->step[i]))
                continue;
            bprintf(b, "%.17g", s->step[i]);
            for (int p = 0; p < NPANELS; p++)
                bprintf(b, " %.17g", panel_value(s, p, i));
            bprintf(b, "\n");
        }
        bprintf(b, "EOD\n");
    }

    bprintf(b, "\nset terminal %s size %ld,%ld noenhanced font "
            "'sans,11'\nset output ", term, o->width, o->height);
    bquote(b, output);
    bprintf(b, "\nset xrange [%.17g:%.17g]\nset grid\nset lmargin 12\n"
            "set rmargin 4\nset key top right box opaque\nset multiplot "
            "layout %d,1", xlo, xhi, NPANELS);
    if (o->title != NULL) {
        bprintf(b, " title ");
        bquote(b, o->title);
    }
    bprintf(b, "\n");

    /* The markers: a line through every panel, a label in the panel of
     * the absorbed fraction (the first holds the legend). */
    buf labels = {0};
    for (size_t r = 0; r < nruns; r++) {
        const nfi_run_series *s = &runs[r].s;
        const char *c = colours[r % NCOLOURS];
        for (size_t k = 0; k <= s->nspikes; k++) {
            bool onset = k == s->nspikes;
            long x = onset ? s->onset : s->spikes[k];
            if (x < 0 || x < xlo || x > xhi)
                continue;
            bprintf(b, "set arrow from %ld, graph 0 to %ld, graph 1 "
                    "nohead lw 1.5 dt %d lc rgb '%s'\n", x, x,
                    onset ? 2 : 3, c);
            bprintf(&labels, "set label ");
            buf text = {0};
            bprintf(&text, "%s %s", onset ? "onset" : "spike",
                    runs[r].name);
            bquote(&labels, text.failed ? "?" : text.s);
            free(text.s);
            bprintf(&labels, " at %ld, graph 0.03 rotate by 90 left "
                    "offset -0.7,0 font ',9' tc rgb '%s'\n", x, c);
        }
    }

    for (int p = 0; p < NPANELS; p++) {
        bool any = false;
        for (size_t r = 0; r < nruns; r++)
            for (size_t i = 0; i < runs[r].s.n; i++)
                if (in_range(o, runs[r].s.step[i]) &&
                    !isnan(panel_value(&runs[r].s, p, i)))
                    any = true;
        bprintf(b, "\n%s\nset ylabel ", panels[p].log ?
                "set logscale y" : "unset logscale y");
        bquote(b, panels[p].ylabel);
        bprintf(b, "\n");
        if (p == COL_ABSORBED) {
            bprintf(b, "unset key\n%s", labels.s ? labels.s : "");
            if (labels.failed)
                b->failed = true;
        }
        if (p == NPANELS - 1)
            bprintf(b, "set xlabel 'step'\n");
        if (!any)
            bprintf(b, "set yrange [%s]\nset label 'no value to draw' "
                    "at graph 0.5, graph 0.5 center\n",
                    panels[p].log ? "0.1:10" : "0:1");
        else if (p == COL_ABSORBED)
            bprintf(b, "set yrange [-0.02:1.02]\n");
        else
            bprintf(b, "set autoscale y\n");
        bprintf(b, "plot ");
        for (size_t r = 0; r < nruns; r++) {
            bprintf(b, "$run%zu using 1:%d with lines lw 2 lc rgb '%s' ",
                    r, p + 2, colours[r % NCOLOURS]);
            if (p == 0) {
                bprintf(b, "title ");
                bquote(b, runs[r].label);
            } else {
                bprintf(b, "notitle");
            }
            bprintf(b, ", \\\n     ");
        }
        if (p == 0)
            bprintf(b, "NaN with lines dt 2 lc rgb '#555555' title "
                    "'absorption onset', \\\n     NaN with lines dt 3 "
                    "lc rgb '#555555' title 'loss spike'\n");
        else
            bprintf(b, "NaN notitle\n");
        bprintf(b, "unset label\n");
    }
    bprintf(b, "\nunset multiplot\nunset output\n");
    free(labels.s);
}

/* ---- Running gnuplot ---- */

/* Writes n bytes of text to the new file path; returns 0 or -1 with
 * err set. */
static int write_new(const char *path, const char *text, size_t n,
                     nfi_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return nfi_error_set(err, "cannot create '%s': %s", path,
                             strerror(errno));
    int rc = nfi_write_all(fd, text, n, path, err);
    if (close(fd) != 0 && rc == 0)
        rc = nfi_error_set(err, "cannot write '%s': %s", path,
                           strerror(errno));
    return rc;
}

/* Prints the last lines gnuplot wrote to the file log (up to 2000
 * bytes), indented, after a failure. */
static void show_log(const char *log)
{
    size_t len;
    char *text = nfi_read_file(log, &len, NULL);
    if (text == NULL || len == 0) {
        free(text);
        return;
    }
    size_t start = len > 2000 ? len - 2000 : 0;
    fputs("gnuplot said:\n", stderr);
    for (const char *p = text + start; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(stderr, "  %.*s\n", (int)n, p);
        p += n + (nl != NULL);
    }
    free(text);
}

/* Runs `gnuplot script` with its output to log; returns 0 or the exit
 * status (the message printed). */
static int run_gnuplot(const char *script, const char *log)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return plot_error(1, "out of memory");
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char prog[] = "gnuplot";
    char *argv[] = {prog, (char *)script, NULL};
    pid_t pid;
    int e = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e == ENOENT)
        return plot_error(1, "gnuplot is not installed (no 'gnuplot' on "
                          "PATH); on Debian: apt-get install gnuplot-nox");
    if (e != 0)
        return plot_error(1, "cannot run gnuplot: %s", strerror(e));

    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return plot_error(1, "waiting for gnuplot: %s",
                              strerror(errno));
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        plot_error(1, "gnuplot could not be started (exit status 127); "
                   "on Debian: apt-get install gnuplot-nox");
    else if (WIFEXITED(st))
        plot_error(1, "gnuplot failed (exit status %d)", WEXITSTATUS(st));
    else
        plot_error(1, "gnuplot was killed by signal %d",
                   WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    show_log(log);
    return 1;
}

/* What a picture's script is made from: the runs of nfi plot RUNDIR...
 * or a sweep directory. */
typedef struct script_src {
    const plot_run *runs;
    size_t nruns;
    double xlo, xhi;
    const struct sweep_pic *sweep; /* NULL: the runs */
} script_src;

typedef struct sweep_pic sweep_pic;
static void sweep_script(buf *b, const sweep_pic *sp, const plot_opts *o,
                         const char *term, const char *output);

static void any_script(buf *b, const script_src *src, const plot_opts *o,
                       const char *term, const char *output)
{
    if (src->sweep != NULL)
        sweep_script(b, src->sweep, o, term, output);
    else
        make_script(b, src->runs, src->nruns, o, term, output, src->xlo,
                    src->xhi);
}

static int render(const script_src *src, const plot_opts *o,
                  const char *term);

/* Draws the runs into o->out; returns 0 or the exit status. */
static int draw(const plot_run *runs, size_t nruns, const plot_opts *o,
                const char *term)
{
    double xlo = INFINITY, xhi = -INFINITY;
    for (size_t r = 0; r < nruns; r++)
        for (size_t i = 0; i < runs[r].s.n; i++)
            if (in_range(o, runs[r].s.step[i])) {
                xlo = fmin(xlo, runs[r].s.step[i]);
                xhi = fmax(xhi, runs[r].s.step[i]);
            }
    if (xlo > xhi)
        return plot_error(2, "no logged step to draw (metrics.csv has no "
                          "rows%s)", o->lo != LONG_MIN ||
                          o->hi != LONG_MAX ? " in --steps" : "");
    if (o->lo != LONG_MIN)
        xlo = (double)o->lo;
    if (o->hi != LONG_MAX)
        xhi = (double)o->hi;
    if (xlo == xhi) {
        xlo -= 1;
        xhi += 1;
    }

    script_src src = {runs, nruns, xlo, xhi, NULL};
    return render(&src, o, term);
}

/* Writes the script of src (and --keep-script), runs gnuplot into a
 * temporary beside o->out and renames it over o->out when gnuplot
 * succeeded; returns 0 or the exit status. */
static int render(const script_src *src, const plot_opts *o,
                  const char *term)
{
    nfi_error err;
    int status = 0;
    buf b = {0};
    if (o->keep != NULL) {
        any_script(&b, src, o, term, o->out);
        if (b.failed)
            status = plot_error(1, "out of memory");
        else if (nfi_atomic_write_file(o->keep, b.s, b.len, &err) != 0)
            status = plot_error(1, "--keep-script: %s", err.message);
        free(b.s);
        b = (buf){0};
        if (status != 0)
            return status;
    }

    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], script[PATH_MAX + 16], log[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/nfi-plot-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return plot_error(1, "cannot make a temporary directory '%s': %s",
                          dir, strerror(errno));
    snprintf(script, sizeof script, "%s/plot.gp", dir);
    snprintf(log, sizeof log, "%s/gnuplot.log", dir);

    nfi_atomic_file *f = nfi_atomic_open(o->out, &err);
    if (f == NULL) {
        status = plot_error(1, "-o: %s", err.message);
        goto out;
    }
    any_script(&b, src, o, term, nfi_atomic_temp_path(f));
    if (b.failed) {
        status = plot_error(1, "out of memory");
    } else if (write_new(script, b.s, b.len, &err) != 0) {
        status = plot_error(1, "%s", err.message);
    } else if ((status = run_gnuplot(script, log)) == 0) {
        struct stat st;
        if (stat(nfi_atomic_temp_path(f), &st) != 0 || st.st_size == 0) {
            status = plot_error(1, "gnuplot wrote nothing to '%s'",
                                o->out);
            show_log(log);
        }
    }
    if (status == 0) {
        status = nfi_atomic_commit(f, &err) == 0 ? 0
                 : plot_error(1, "%s", err.message);
    } else {
        nfi_atomic_abort(f);
    }

out:
    free(b.s);
    unlink(script);
    unlink(log);
    if (rmdir(dir) != 0)
        fprintf(stderr, "nfi plot: warning: cannot remove the temporary "
                "directory '%s': %s\n", dir, strerror(errno));
    return status;
}

/* ---- A sweep directory ---- */

/* The runs of a sweep directory (nfi sweep), for a heat map of the loss
 * (one row per run, in the sweep's order) and the onset and first spike
 * against p. */
typedef struct sweep_pic {
    const char *dir;
    sweep_args a;
    sweep_plan plan;
    nfi_run_series *s;    /* (plan.n); n = 0 for a run not there */
} sweep_pic;

static void sweep_pic_free(sweep_pic *sp)
{
    if (sp->s != NULL)
        for (size_t i = 0; i < sp->plan.n; i++)
            nfi_run_series_free(&sp->s[i]);
    free(sp->s);
    sweep_plan_free(&sp->plan, sp->a.n_vary);
    sweep_args_free(&sp->a);
}

/* Whether dir holds a sweep.json. */
static bool is_sweep_dir(const char *dir)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    return stat(path, &st) == 0;
}

static int read_sweep(sweep_pic *sp)
{
    char path[4096];
    nfi_error err;
    snprintf(path, sizeof path, "%s/sweep.json", sp->dir);
    if (sweep_json_read(path, &sp->a, &err) != 0)
        return plot_error(2, "%s", err.message);
    if (sweep_plan_make(&sp->a, &sp->plan, &err) != 0)
        return plot_error(2, "%s: %s", path, err.message);
    sp->s = calloc(sp->plan.n ? sp->plan.n : 1, sizeof *sp->s);
    if (sp->s == NULL)
        return plot_error(1, "out of memory");
    size_t found = 0;
    for (size_t i = 0; i < sp->plan.n; i++) {
        snprintf(path, sizeof path, "%s/runs/%s", sp->dir,
                 sp->plan.runs[i].name);
        struct stat st;
        snprintf(path + strlen(path), sizeof path - strlen(path), "/%s",
                 NFI_RUNDIR_METRICS);
        if (stat(path, &st) != 0)
            continue; /* not run (yet): an empty row */
        snprintf(path, sizeof path, "%s/runs/%s", sp->dir,
                 sp->plan.runs[i].name);
        if (nfi_run_series_read(path, &sp->s[i], &err) != 0)
            return plot_error(2, "%s", err.message);
        found++;
    }
    if (found == 0)
        return plot_error(2, "the sweep '%s' has no run with metrics.csv "
                          "yet", sp->dir);
    return 0;
}

/* The label of run i on the heat map's y axis: its name without the
 * index. */
static const char *row_label(const sweep_pic *sp, size_t i)
{
    const char *n = sp->plan.runs[i].name;
    const char *dash = strchr(n, '-');
    return dash ? dash + 1 : n;
}

static void sweep_script(buf *b, const sweep_pic *sp, const plot_opts *o,
                         const char *term, const char *output)
{
    const sweep_plan *pl = &sp->plan;
    bprintf(b, "# Written by nfi plot from the sweep %s; 'gnuplot FILE' "
            "draws it.\n\n# step_lo step_hi row log10(loss)\n$heat << "
            "EOD\n", sp->dir);
    double xlo = INFINITY, xhi = -INFINITY;
    for (size_t r = 0; r < pl->n; r++) {
        const nfi_run_series *s = &sp->s[r];
        double prev = 0;
        for (size_t i = 0; i < s->n; i++) {
            double st = s->step[i], lo = prev;
            prev = st;
            if (!in_range(o, st))
                continue;
            xlo = fmin(xlo, lo);
            xhi = fmax(xhi, st);
            double v = s->loss[i];
            if (!isfinite(v) || v <= 0)
                continue;
            bprintf(b, "%.17g %zu %.17g %.17g %g %g %.17g\n", st, r, lo,
                    st, (double)r - 0.5, (double)r + 0.5, log10(v));
        }
    }
    bprintf(b, "EOD\n\n# p onset_step\n$onset << EOD\n");
    long plo = LONG_MAX, phi = LONG_MIN;
    for (size_t r = 0; r < pl->n; r++) {
        plo = pl->runs[r].p < plo ? pl->runs[r].p : plo;
        phi = pl->runs[r].p > phi ? pl->runs[r].p : phi;
        if (sp->s[r].n > 0 && sp->s[r].onset >= 0)
            bprintf(b, "%ld %ld\n", pl->runs[r].p, sp->s[r].onset);
    }
    bprintf(b, "EOD\n\n# p first_spike_step\n$spike << EOD\n");
    for (size_t r = 0; r < pl->n; r++)
        if (sp->s[r].n > 0 && sp->s[r].nspikes > 0)
            bprintf(b, "%ld %ld\n", pl->runs[r].p, sp->s[r].spikes[0]);
    bprintf(b, "EOD\n");
    if (!(xlo <= xhi)) {
        xlo = 0;
        xhi = 1;
    }
    if (xlo == xhi)
        xhi = xlo + 1;

    bprintf(b, "\nset terminal %s size %ld,%ld noenhanced font "
            "'sans,11'\nset output ", term, o->width, o->height);
    bquote(b, output);
    bprintf(b, "\nset multiplot layout 2,1");
    if (o->title != NULL) {
        bprintf(b, " title ");
        bquote(b, o->title);
    }
    bprintf(b, "\nset lmargin 18\nset rmargin 14\n");
    /* The heat map: one row per run. */
    bprintf(b, "set xrange [%.17g:%.17g]\nset yrange [-0.5:%g]\n"
            "set palette rgbformulae 33,13,10\nset cblabel 'log10 loss'\n"
            "set xlabel 'step'\nset ylabel 'run'\nset ytics (", xlo, xhi,
            (double)pl->n - 0.5);
    size_t every = pl->n > 40 ? (pl->n + 39) / 40 : 1;
    bool first = true;
    for (size_t r = 0; r < pl->n; r += every) {
        if (!first)
            bprintf(b, ", ");
        first = false;
        bquote(b, row_label(sp, r));
        bprintf(b, " %zu", r);
    }
    bprintf(b, ")\nset ytics font ',9'\nunset key\n"
            "set title 'loss (colour: log10) of each run against the "
            "step'\nplot $heat using 1:2:3:4:5:6:7 with boxxyerror fs "
            "solid 1.0 noborder lc palette notitle\n");
    /* Onset and first spike against p. */
    bprintf(b, "\nunset ytics\nset ytics font ',11'\nset autoscale y\n"
            "set xrange [%g:%g]\nset xtics 1\nset xlabel 'p (significand "
            "bits)'\nset ylabel 'step'\nset grid\nset key top right box "
            "opaque\nset title 'absorption onset and first loss spike'\n",
            (double)plo - 0.5, (double)phi + 0.5);
    bprintf(b, "plot $onset using 1:2 with points pt 7 ps 1.2 lc rgb "
            "'#0072b2' title 'absorption onset', \\\n     $spike using 1:2 "
            "with points pt 2 ps 1.6 lw 2 lc rgb '#d55e00' title 'first "
            "loss spike', \\\n     NaN notitle\n");
    bprintf(b, "\nunset multiplot\nunset output\n");
}

/* ---- The command ---- */

int nfi_cmd_plot(int argc, char **argv)
{
    enum { OPT_TITLE = 256, OPT_SIZE, OPT_STEPS, OPT_KEEP };
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"title", required_argument, NULL, OPT_TITLE},
        {"size", required_argument, NULL, OPT_SIZE},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"keep-script", required_argument, NULL, OPT_KEEP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    plot_opts o = {.width = 1000, .height = 1200, .lo = LONG_MIN,
                   .hi = LONG_MAX};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
        switch (ch) {
        case 'h':
            fputs(plot_usage, stdout);
            return 0;
        case 'o':
            o.out = optarg;
            break;
        case OPT_TITLE:
            o.title = optarg;
            break;
        case OPT_SIZE:
            if (parse_size(optarg, &o) != 0)
                return 2;
            break;
        case OPT_STEPS:
            if (parse_steps(optarg, &o) != 0)
                return 2;
            break;
        case OPT_KEEP:
            o.keep = optarg;
            break;
        case ':':
            return plot_error(2, "%s needs a value (see nfi help plot)",
                              argv[optind - 1]);
        default:
            return plot_error(2, "unknown option '%s' (see nfi help "
                              "plot)", argv[optind - 1]);
        }
    }
    size_t nruns = (size_t)(argc - optind);
    if (nruns == 0)
        return plot_error(2, "no run directory given (usage: nfi plot "
                          "RUNDIR... -o FILE.png|FILE.svg)");
    if (o.out == NULL)
        return plot_error(2, "no output file: give -o FILE.png or "
                          "-o FILE.svg");
    const char *term = terminal_of(o.out);
    if (term == NULL)
        return plot_error(2, "-o '%s': the name must end in .png or .svg, "
                          "which choose the format", o.out);

    if (nruns == 1 && is_sweep_dir(argv[optind])) {
        sweep_pic sp;
        memset(&sp, 0, sizeof sp);
        sp.dir = argv[optind];
        int st = read_sweep(&sp);
        if (st == 0) {
            script_src src = {NULL, 0, 0, 0, &sp};
            st = render(&src, &o, term);
        }
        sweep_pic_free(&sp);
        return st;
    }

    plot_run *runs = calloc(nruns, sizeof *runs);
    if (runs == NULL)
        return plot_error(1, "out of memory");
    int status = 0;
    for (size_t r = 0; r < nruns && status == 0; r++) {
        runs[r].dir = argv[optind + (int)r];
        status = read_run(&runs[r]);
    }
    if (status == 0)
        status = draw(runs, nruns, &o, term);
    for (size_t r = 0; r < nruns; r++) {
        free(runs[r].name);
        free(runs[r].label);
        nfi_run_series_free(&runs[r].s);
    }
    free(runs);
    return status;
}
