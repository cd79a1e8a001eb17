/* nfi sweep: one training configuration across many formats (and the
 * values of other options), run by worker processes, summarised in one
 * table.
 *
 * Each run is an ordinary `nfi train` (this same program, started with
 * exec) writing DIR/runs/NAME, its output in DIR/runs/NAME.log.  The
 * list of runs is a pure function of the arguments (sweep_plan.c), so a
 * restarted sweep finds its runs again: complete and failed ones are
 * results and are kept, interrupted ones are resumed with `nfi train
 * --resume`.  The summary is read back from the run directories
 * (sweep_summary.c), never from what the workers said, so a sweep run
 * twice, a merge of shards and an MPI run all write the same bytes. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef NFI_HAVE_MPI
#include <mpi.h>
#endif

#include "cli.h"
#include "format.h"
#include "sweep.h"
#include "trace/rundir.h"

static const char sweep_usage[] =
"Usage: nfi sweep [nfi train options] (--formats LIST |\n"
"                 --mantissa A:B[:STEP] [--exponent-bits E |\n"
"                 --emin X --emax Y]) [--vary NAME=V1,V2,...]...\n"
"                 [--jobs N] [--shard I/N] [--find-threshold]\n"
"                 [--keep-records] [--force] --out DIR\n"
"       nfi sweep --merge SHARDDIR... --out DIR\n"
"\n"
"Trains the same configuration in many formats: every run starts from\n"
"the same real initialisation (drawn in binary64, rounded into each\n"
"format) with the same data, as nfi train does for one --seed.  Each\n"
"run is an nfi train run in DIR/runs/NAME (its output in NAME.log);\n"
"N worker processes run them.  DIR/summary.csv and DIR/summary.md give\n"
"one row per run:\n"
"  run, format, p, emin, emax, each --vary option, onset_step (first\n"
"  logged step with absorbed_frac > 0), max_absorbed_frac, growth_rate\n"
"  (w_mean_norm at the first spike at or after the onset, or at the\n"
"  last logged step, divided by w_mean_norm at the onset),\n"
"  first_spike_step, spikes, spike_loss_ratio (the loss at the first\n"
"  spike over the running minimum before it), final_loss, last_step,\n"
"  status (complete, failed, ...), and the verdicts absorption\n"
"  (max_absorbed_frac > 0.2), growth (growth_rate > 10) and spike.\n"
"Both files depend on the runs alone: a sweep run twice, its shards\n"
"merged and an MPI run write the same bytes.  A failed run (a NaN\n"
"loss) is a result with status failed.\n"
"\n"
"The runs, in this order (the index starts each NAME):\n"
"  --formats LIST       formats separated by ';', or by ',' when a part\n"
"                       holds no '=' other than p= (e.g.\n"
"                       'binary32,bf16,e5m2' or\n"
"                       'p=20,emin=-126,emax=127;binary16')\n"
"  --mantissa A:B[:STEP]  p = A, A+STEP, ..., up to B (2 <= A <= B <= 53)\n"
"  --exponent-bits E    with --mantissa: IEEE-like range, emax =\n"
"                       2^(E-1) - 1, emin = 1 - emax\n"
"  --emin X --emax Y    with --mantissa: the range (default binary32's,\n"
"                       -126 and 127)\n"
"  --vary NAME=V1,V2,...  each run of the formats above once with each\n"
"                       value of the nfi train option --NAME (eps, lr,\n"
"                       seed, scheme, order, policy, steps, ...); several\n"
"                       --vary give the cartesian product, the first\n"
"                       varying slowest; separate values with ';' when\n"
"                       one holds a comma\n"
"Running them:\n"
"  --jobs N             worker processes (default: the online CPUs)\n"
"  --out DIR            the sweep directory (required); DIR/sweep.json\n"
"                       records the arguments\n"
"  --force              run every run again from the start, also when\n"
"                       DIR holds a sweep with other arguments\n"
"  --keep-records       let the runs write their per-sample tensors\n"
"                       (nfi train --records full: about 110 MB per\n"
"                       canonical run); by default --records metrics\n"
"  --shard I/N          run only the runs whose index mod N is I (0 <= I\n"
"                       < N), for job arrays on several machines; the\n"
"                       shard's summary lists its runs\n"
"  --merge SHARDDIR...  join the shards of one sweep into --out DIR:\n"
"                       checks that they are shards of the same sweep\n"
"                       and that together they hold every run finished,\n"
"                       links DIR/runs/NAME to them and writes the\n"
"                       summary the whole sweep writes\n"
"  --find-threshold     with --mantissa: bisect on p for the smallest p\n"
"                       whose run shows no loss spike and the largest\n"
"                       with one (a failed run counts as one); --jobs N\n"
"                       probes N points a round; the probes and the\n"
"                       verdict go to summary.md and threshold.json, and\n"
"                       every pair of finished runs where a smaller p is\n"
"                       stable and a larger one is not is reported\n"
"  -h, --help           this text\n"
"\n"
"Every other option is given to each nfi train run (not --format,\n"
"--out, --records, --force or --resume; see 'nfi help train').\n"
"\n"
"Restart: the same command again skips finished runs (complete or\n"
"failed) and resumes interrupted ones; other arguments than those in\n"
"DIR/sweep.json are refused (saying what differs) unless --force.\n"
"SIGINT or SIGTERM stops the workers after their current step (their\n"
"runs become interrupted) and the sweep exits with status 1.\n"
"\n"
"Under mpirun (nfi built with MPI), rank r of R runs the runs whose\n"
"index mod R is r with --jobs workers (default: the online CPUs / R),\n"
"and rank 0 writes the summary once every rank is done.\n"
"\n"
"On a terminal a progress line shows runs done, running, the rate and\n"
"the time left.  Exit status: 0 when every run of the share finished\n"
"(a failed run included), 1 when the sweep was interrupted or a worker\n"
"could not run, 2 for a usage error.\n"
"\n"
"Example:\n"
"  nfi sweep --task add --modulus 7 --hidden 16 --steps 300 \\\n"
"            --mantissa 4:12 --vary lr=0.01,0.05 --jobs 2 --out sw\n";

/* Prints "nfi sweep: MESSAGE"; returns 2, a usage error. */
#define usage_error(...) nfi_cli_fail("sweep", 2, __VA_ARGS__)

static char *dup_text(const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        abort();
    return c;
}

static void push(char ***list, size_t *n, const char *s)
{
    char **l = realloc(*list, (*n + 1) * sizeof *l);
    if (l == NULL)
        abort();
    l[*n] = dup_text(s);
    *list = l;
    (*n)++;
}

static bool parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0)
        return false;
    *v = x;
    return true;
}

/* Splits a --formats list: at ';' when it holds one, else at commas,
 * where a part with '=' that is not p= continues the format before it
 * (as nfi threshold reads --format). */
static int split_formats(const char *list, sweep_args *a)
{
    char *copy = dup_text(list);
    bool semi = strchr(list, ';') != NULL;
    char *save = NULL;
    for (char *tok = strtok_r(copy, semi ? ";" : ",", &save); tok;
         tok = strtok_r(NULL, semi ? ";" : ",", &save)) {
        bool cont = !semi && strchr(tok, '=') != NULL &&
                    strncmp(tok, "p=", 2) != 0 && a->n_formats > 0;
        if (cont) {
            char *prev = a->formats[a->n_formats - 1];
            size_t len = strlen(prev) + strlen(tok) + 2;
            char *joined = malloc(len);
            if (joined == NULL)
                abort();
            snprintf(joined, len, "%s,%s", prev, tok);
            free(prev);
            a->formats[a->n_formats - 1] = joined;
        } else {
            push(&a->formats, &a->n_formats, tok);
        }
    }
    free(copy);
    return 0;
}

/* Options of nfi train that a sweep sets itself. */
static const char *const owned[] = {"format", "out", "records", NULL};

static int parse_vary(const char *text, sweep_args *a)
{
    const char *eq = strchr(text, '=');
    if (eq == NULL || eq == text || eq[1] == '\0')
        return usage_error("--vary '%s': write NAME=V1,V2,... (e.g. "
                           "lr=0.01,0.02)", text);
    char name[64];
    size_t len = (size_t)(eq - text);
    if (len >= sizeof name)
        len = sizeof name - 1;
    memcpy(name, text, len);
    name[len] = '\0';
    const char *bare = strncmp(name, "--", 2) == 0 ? name + 2 : name;
    for (int k = 0; owned[k]; k++)
        if (strcmp(bare, owned[k]) == 0)
            return usage_error("--vary %s: the sweep sets --%s itself%s",
                               bare, bare, strcmp(bare, "format") == 0 ?
                               "; give the formats with --formats" : "");
    if (strcmp(bare, "config") == 0 || !nfi_train_option_known(bare))
        return usage_error("--vary '%s': --%s is not an option of nfi "
                           "train that takes a value (see 'nfi help "
                           "train')", text, bare);
    for (size_t v = 0; v < a->n_vary; v++)
        if (strcmp(a->vary[v].name, bare) == 0)
            return usage_error("--vary %s is given twice; list every value "
                               "in one --vary", bare);
    sweep_vary *nv = realloc(a->vary, (a->n_vary + 1) * sizeof *nv);
    if (nv == NULL)
        abort();
    a->vary = nv;
    sweep_vary *sv = &a->vary[a->n_vary++];
    memset(sv, 0, sizeof *sv);
    sv->name = dup_text(bare);
    const char *sep = strchr(eq + 1, ';') ? ";" : ",";
    char *copy = dup_text(eq + 1), *save = NULL;
    for (char *tok = strtok_r(copy, sep, &save); tok;
         tok = strtok_r(NULL, sep, &save))
        push(&sv->values, &sv->n, tok);
    free(copy);
    if (sv->n == 0)
        return usage_error("--vary '%s' lists no value", text);
    return 0;
}

/* ---- The command line ---- */

typedef struct sweep_cmd {
    sweep_args a;
    const char *out;
    long jobs;
    bool force;
    bool have_range, have_emin, have_emax;
    long exp_bits;
    size_t n_merge;
    char **merge;
    bool merging;
} sweep_cmd;

static int parse_args(int argc, char **argv, sweep_cmd *c)
{
    sweep_args *a = &c->a;
    a->shard_n = 1;
    a->emin = -126;
    a->emax = 127;
    c->exp_bits = -1;
    const char *mantissa = NULL, *formats = NULL, *shard = NULL;
    const char *emin = NULL, *emax = NULL, *bits = NULL, *jobs = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(sweep_usage, stdout);
            return -1;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return usage_error("unexpected argument '%s'; every setting "
                               "is an option (see 'nfi help sweep')", arg);
        char name[64];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name)
            return usage_error("unknown option '%s' (see 'nfi help sweep')",
                               arg);
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        if (strcmp(name, "force") == 0 || strcmp(name, "keep-records") == 0
            || strcmp(name, "find-threshold") == 0) {
            if (eq)
                return usage_error("--%s takes no value", name);
            if (name[0] == 'f' && name[1] == 'o')
                c->force = true;
            else if (name[0] == 'k')
                a->keep_records = true;
            else
                a->find_threshold = true;
            continue;
        }
        if (strcmp(name, "merge") == 0) {
            c->merging = true;
            if (eq)
                push(&c->merge, &c->n_merge, eq + 1);
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                push(&c->merge, &c->n_merge, argv[++i]);
            continue;
        }
        if (strcmp(name, "resume") == 0)
            return usage_error("--resume is nfi train's; to continue a "
                               "sweep, give the same nfi sweep command "
                               "again");
        if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return usage_error("%s needs a value (see 'nfi help "
                                   "sweep')", arg);
            value = argv[++i];
        }
        if (strcmp(name, "formats") == 0)
            formats = value;
        else if (strcmp(name, "mantissa") == 0)
            mantissa = value;
        else if (strcmp(name, "exponent-bits") == 0)
            bits = value;
        else if (strcmp(name, "emin") == 0)
            emin = value;
        else if (strcmp(name, "emax") == 0)
            emax = value;
        else if (strcmp(name, "jobs") == 0)
            jobs = value;
        else if (strcmp(name, "out") == 0)
            c->out = value;
        else if (strcmp(name, "shard") == 0)
            shard = value;
        else if (strcmp(name, "vary") == 0) {
            int rc = parse_vary(value, a);
            if (rc != 0)
                return rc;
        } else if (strcmp(name, "format") == 0) {
            return usage_error("--format: a sweep takes its formats from "
                               "--formats LIST or --mantissa A:B");
        } else if (strcmp(name, "records") == 0) {
            return usage_error("--records: a sweep passes --records "
                               "metrics, or full with --keep-records");
        } else if (nfi_train_option_known(name)) {
            char tok[80];
            snprintf(tok, sizeof tok, "--%s", name);
            push(&a->train, &a->n_train, tok);
            push(&a->train, &a->n_train, value);
        } else {
            return usage_error("unknown option '%s': neither an option of "
                               "nfi sweep nor of nfi train (see 'nfi help "
                               "sweep')", arg);
        }
    }
    if (c->out == NULL)
        return usage_error("--out DIR is required (see 'nfi help sweep')");
    if (jobs != NULL && (!parse_long(jobs, &c->jobs) || c->jobs < 1 ||
                         c->jobs > 1024))
        return usage_error("--jobs '%s' is not a whole number from 1 to "
                           "1024", jobs);
    if (c->merging) {
        if (c->n_merge == 0)
            return usage_error("--merge needs the shard directories");
        if (formats || mantissa || a->n_vary || shard || a->n_train ||
            a->find_threshold)
            return usage_error("--merge takes the shards' own arguments "
                               "from their sweep.json: give only the "
                               "shard directories and --out");
        return 0;
    }
    if ((formats != NULL) == (mantissa != NULL))
        return usage_error("give one of --formats LIST and --mantissa "
                           "A:B[:STEP]");
    if (formats != NULL) {
        if (bits || emin || emax)
            return usage_error("--exponent-bits, --emin and --emax go with "
                               "--mantissa; --formats names whole formats");
        split_formats(formats, a);
        if (a->n_formats == 0)
            return usage_error("--formats '%s' lists no format", formats);
        for (size_t i = 0; i < a->n_formats; i++) {
            nfi_format f;
            nfi_error err;
            if (nfi_format_parse(a->formats[i], &f, &err) != 0)
                return usage_error("--formats: %s", err.message);
        }
    } else {
        long lo, hi, st = 1;
        char *copy = dup_text(mantissa), *p1 = strchr(copy, ':');
        bool ok = p1 != NULL;
        if (ok) {
            *p1++ = '\0';
            char *p2 = strchr(p1, ':');
            if (p2 != NULL) {
                *p2++ = '\0';
                ok = parse_long(p2, &st);
            }
            ok = ok && parse_long(copy, &lo) && parse_long(p1, &hi);
        }
        free(copy);
        if (!ok)
            return usage_error("--mantissa '%s': write A:B or A:B:STEP, "
                               "whole numbers (e.g. 8:32)", mantissa);
        if (lo < 2 || hi > 53 || lo > hi || st < 1)
            return usage_error("--mantissa '%s': need 2 <= A <= B <= 53 "
                               "(training runs inside binary64) and STEP "
                               ">= 1", mantissa);
        a->mantissa = true;
        a->p_lo = lo;
        a->p_hi = hi - (hi - lo) % st;
        a->p_step = st;
        if (bits && (emin || emax))
            return usage_error("give --exponent-bits E or --emin X --emax "
                               "Y, not both");
        if (bits) {
            long e;
            if (!parse_long(bits, &e) || e < 2 || e > 11)
                return usage_error("--exponent-bits '%s': a whole number "
                                   "from 2 to 11 (binary64 has 11)", bits);
            a->emax = (1L << (e - 1)) - 1;
            a->emin = 1 - a->emax;
        } else if (emin || emax) {
            if (!emin || !emax)
                return usage_error("give both --emin and --emax");
            if (!parse_long(emin, &a->emin) || !parse_long(emax, &a->emax))
                return usage_error("--emin '%s' / --emax '%s': whole "
                                   "numbers", emin, emax);
        }
        char spec[96];
        nfi_format f;
        nfi_error err;
        snprintf(spec, sizeof spec, "p=%ld,emin=%ld,emax=%ld", a->p_lo,
                 a->emin, a->emax);
        if (nfi_format_parse(spec, &f, &err) != 0)
            return usage_error("the exponent range: %s", err.message);
    }
    if (shard != NULL) {
        const char *slash = strchr(shard, '/');
        char ib[32];
        size_t len = slash ? (size_t)(slash - shard) : 0;
        bool ok = slash != NULL && len > 0 && len < sizeof ib;
        if (ok) {
            memcpy(ib, shard, len);
            ib[len] = '\0';
            ok = parse_long(ib, &a->shard_i) &&
                 parse_long(slash + 1, &a->shard_n);
        }
        if (!ok || a->shard_n < 1 || a->shard_i < 0 ||
            a->shard_i >= a->shard_n)
            return usage_error("--shard '%s': write I/N with 0 <= I < N "
                               "(e.g. 0/3, 1/3, 2/3)", shard);
    }
    if (a->find_threshold) {
        if (!a->mantissa)
            return usage_error("--find-threshold searches in p: give "
                               "--mantissa A:B");
        if (a->n_vary > 0)
            return usage_error("--find-threshold finds one threshold: "
                               "leave out --vary (run one search per "
                               "value)");
        if (a->shard_n > 1)
            return usage_error("--find-threshold decides each probe from "
                               "the ones before: it cannot be sharded");
    }
    return 0;
}

/* ---- Workers ---- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

typedef struct job {
    pid_t pid;
    size_t run;
    bool resume;
} job;

typedef struct sweep_ctx {
    const sweep_args *a;
    const sweep_plan *plan;
    const char *out;
    char self[PATH_MAX];
    long jobs;
    bool force;
    bool *started;        /* (plan->n): launched by this process */
    bool tty;
    size_t total, done;   /* of this process's share */
    size_t finished_here; /* runs finished by workers of this process */
    double start;
} sweep_ctx;

static void run_dir(const sweep_ctx *x, size_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/runs/%s", x->out, x->plan->runs[i].name);
}

/* Starts the worker of run i: nfi train, fresh (with --force when
 * force) or resumed.  Returns its pid, or -1 (message printed). */
static pid_t launch(const sweep_ctx *x, size_t i, bool resume, bool force)
{
    const sweep_args *a = x->a;
    const sweep_run *r = &x->plan->runs[i];
    char dir[4096], log[4200];
    run_dir(x, i, dir, sizeof dir);
    snprintf(log, sizeof log, "%s.log", dir);
    size_t cap = a->n_train + 2 * a->n_vary + 16, n = 0;
    char **argv = calloc(cap, sizeof *argv);
    char (*flags)[80] = calloc(a->n_vary + 1, sizeof *flags);
    if (argv == NULL || flags == NULL)
        abort();
    argv[n++] = (char *)"nfi";
    argv[n++] = (char *)"train";
    if (resume) {
        argv[n++] = (char *)"--resume";
        argv[n++] = dir;
    } else {
        for (size_t k = 0; k < a->n_train; k++)
            argv[n++] = a->train[k];
        argv[n++] = (char *)"--format";
        argv[n++] = r->format;
        for (size_t v = 0; v < a->n_vary; v++) {
            snprintf(flags[v], sizeof flags[v], "--%s", a->vary[v].name);
            argv[n++] = flags[v];
            argv[n++] = a->vary[v].values[r->value[v]];
        }
        argv[n++] = (char *)"--records";
        argv[n++] = (char *)(a->keep_records ? "full" : "metrics");
        argv[n++] = (char *)"--out";
        argv[n++] = dir;
        if (force)
            argv[n++] = (char *)"--force";
    }
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Its own process group: a terminal's SIGINT reaches the sweep,
         * which stops the workers itself. */
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | (resume ? O_APPEND
                                                        : O_TRUNC), 0666);
        int in = open("/dev/null", O_RDONLY);
        if (fd < 0 || in < 0) {
            fprintf(stderr, "nfi sweep: cannot open '%s': %s\n", log,
                    strerror(errno));
            _exit(127);
        }
        dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        close(in);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(x->self, argv);
        fprintf(stderr, "nfi sweep: cannot start '%s': %s\n", x->self,
                strerror(errno));
        _exit(127);
    }
    free(argv);
    free(flags);
    if (pid < 0)
        fprintf(stderr, "nfi sweep: cannot start a worker: %s\n",
                strerror(errno));
    return pid;
}

/* Prints the first lines of a worker's log on standard error. */
static void show_log(const sweep_ctx *x, size_t i)
{
    char dir[4096], log[4200], line[1024];
    run_dir(x, i, dir, sizeof dir);
    snprintf(log, sizeof log, "%s.log", dir);
    FILE *f = fopen(log, "r");
    if (f == NULL)
        return;
    for (int k = 0; k < 20 && fgets(line, sizeof line, f); k++)
        fprintf(stderr, "  %s", line);
    fclose(f);
}

static void progress(const sweep_ctx *x, size_t running, bool final)
{
    if (!x->tty)
        return;
    double el = nfi_cli_now_seconds() - x->start;
    double rate = el > 0 ? (double)x->finished_here / el : 0;
    size_t left = x->total - x->done;
    char tl[32];
    nfi_cli_format_duration(tl, sizeof tl,
                            rate > 0 ? (double)left / rate : NAN);
    fprintf(stderr, "\r\033[Ksweep: %zu/%zu runs done, %zu running, "
            "%.1f runs/h, %s left", x->done, x->total, running,
            rate * 3600, tl);
    if (final)
        fputs("\r\033[K", stderr);
}

/* What to do with run i when its turn comes: 0 nothing (finished),
 * 1 start fresh, 2 resume, 3 start fresh over what is there. */
static int run_action(const sweep_ctx *x, size_t i)
{
    char dir[4096];
    run_dir(x, i, dir, sizeof dir);
    struct stat st;
    if (stat(dir, &st) != 0)
        return 1;
    if (x->force && !x->started[i])
        return 3;
    nfi_run_status rs;
    if (nfi_status_read(dir, &rs, NULL, 0, NULL) != 0)
        return 3;
    if (rs == NFI_RUN_COMPLETE || rs == NFI_RUN_FAILED)
        return 0;
    return 2;
}

/* Runs the runs idx[0..n) with up to x->jobs workers.  Returns 0 when
 * every one finished (complete or failed), 1 when the sweep was stopped
 * or a worker could not run, 2 when nfi train refused its options. */
static int run_batch(sweep_ctx *x, const size_t *idx, size_t n)
{
    job *jobs = calloc((size_t)x->jobs, sizeof *jobs);
    if (jobs == NULL)
        abort();
    size_t next = 0, running = 0;
    int status = 0;
    double last = 0;
    for (;;) {
        while (status == 0 && stop_signal == 0 && next < n &&
               running < (size_t)x->jobs) {
            size_t i = idx[next++];
            int act = run_action(x, i);
            if (act == 0) {
                x->done++;
                continue;
            }
            pid_t pid = launch(x, i, act == 2, act == 3);
            if (pid < 0) {
                status = 1;
                break;
            }
            x->started[i] = true;
            size_t k = 0;
            while (jobs[k].pid != 0)
                k++;
            jobs[k] = (job){pid, i, act == 2};
            running++;
        }
        if (running == 0)
            break;
        int ws;
        pid_t pid = waitpid(-1, &ws, WNOHANG);
        if (pid < 0 && errno != EINTR) {
            fprintf(stderr, "nfi sweep: waiting for the workers: %s\n",
                    strerror(errno));
            status = 1;
            break;
        }
        if (pid <= 0) {
            if (stop_signal != 0) {
                for (int k = 0; k < x->jobs; k++)
                    if (jobs[k].pid > 0)
                        kill(jobs[k].pid, SIGINT);
            }
            double t = nfi_cli_now_seconds();
            if (t - last >= 0.5) {
                progress(x, running, false);
                last = t;
            }
            struct timespec d = {0, 50000000};
            nanosleep(&d, NULL);
            continue;
        }
        size_t k = 0;
        while (k < (size_t)x->jobs && jobs[k].pid != pid)
            k++;
        if (k == (size_t)x->jobs)
            continue;
        job jb = jobs[k];
        jobs[k].pid = 0;
        running--;
        int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
        if (code == 2 && jb.resume && stop_signal == 0) {
            /* No checkpoint to resume from: start it again. */
            pid_t p2 = launch(x, jb.run, false, true);
            if (p2 < 0) {
                status = 1;
                continue;
            }
            jobs[k] = (job){p2, jb.run, false};
            running++;
            continue;
        }
        if (code == 2) {
            if (status == 0) {
                fprintf(stderr, "%snfi sweep: nfi train refused the "
                        "options of run %s:\n", x->tty ? "\r\033[K" : "",
                        x->plan->runs[jb.run].name);
                show_log(x, jb.run);
            }
            status = 2;
            continue;
        }
        char dir[4096];
        run_dir(x, jb.run, dir, sizeof dir);
        nfi_run_status rs;
        if (nfi_status_read(dir, &rs, NULL, 0, NULL) == 0 &&
            (rs == NFI_RUN_COMPLETE || rs == NFI_RUN_FAILED)) {
            x->done++;
            x->finished_here++;
            continue;
        }
        if (stop_signal == 0 && status == 0) {
            fprintf(stderr, "%snfi sweep: the worker of run %s ended "
                    "without finishing it (exit status %d):\n",
                    x->tty ? "\r\033[K" : "", x->plan->runs[jb.run].name,
                    code);
            show_log(x, jb.run);
            status = 1;
        }
    }
    progress(x, 0, true);
    free(jobs);
    if (status == 0 && stop_signal != 0)
        status = 1;
    return status;
}

/* ---- MPI ---- */

/* The rank and size when started by mpirun; 0 and 1 otherwise.  MPI is
 * started only when the environment says mpirun started this process,
 * so that nfi alone never initialises it. */
static int mpi_rank, mpi_size = 1;

static bool started_by_mpirun(void)
{
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    if (s == NULL)
        s = getenv("PMI_SIZE");
    return s != NULL && atoi(s) > 1;
}

static int mpi_start(int *argc, char ***argv)
{
    if (!started_by_mpirun())
        return 0;
#ifdef NFI_HAVE_MPI
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
    return 0;
#else
    (void)argc;
    (void)argv;
    return usage_error("started by mpirun, but this nfi was built without "
                       "MPI (meson setup -Dmpi=enabled with OpenMPI "
                       "installed); every rank would run the whole sweep. "
                       " Use --shard I/N instead, or rebuild");
#endif
}

/* Waits for every rank without spinning a core: a non-blocking barrier
 * polled every 50 ms.  Returns the largest status of all ranks. */
static int mpi_join(int status)
{
#ifdef NFI_HAVE_MPI
    if (mpi_size > 1) {
        MPI_Request req;
        MPI_Ibarrier(MPI_COMM_WORLD, &req);
        int flag = 0;
        while (MPI_Test(&req, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS &&
               !flag) {
            struct timespec d = {0, 50000000};
            nanosleep(&d, NULL);
        }
        int all = status;
        MPI_Allreduce(&status, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        return all;
    }
#endif
    return status;
}

static void mpi_end(void)
{
#ifdef NFI_HAVE_MPI
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin)
        MPI_Finalize();
#endif
}

/* ---- The sweep ---- */

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return usage_error("cannot make the directory '%s': %s", path,
                           strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return usage_error("'%s' is not a directory", path);
    return 0;
}

/* Reads the rows of the listed runs (of dir/runs). */
static int read_rows(const char *dir, const sweep_plan *plan,
                     const bool *listed, sweep_row *rows)
{
    for (size_t i = 0; i < plan->n; i++) {
        if (!listed[i]) {
            sweep_row_read("", &rows[i], NULL);
            continue;
        }
        char path[4096];
        nfi_error err;
        snprintf(path, sizeof path, "%s/runs/%s", dir, plan->runs[i].name);
        if (sweep_row_read(path, &rows[i], &err) != 0) {
            fprintf(stderr, "nfi sweep: run %s: %s\n", plan->runs[i].name,
                    err.message);
            return 1;
        }
    }
    return 0;
}

/* The bisection of --find-threshold over the grid of p.  Probes the two
 * ends, then x->jobs points a round between the largest unstable p and
 * the smallest stable one. */
static int find_threshold(sweep_ctx *x, sweep_row *rows, bool *listed,
                          sweep_threshold *th)
{
    const sweep_plan *plan = x->plan;
    size_t n = plan->n;
    th->probes = calloc(n, sizeof *th->probes);
    if (th->probes == NULL)
        abort();
    th->have = true;
    th->p_spike = th->p_calm = -1;
    size_t todo[1024];
    size_t lo = 0, hi = n - 1; /* grid indices */
    size_t nt = 0;
    todo[nt++] = lo;
    if (hi != lo)
        todo[nt++] = hi;
    x->total = n;
    for (;;) {
        int rc = run_batch(x, todo, nt);
        for (size_t k = 0; k < nt; k++) {
            listed[todo[k]] = true;
            th->probes[th->n_probes++] = todo[k];
        }
        if (rc != 0) {
            snprintf(th->verdict, sizeof th->verdict, "The search stopped "
                     "before its end; the same command continues it.");
            return rc;
        }
        if (read_rows(x->out, plan, listed, rows) != 0)
            return 1;
        for (size_t k = 0; k < nt; k++)
            printf("probe p=%ld: %s%s (%s)\n", plan->runs[todo[k]].p,
                   sweep_row_unstable(&rows[todo[k]]) ? "unstable" :
                   "stable", rows[todo[k]].first_spike >= 0 ? ", spike" :
                   "", rows[todo[k]].status);
        fflush(stdout);
        bool ulo = sweep_row_unstable(&rows[lo]);
        bool uhi = sweep_row_unstable(&rows[hi]);
        if (th->n_probes == nt) {
            if (ulo && uhi) {
                th->p_spike = plan->runs[hi].p;
                snprintf(th->verdict, sizeof th->verdict, "No threshold "
                         "in range: the largest p (%ld) is unstable too.",
                         plan->runs[hi].p);
                return 0;
            }
            if (!ulo && !uhi) {
                th->p_calm = plan->runs[lo].p;
                snprintf(th->verdict, sizeof th->verdict, "No threshold "
                         "in range: the smallest p (%ld) is stable too.",
                         plan->runs[lo].p);
                return 0;
            }
            if (!ulo && uhi) {
                snprintf(th->verdict, sizeof th->verdict, "Not monotone "
                         "in p: the smallest p (%ld) is stable and the "
                         "largest (%ld) is not; no bisection.",
                         plan->runs[lo].p, plan->runs[hi].p);
                return 0;
            }
        } else {
            /* Narrow to the innermost unstable/stable pair. */
            size_t nlo = lo, nhi = hi;
            for (size_t k = lo; k <= hi; k++) {
                if (!listed[k])
                    continue;
                if (sweep_row_unstable(&rows[k]))
                    nlo = k;
            }
            for (size_t k = hi + 1; k-- > nlo + 1;)
                if (listed[k] && !sweep_row_unstable(&rows[k]))
                    nhi = k;
            lo = nlo;
            hi = nhi > lo ? nhi : hi;
        }
        if (hi - lo <= 1)
            break;
        nt = 0;
        size_t gap = hi - lo;
        size_t want = (size_t)x->jobs < gap - 1 ? (size_t)x->jobs : gap - 1;
        for (size_t k = 1; k <= want; k++) {
            size_t g = lo + k * gap / (want + 1);
            if (g > lo && g < hi && !listed[g] && (nt == 0 ||
                                                   todo[nt - 1] != g))
                todo[nt++] = g;
        }
        if (nt == 0)
            break;
    }
    th->p_spike = plan->runs[lo].p;
    th->p_calm = plan->runs[hi].p;
    snprintf(th->verdict, sizeof th->verdict, "Largest p with a spike (or "
             "failure): %ld; smallest p without: %ld.", th->p_spike,
             th->p_calm);
    return 0;
}

static int do_sweep(sweep_cmd *c)
{
    sweep_args *a = &c->a;
    sweep_plan plan;
    nfi_error err;
    if (sweep_plan_make(a, &plan, &err) != 0)
        return usage_error("%s", err.message);
    if (mpi_size > 1 && a->shard_n > 1) {
        sweep_plan_free(&plan, a->n_vary);
        return usage_error("--shard and mpirun both split the runs: use "
                           "one of them");
    }
    if (mpi_size > 1 && a->find_threshold) {
        sweep_plan_free(&plan, a->n_vary);
        return usage_error("--find-threshold runs in one process (with "
                           "--jobs workers), not under mpirun");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/sweep.json", c->out);
    int status = 0;
    if (mpi_rank == 0) {
        char runs[4096];
        snprintf(runs, sizeof runs, "%s/runs", c->out);
        status = make_dir(c->out);
        if (status == 0)
            status = make_dir(runs);
        struct stat st;
        if (status == 0 && stat(path, &st) == 0) {
            char diff[2200];
            int same = sweep_json_same(path, a, false, diff, sizeof diff,
                                       &err);
            if (same < 0 && !c->force)
                status = usage_error("%s (--force starts the sweep "
                                     "again)", err.message);
            else if (same == 0 && !c->force)
                status = usage_error("'%s' holds a sweep with other "
                                     "arguments: %s.  Give the same "
                                     "arguments to continue it, another "
                                     "--out, or --force to run every run "
                                     "again", c->out, diff);
        }
        if (status == 0 && sweep_json_write(c->out, a, &plan, &err) != 0) {
            fprintf(stderr, "nfi sweep: %s\n", err.message);
            status = 1;
        }
    }
    status = mpi_join(status);
    if (status != 0) {
        sweep_plan_free(&plan, a->n_vary);
        return status;
    }

    sweep_ctx x;
    memset(&x, 0, sizeof x);
    x.a = a;
    x.plan = &plan;
    x.out = c->out;
    x.force = c->force;
    x.tty = isatty(2) && mpi_size == 1;
    x.start = nfi_cli_now_seconds();
    ssize_t len = readlink("/proc/self/exe", x.self, sizeof x.self - 1);
    if (len <= 0) {
        sweep_plan_free(&plan, a->n_vary);
        fprintf(stderr, "nfi sweep: cannot find this program's path "
                "(/proc/self/exe): %s\n", strerror(errno));
        return 1;
    }
    x.self[len] = '\0';
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    x.jobs = c->jobs > 0 ? c->jobs
                         : (cpus / mpi_size > 0 ? cpus / mpi_size : 1);
    x.started = calloc(plan.n ? plan.n : 1, sizeof *x.started);
    bool *listed = calloc(plan.n ? plan.n : 1, sizeof *listed);
    size_t *idx = calloc(plan.n ? plan.n : 1, sizeof *idx);
    sweep_row *rows = calloc(plan.n ? plan.n : 1, sizeof *rows);
    if (x.started == NULL || listed == NULL || idx == NULL || rows == NULL)
        abort();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    sweep_threshold th;
    memset(&th, 0, sizeof th);
    if (a->find_threshold) {
        status = find_threshold(&x, rows, listed, &th);
    } else {
        size_t n = 0;
        for (size_t i = 0; i < plan.n; i++) {
            listed[i] = sweep_in_shard(i, a->shard_i, a->shard_n);
            if (sweep_in_shard(i, mpi_rank, mpi_size) && listed[i])
                idx[n++] = i;
        }
        x.total = n;
        sweep_order_longest_first(&plan, idx, n);
        status = run_batch(&x, idx, n);
    }
    status = mpi_join(status);
    if (mpi_rank == 0 && status != 2) {
        int rc = read_rows(c->out, &plan, listed, rows);
        if (rc == 0 && a->find_threshold && th.have &&
            sweep_threshold_write(c->out, &plan, rows, &th, &err) != 0)
            rc = 1;
        if (rc == 0 && sweep_summary_write(c->out, a, &plan, rows, listed,
                                           &th, &err) != 0)
            rc = 1;
        if (rc != 0 && err.message[0] != '\0')
            fprintf(stderr, "nfi sweep: %s\n", err.message);
        if (rc != 0)
            status = 1;
        size_t nl = 0, nd = 0;
        for (size_t i = 0; i < plan.n; i++)
            if (listed[i]) {
                nl++;
                nd += sweep_row_done(&rows[i]);
            }
        if (status == 0)
            printf("nfi sweep: %zu runs finished; %s/summary.csv and "
                   "summary.md written\n", nd, c->out);
        else if (stop_signal != 0)
            fprintf(stderr, "nfi sweep: stopped with %zu of %zu runs "
                    "finished; the same command continues the sweep "
                    "(summary.md lists the runs so far)\n", nd, nl);
        if (th.have)
            printf("threshold: %s\n", th.verdict);
        size_t pairs[2 * 8];
        size_t np = a->mantissa ? sweep_nonmonotone(a, &plan, rows, listed,
                                                   pairs, 8) : 0;
        for (size_t k = 0; k < np && k < 8; k++)
            printf("not monotone in p: %s (p=%ld) has no spike, %s "
                   "(p=%ld) has one\n", plan.runs[pairs[2 * k]].name,
                   plan.runs[pairs[2 * k]].p,
                   plan.runs[pairs[2 * k + 1]].name,
                   plan.runs[pairs[2 * k + 1]].p);
    }
    free(th.probes);
    free(x.started);
    free(listed);
    free(idx);
    free(rows);
    sweep_plan_free(&plan, a->n_vary);
    return status;
}

/* ---- --merge ---- */

static int do_merge(sweep_cmd *c)
{
    nfi_error err;
    sweep_args first;
    char path[4096];
    snprintf(path, sizeof path, "%s/sweep.json", c->merge[0]);
    if (sweep_json_read(path, &first, &err) != 0)
        return usage_error("--merge: '%s' is not a sweep directory: %s",
                           c->merge[0], err.message);
    int status = 0;
    long n_shards = first.shard_n;
    bool *seen = calloc((size_t)n_shards, sizeof *seen);
    if (seen == NULL)
        abort();
    for (size_t k = 0; k < c->n_merge && status == 0; k++) {
        snprintf(path, sizeof path, "%s/sweep.json", c->merge[k]);
        sweep_args s;
        if (sweep_json_read(path, &s, &err) != 0) {
            status = usage_error("--merge: '%s' is not a sweep directory: "
                                 "%s", c->merge[k], err.message);
            break;
        }
        char diff[2200];
        int same = sweep_json_same(path, &first, true, diff, sizeof diff,
                                   &err);
        if (same != 1)
            status = usage_error("--merge: '%s' is not a shard of the same "
                                 "sweep as '%s': %s", c->merge[k],
                                 c->merge[0], same < 0 ? err.message
                                                       : diff);
        else if (s.shard_n != n_shards)
            status = usage_error("--merge: '%s' is shard %ld/%ld, '%s' one "
                                 "of %ld", c->merge[k], s.shard_i,
                                 s.shard_n, c->merge[0], n_shards);
        else if (seen[s.shard_i])
            status = usage_error("--merge: shard %ld/%ld is given twice "
                                 "('%s')", s.shard_i, s.shard_n,
                                 c->merge[k]);
        else
            seen[s.shard_i] = true;
        sweep_args_free(&s);
    }
    sweep_plan plan = {0, NULL};
    if (status == 0 && sweep_plan_make(&first, &plan, &err) != 0)
        status = usage_error("--merge: %s", err.message);
    sweep_row *rows = calloc(plan.n ? plan.n : 1, sizeof *rows);
    bool *listed = calloc(plan.n ? plan.n : 1, sizeof *listed);
    char **from = calloc(plan.n ? plan.n : 1, sizeof *from);
    if (rows == NULL || listed == NULL || from == NULL)
        abort();
    /* Each run from the shard it belongs to, when that shard is given. */
    size_t missing = 0;
    char list[2048] = "";
    for (size_t i = 0; i < plan.n && status == 0; i++) {
        listed[i] = true;
        for (size_t k = 0; k < c->n_merge && from[i] == NULL; k++) {
            snprintf(path, sizeof path, "%s/runs/%s", c->merge[k],
                     plan.runs[i].name);
            sweep_row r;
            if (sweep_row_read(path, &r, &err) != 0) {
                status = usage_error("--merge: run %s: %s",
                                     plan.runs[i].name, err.message);
                break;
            }
            if (sweep_row_done(&r)) {
                from[i] = realpath(path, NULL);
                rows[i] = r;
            }
        }
        if (status == 0 && from[i] == NULL) {
            missing++;
            size_t l = strlen(list);
            if (l < sizeof list - 200)
                snprintf(list + l, sizeof list - l, "%s%s",
                         missing > 1 ? ", " : "", plan.runs[i].name);
        }
    }
    if (status == 0 && missing > 0) {
        long absent = 0;
        for (long s = 0; s < n_shards; s++)
            absent += !seen[s];
        status = usage_error("--merge: %zu of %zu runs are not finished in "
                             "the shards given (%s)%s", missing, plan.n,
                             list, absent > 0 ? "; some shards are not "
                             "given" : "; finish them by running their "
                             "shards again");
    }
    if (status == 0) {
        first.shard_i = 0;
        first.shard_n = 1;
        char runs[2048];
        snprintf(runs, sizeof runs, "%s/runs", c->out);
        status = make_dir(c->out);
        if (status == 0)
            status = make_dir(runs);
        struct stat st;
        snprintf(path, sizeof path, "%s/sweep.json", c->out);
        if (status == 0 && stat(path, &st) == 0 && !c->force) {
            char diff[2200];
            int same = sweep_json_same(path, &first, false, diff,
                                       sizeof diff, &err);
            if (same != 1)
                status = usage_error("--out '%s' holds another sweep (%s); "
                                     "--force replaces it", c->out,
                                     same < 0 ? err.message : diff);
        }
        for (size_t i = 0; i < plan.n && status == 0; i++) {
            snprintf(path, sizeof path, "%s/%s", runs, plan.runs[i].name);
            char *here = realpath(path, NULL);
            bool same_dir = here != NULL && strcmp(here, from[i]) == 0;
            free(here);
            if (same_dir)
                continue;
            if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
                unlink(path);
            if (symlink(from[i], path) != 0) {
                fprintf(stderr, "nfi sweep: cannot link '%s' to '%s': %s\n",
                        path, from[i], strerror(errno));
                status = 1;
            }
        }
        if (status == 0 &&
            (sweep_json_write(c->out, &first, &plan, &err) != 0 ||
             sweep_summary_write(c->out, &first, &plan, rows, listed, NULL,
                                 &err) != 0)) {
            fprintf(stderr, "nfi sweep: %s\n", err.message);
            status = 1;
        }
        if (status == 0)
            printf("nfi sweep: %zu shards merged, %zu runs; %s/summary.csv "
                   "and summary.md written\n", c->n_merge, plan.n, c->out);
    }
    for (size_t i = 0; i < plan.n; i++)
        free(from[i]);
    free(from);
    free(rows);
    free(listed);
    free(seen);
    sweep_plan_free(&plan, first.n_vary);
    sweep_args_free(&first);
    return status;
}

int nfi_cmd_sweep(int argc, char **argv)
{
    sweep_cmd c;
    memset(&c, 0, sizeof c);
    int status = parse_args(argc, argv, &c);
    if (status == 0 && !c.merging)
        status = mpi_start(&argc, &argv);
    if (status == 0)
        status = c.merging ? do_merge(&c) : do_sweep(&c);
    if (!c.merging)
        mpi_end();
    sweep_args_free(&c.a);
    for (size_t i = 0; i < c.n_merge; i++)
        free(c.merge[i]);
    free(c.merge);
    return status < 0 ? 0 : status;
}
