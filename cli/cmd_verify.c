/* nfi verify: the claims C1 to C7 of the absorption mechanism checked on
 * a run directory (verify/claims.h), printed as a table and written to
 * verify.json and verify.md in the run directory. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "claims.h"
#include "cli.h"
#include "trace/atomic.h"
#include "trace/json.h"
#include "trace/rundir.h"

static const char verify_usage[] =
"Usage: nfi verify RUNDIR [--control RUNDIR]...\n"
"\n"
"Checks the claims of the absorption mechanism on the run directory\n"
"RUNDIR written by 'nfi train', and prints one row per claim: its id,\n"
"the claim in words, PASS, FAIL or N/A (the data it needs are missing,\n"
"with the reason), and the figures behind the verdict.  The same table\n"
"goes to RUNDIR/verify.md, and every figure, named, to RUNDIR/verify.json\n"
"(each written atomically).  A claim that fails is a result, not an\n"
"error: the exit status is 0 whatever the verdicts.\n"
"\n"
"  C1 threshold  the recorded absorbed flag of every sample at every\n"
"                logged step equals the exact predicate (MPFR) on its\n"
"                recorded logits; the share ln((K-1) 2^p) explains\n"
"  C2 window     absorbed samples keep non-zero wrong-class gradients\n"
"                below the underflow threshold\n"
"  C3 zero-sum   the exact residual is 0 before the onset and equals the\n"
"                absorbed samples' residual masses over N after it\n"
"  C4 drift      the drift of the classifier-row mean against the\n"
"                residual-driven prediction\n"
"  C5 growth     |w_bar| and |mu_G| grow by 10x in the window after the\n"
"                onset and not before: rates, R^2, power-law and\n"
"                quadratic fits, the local rate across the window\n"
"  C6 spike      a loss spike ends the window and gradients reappear\n"
"  C7 control    each --control run shows no absorption, growth or spike\n"
"                over the same steps\n"
"Windows are found in metrics.csv: the onset is the first logged step\n"
"with absorbed_frac > 0; the window ends at the first spike after it\n"
"(train/runlog.h's rule) whose loss exceeds the loss at the onset, or at\n"
"the last logged step.  Every threshold is printed with the claim that\n"
"applies it; verify/README.md defines each claim.\n"
"\n"
"Options:\n"
"  --control RUNDIR   a control run from the same start (higher\n"
"                     precision, binary64 logits, a larger Adam eps);\n"
"                     may be repeated\n"
"  -h, --help         this text\n"
"\n"
"Exit status: 0 when the claims were checked, 1 when a run directory\n"
"cannot be read (a damaged metrics.csv, config.json or record), 2 for a\n"
"usage error (also a path that is not a run directory).\n"
"\n"
"Example:\n"
"  nfi train --task add --modulus 7 --hidden 16 --steps 2000 \\\n"
"      --log-every 10 --format bf16 --lr 0.05 --out run-bf16\n"
"  nfi train --config run-bf16/config.json --format binary64 \\\n"
"      --out run-b64\n"
"  nfi verify run-bf16 --control run-b64\n";

/* Short forms of the claims for the terminal table. */
static const char *const short_claim[NFI_CLAIMS] = {
    "absorbed flag = exact predicate on the logits",
    "wrong-class gradients non-zero when absorbed",
    "residual 0 before onset, = residual masses after",
    "w_bar drift = residual-driven prediction",
    "|w_bar|, |mu_G| grow after onset, not before",
    "loss spike ends the window, gradients reappear",
    "controls: no absorption, growth or spike",
};

/* Prints text wrapped at width columns, every line indented by indent
 * spaces but the first (which continues at column `at`). */
static void wrap(FILE *f, const char *text, int indent, int at, int width)
{
    int col = at;
    const char *p = text;
    while (*p != 0) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e != 0 && *e != ' ')
            e++;
        int len = (int)(e - p);
        if (len == 0)
            break;
        if (col > indent && col + 1 + len > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent || (col == at && at > indent)) {
            if (col != at) {
                fputc(' ', f);
                col++;
            }
        }
        fwrite(p, 1, (size_t)len, f);
        col += len;
        p = e;
    }
    fputc('\n', f);
}

static void print_windows(FILE *f, const nfi_verify_report *r)
{
    fprintf(f, "%zu logged steps; ", r->logged_steps);
    if (r->onset < 0)
        fprintf(f, "no absorption onset, no growth window\n");
    else
        fprintf(f, "absorption onset at step %ld, growth window %ld..%ld"
                "%s\n", r->onset, r->onset, r->window_end,
                r->spike >= 0 ? " (ended by a spike)"
                              : " (to the last logged step)");
}

static void print_table(const char *dir, const nfi_verify_report *r)
{
    printf("nfi verify %s: ", dir);
    print_windows(stdout, r);
    printf("\n%-3s %-9s %-48s %s\n", "id", "claim", "in words", "verdict");
    for (int i = 0; i < NFI_CLAIMS; i++) {
        const nfi_claim *c = &r->claim[i];
        printf("%-3s %-9s %-48s %s\n", c->id, c->name, short_claim[i],
               nfi_verdict_name(c->verdict));
        printf("    ");
        wrap(stdout, c->evidence, 4, 4, 78);
        char thr[512] = "";
        size_t len = 0;
        for (size_t k = 0; k < c->nfig; k++)
            if (c->fig[k].threshold && len < sizeof thr)
                len += (size_t)snprintf(thr + len, sizeof thr - len,
                                        "%s%s = %.6g", len ? ", " : "",
                                        c->fig[k].name, c->fig[k].value);
        if (len > 0) {
            printf("    thresholds: ");
            wrap(stdout, thr, 6, 16, 78);
        }
    }
}

static void json_fig(nfi_json_writer *j, const nfi_claim_fig *f)
{
    nfi_json_key(j, f->name);
    if (f->text[0] != 0)
        nfi_json_string(j, f->text);
    else
        nfi_json_double(j, f->value);
}

static int write_json(const char *dir, const char *const *controls,
                      size_t nc, const nfi_verify_report *r,
                      nfi_error *err)
{
    nfi_json_writer *j = nfi_json_writer_new();
    if (j == NULL)
        return nfi_error_set(err, "out of memory writing verify.json");
    nfi_json_begin_object(j);
    nfi_json_key(j, "run");
    nfi_json_string(j, dir);
    nfi_json_key(j, "controls");
    nfi_json_begin_array(j);
    for (size_t i = 0; i < nc; i++)
        nfi_json_string(j, controls[i]);
    nfi_json_end_array(j);
    nfi_json_key(j, "logged_steps");
    nfi_json_uint(j, r->logged_steps);
    nfi_json_key(j, "windows");
    nfi_json_begin_object(j);
    const char *wk[3] = {"onset", "window_end", "end_spike"};
    long wv[3] = {r->onset, r->window_end, r->spike};
    for (int k = 0; k < 3; k++) {
        nfi_json_key(j, wk[k]);
        if (wv[k] >= 0)
            nfi_json_int(j, wv[k]);
        else
            nfi_json_null(j);
    }
    nfi_json_end_object(j);
    nfi_json_key(j, "claims");
    nfi_json_begin_array(j);
    for (int i = 0; i < NFI_CLAIMS; i++) {
        const nfi_claim *c = &r->claim[i];
        nfi_json_begin_object(j);
        nfi_json_key(j, "id");
        nfi_json_string(j, c->id);
        nfi_json_key(j, "name");
        nfi_json_string(j, c->name);
        nfi_json_key(j, "claim");
        nfi_json_string(j, c->statement);
        nfi_json_key(j, "verdict");
        nfi_json_string(j, nfi_verdict_name(c->verdict));
        nfi_json_key(j, "evidence");
        nfi_json_string(j, c->evidence);
        nfi_json_key(j, "thresholds");
        nfi_json_begin_object(j);
        for (size_t k = 0; k < c->nfig; k++)
            if (c->fig[k].threshold)
                json_fig(j, &c->fig[k]);
        nfi_json_end_object(j);
        nfi_json_key(j, "figures");
        nfi_json_begin_object(j);
        for (size_t k = 0; k < c->nfig; k++)
            if (!c->fig[k].threshold)
                json_fig(j, &c->fig[k]);
        nfi_json_end_object(j);
        nfi_json_end_object(j);
    }
    nfi_json_end_array(j);
    nfi_json_end_object(j);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, NFI_RUNDIR_VERIFY_JSON);
    int rc = nfi_json_writer_save(j, path, err);
    nfi_json_writer_free(j);
    return rc;
}

/* A markdown table cell: '|' and newlines would break the row. */
static void md_cell(nfi_atomic_file *f, const char *s, nfi_error *err)
{
    for (; *s != 0; s++) {
        if (*s == '|')
            nfi_atomic_write(f, "\\|", 2, err);
        else if (*s == '\n')
            nfi_atomic_write(f, " ", 1, err);
        else
            nfi_atomic_write(f, s, 1, err);
    }
}

static int write_md(const char *dir, const char *const *controls,
                    size_t nc, const nfi_verify_report *r, nfi_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, NFI_RUNDIR_VERIFY_MD);
    nfi_atomic_file *f = nfi_atomic_open(path, err);
    if (f == NULL)
        return -1;
    nfi_atomic_printf(f, err, "# nfi verify\n\nRun: `%s`", dir);
    for (size_t i = 0; i < nc; i++)
        nfi_atomic_printf(f, err, "%s`%s`", i == 0 ? "; controls: " : ", ",
                          controls[i]);
    nfi_atomic_printf(f, err, "\n\n%zu logged steps; ", r->logged_steps);
    if (r->onset < 0)
        nfi_atomic_printf(f, err, "no absorption onset, no growth "
                          "window.\n\n");
    else
        nfi_atomic_printf(f, err, "absorption onset at step %ld, growth "
                          "window %ld..%ld%s.\n\n", r->onset, r->onset,
                          r->window_end, r->spike >= 0 ? ", ended by a "
                          "spike" : ", to the last logged step");
    nfi_atomic_printf(f, err, "| id | claim | verdict | figures |\n"
                      "|---|---|---|---|\n");
    for (int i = 0; i < NFI_CLAIMS; i++) {
        const nfi_claim *c = &r->claim[i];
        nfi_atomic_printf(f, err, "| %s | %s: ", c->id, c->name);
        md_cell(f, c->statement, err);
        nfi_atomic_printf(f, err, " | **%s** | ",
                          nfi_verdict_name(c->verdict));
        md_cell(f, c->evidence, err);
        for (size_t k = 0; k < c->nfig; k++) {
            if (!c->fig[k].threshold)
                continue;
            nfi_atomic_printf(f, err, "; threshold %s = %.6g",
                              c->fig[k].name, c->fig[k].value);
        }
        nfi_atomic_printf(f, err, " |\n");
    }
    nfi_atomic_printf(f, err, "\nEvery figure, named, is in verify.json; "
                      "the claims are defined in verify/README.md of "
                      "nfi.\n");
    return nfi_atomic_commit(f, err);
}

/* 0 when dir is a run directory; else prints why and returns 2. */
static int check_rundir(const char *dir, const char *what)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "nfi verify: %s '%s': %s\n", what, dir,
                strerror(errno));
        return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "nfi verify: %s '%s' is not a directory\n", what,
                dir);
        return 2;
    }
    nfi_run_status s;
    nfi_error err;
    if (nfi_status_read(dir, &s, NULL, 0, &err) != 0) {
        fprintf(stderr, "nfi verify: %s '%s' is not a run directory of "
                "'nfi train' (%s)\n", what, dir, err.message);
        return 2;
    }
    return 0;
}

int nfi_cmd_verify(int argc, char **argv)
{
    const char *dir = NULL;
    const char **controls = calloc((size_t)argc + 1, sizeof *controls);
    size_t nc = 0;
    int rc = 0;
    if (controls == NULL) {
        fprintf(stderr, "nfi verify: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(verify_usage, stdout);
            free(controls);
            return 0;
        } else if (strcmp(a, "--control") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nfi verify: --control needs a run "
                        "directory; see 'nfi verify --help'\n");
                rc = 2;
            } else {
                controls[nc++] = argv[++i];
            }
        } else if (strncmp(a, "--control=", 10) == 0) {
            controls[nc++] = a + 10;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "nfi verify: unknown option '%s'; see 'nfi "
                    "verify --help'\n", a);
            rc = 2;
        } else if (dir != NULL) {
            fprintf(stderr, "nfi verify: one run directory at a time "
                    "('%s' and '%s'); controls follow --control\n", dir, a);
            rc = 2;
        } else {
            dir = a;
        }
    }
    if (rc == 0 && dir == NULL) {
        fprintf(stderr, "nfi verify: name the run directory; see 'nfi "
                "verify --help'\n");
        rc = 2;
    }
    if (rc == 0)
        rc = check_rundir(dir, "run directory");
    for (size_t i = 0; i < nc && rc == 0; i++)
        rc = check_rundir(controls[i], "control");
    if (rc != 0) {
        free(controls);
        return rc;
    }

    nfi_verify_report *r = malloc(sizeof *r);
    nfi_error err;
    if (r == NULL) {
        fprintf(stderr, "nfi verify: out of memory\n");
        rc = 1;
    } else if (nfi_verify_claims(dir, controls, nc, r, &err) != 0) {
        fprintf(stderr, "nfi verify: %s\n", err.message);
        rc = 1;
    } else {
        print_table(dir, r);
        if (write_json(dir, controls, nc, r, &err) != 0 ||
            write_md(dir, controls, nc, r, &err) != 0) {
            fprintf(stderr, "nfi verify: %s\n", err.message);
            rc = 1;
        }
    }
    free(r);
    free(controls);
    return rc;
}
