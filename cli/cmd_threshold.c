/* nfi threshold: exact absorption and underflow thresholds of softmax
 * cross-entropy, per format, scheme and reduction order, found by
 * evaluating the verifier's predicates (verify/threshold.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "threshold.h"

static const char threshold_usage[] =
"Usage: nfi threshold --format F[,F...] --classes K [--scheme S]\n"
"                     [--order O] [--logit Z] [--label first|last]\n"
"                     [--batch N] [--round R] [--json]\n"
"\n"
"For each format, the logit margins at which rounding changes the\n"
"gradient of softmax cross-entropy, found exactly: the computed gradient\n"
"of one sample (every operation rounded into the format as 'nfi train'\n"
"evaluates it, with MPFR) is tested on the format's values of the\n"
"competing logit, and the boundary is located by bisection, with a\n"
"check that the answer does not change on 8 neighbours either side.\n"
"No closed formula is used; the usual ones are printed beside.\n"
"\n"
"The sample: correct logit z_y (--logit, default 0) and competitors\n"
"all equal to c = z_y - margin; the margin is z_y - c, exact.\n"
"\n"
"Rows of the table (one column per scheme):\n"
"  a  absorbed, 1 competitor: the smallest margin from which the\n"
"     computed correct-class gradient is exactly 0 (K = 2)\n"
"  b  absorbed, K-1 competitors: the same with K-1 equal competitors,\n"
"     summed in --order, the label placed by --label\n"
"  c  wrong classes 0: the smallest margin from which every wrong-class\n"
"     gradient is 0 too (K-1 competitors), with subnormals on and off\n"
"  d  rows a and b again for larger correct logits z_y = 1, 10, 100,\n"
"     1000, 10000 (those the format holds): lse forms m + log s, which\n"
"     rounds back to m when log s is below half an ulp of m, so its\n"
"     threshold falls as z_y grows\n"
"A cell reads 'at 0' when the predicate holds already at margin 0,\n"
"'never' when it fails even at the largest margin (about the largest\n"
"finite value), and ends in '*' when the neighbours of the boundary\n"
"disagree (the predicate is not monotone there).\n"
"\n"
"Below the table, each boundary exactly: the smallest margin where it\n"
"holds and the largest where it does not, in hexadecimal (values of the\n"
"format when z_y = 0) and decimal, and the difference from the closed\n"
"form: p ln 2 (a), ln((K-1) 2^p) (b), (p - emin) ln 2 and (1 - emin)\n"
"ln 2 (c, the margins at which exp(-margin) falls below half the\n"
"smallest positive value with and without subnormals).\n"
"\n"
"Options:\n"
"  --format F[,F...]  formats, e.g. binary32,bf16 or\n"
"                     'p=11,emin=-14,emax=15,subnormals=off' (a part\n"
"                     with '=' other than p= continues the format before\n"
"                     it); may be repeated\n"
"  --classes K        number of classes, K >= 2 (at most 1000000)\n"
"  --scheme S         logsoftmax, lse or softmax (default: all three)\n"
"  --order O          sequential (default), pairwise, blocked:B,\n"
"                     lanes:L, exact\n"
"  --logit Z          the correct logit, rounded to nearest into each\n"
"                     format (default 0)\n"
"  --label first|last where the correct class sits among the K logits\n"
"                     (default last: the competitors are summed first)\n"
"  --batch N          batch size of the mean loss (default 1): the\n"
"                     gradients are divided by N\n"
"  --round R          rne, rz, ru or rd (default: the format's, rne)\n"
"  --json             JSON for tools: exact values as strings\n"
"  -h, --help         this text\n"
"\n"
"Example: nfi threshold --format binary32,bf16 --classes 23\n";

enum { N_SCHEMES = 3, N_EXTRA_LOGITS = 5, MAX_CLASSES = 1000000 };

static const double extra_logits[N_EXTRA_LOGITS] = {1, 10, 100, 1000,
                                                    10000};

/* Which closed form a row is compared with. */
typedef enum closed_form {
    CLOSED_P_LN2, CLOSED_K_LN, CLOSED_SUBN, CLOSED_NORMAL, N_CLOSED
} closed_form;

static const char *const closed_keys[N_CLOSED] = {
    "p_ln2", "ln_k1_2p", "p_minus_emin_ln2", "one_minus_emin_ln2"};
static const char *const closed_text[N_CLOSED] = {
    "p ln 2", "ln((K-1) 2^p)", "(p-emin) ln 2", "(1-emin) ln 2"};

typedef struct row {
    char tag;            /* a, b, c or d */
    nfi_thr_event event;
    size_t k;
    bool subnormals;
    mpfr_t logit;        /* z_y, a value of the format */
    closed_form closed;
    nfi_thr_result res[N_SCHEMES];
} row;

typedef struct options {
    size_t k;
    int schemes[N_SCHEMES];
    int n_schemes;
    nfi_reduction order;
    char order_text[64];
    const char *logit_text;
    nfi_thr_label label;
    unsigned long batch;
    int round_given;
    nfi_round round;
    int json;
} options;

/* Splits a --format value into specs: a part that contains '=' and does
 * not start with "p=" continues the spec before it. */
static int split_formats(const char *text, char ***specs, int *n)
{
    char *copy = strdup(text);
    if (copy == NULL)
        return -1;
    for (char *part = strtok(copy, ","); part != NULL;
         part = strtok(NULL, ",")) {
        int cont = strchr(part, '=') != NULL &&
                   strncasecmp(part, "p=", 2) != 0 && *n > 0;
        if (cont) {
            char *prev = (*specs)[*n - 1];
            size_t len = strlen(prev) + strlen(part) + 2;
            char *joined = malloc(len);
            if (joined == NULL) {
                free(copy);
                return -1;
            }
            snprintf(joined, len, "%s,%s", prev, part);
            free(prev);
            (*specs)[*n - 1] = joined;
        } else {
            char **grown = realloc(*specs, (size_t)(*n + 1) * sizeof **specs);
            if (grown == NULL) {
                free(copy);
                return -1;
            }
            *specs = grown;
            (*specs)[*n] = strdup(part);
            if ((*specs)[*n] == NULL) {
                free(copy);
                return -1;
            }
            (*n)++;
        }
    }
    free(copy);
    return 0;
}

/* x exactly, for humans and tools: hexadecimal (C99 %a where the format
 * fits binary64), or "nan".  Returns a malloc'ed string. */
static char *hex_of(mpfr_srcptr x, const nfi_format *f)
{
    size_t size = (size_t)mpfr_get_prec(x) / 4 + 40;
    char *buf = malloc(size);
    if (buf != NULL)
        nfi_cli_format_value(buf, size, x, f);
    return buf;
}

static void row_init(row *r, char tag, nfi_thr_event ev, size_t k,
                     bool subn, mpfr_srcptr logit, closed_form cf)
{
    r->tag = tag;
    r->event = ev;
    r->k = k;
    r->subnormals = subn;
    r->closed = cf;
    mpfr_init2(r->logit, mpfr_get_prec(logit));
    mpfr_set(r->logit, logit, MPFR_RNDN);
    for (int s = 0; s < N_SCHEMES; s++)
        nfi_thr_result_init(&r->res[s]);
}

static void row_clear(row *r)
{
    mpfr_clear(r->logit);
    for (int s = 0; s < N_SCHEMES; s++)
        nfi_thr_result_clear(&r->res[s]);
}

/* Working precision of the closed forms and differences: 64 bits beyond
 * the format's, so that their own rounding does not show. */
static mpfr_prec_t closed_prec(const nfi_format *f)
{
    return (mpfr_prec_t)f->p + 64;
}

/* Decimal digits that tell neighbouring values of f apart. */
static int decimal_digits(const nfi_format *f)
{
    int d = (int)((double)f->p * 0.30103) + 3;
    return d < 17 ? 17 : d;
}

/* The closed forms of format f for K classes, to nearest. */
static void closed_values(const nfi_format *f, size_t k, mpfr_t *cl)
{
    mpfr_t ln2;
    mpfr_init2(ln2, closed_prec(f));
    mpfr_const_log2(ln2, MPFR_RNDN);
    for (int i = 0; i < N_CLOSED; i++)
        mpfr_init2(cl[i], closed_prec(f));
    mpfr_mul_si(cl[CLOSED_P_LN2], ln2, f->p, MPFR_RNDN);
    mpfr_set_ui(cl[CLOSED_K_LN], (unsigned long)(k - 1), MPFR_RNDN);
    mpfr_log(cl[CLOSED_K_LN], cl[CLOSED_K_LN], MPFR_RNDN);
    mpfr_add(cl[CLOSED_K_LN], cl[CLOSED_K_LN], cl[CLOSED_P_LN2],
             MPFR_RNDN);
    mpfr_mul_si(cl[CLOSED_SUBN], ln2, f->p - f->emin, MPFR_RNDN);
    mpfr_mul_si(cl[CLOSED_NORMAL], ln2, 1 - f->emin, MPFR_RNDN);
    mpfr_clear(ln2);
}

/* The rows of one format, searched; returns their count or -1. */
static int compute_rows(const nfi_format *f, const options *o,
                        mpfr_srcptr zy, row *rows, nfi_error *err)
{
    int n = 0;
    row_init(&rows[n++], 'a', NFI_THR_ABSORBED, 2, f->subnormals, zy,
             CLOSED_P_LN2);
    row_init(&rows[n++], 'b', NFI_THR_ABSORBED, o->k, f->subnormals, zy,
             CLOSED_K_LN);
    row_init(&rows[n++], 'c', NFI_THR_WRONG_ZERO, o->k, true, zy,
             CLOSED_SUBN);
    row_init(&rows[n++], 'c', NFI_THR_WRONG_ZERO, o->k, false, zy,
             CLOSED_NORMAL);
    mpfr_t max, z;
    mpfr_init2(max, 2);
    mpfr_init2(z, f->p);
    nfi_format_max_finite(f, max);
    for (int i = 0; i < N_EXTRA_LOGITS; i++) {
        mpfr_set_d(z, extra_logits[i], MPFR_RNDN);
        if (mpfr_cmp(z, max) > 0 || mpfr_equal_p(z, zy))
            continue;
        row_init(&rows[n++], 'd', NFI_THR_ABSORBED, 2, f->subnormals, z,
                 CLOSED_P_LN2);
        row_init(&rows[n++], 'd', NFI_THR_ABSORBED, o->k, f->subnormals, z,
                 CLOSED_K_LN);
    }
    mpfr_clears(max, z, (mpfr_ptr)0);

    for (int i = 0; i < n; i++) {
        nfi_pred_spec spec = {.format = *f, .mode = o->round,
                              .order = o->order, .batch = o->batch};
        spec.format.subnormals = rows[i].subnormals;
        for (int s = 0; s < o->n_schemes; s++) {
            spec.scheme = (nfi_ce_scheme)o->schemes[s];
            if (nfi_thr_search(&spec, rows[i].event, rows[i].k, o->label,
                               rows[i].logit, &rows[i].res[s], err) != 0) {
                for (int j = 0; j < n; j++)
                    row_clear(&rows[j]);
                return -1;
            }
        }
    }
    return n;
}

static void describe_row(const row *r, char *buf, size_t size)
{
    int len;
    if (r->event == NFI_THR_WRONG_ZERO)
        len = snprintf(buf, size, "%c wrong classes 0, subnormals %s",
                       r->tag, r->subnormals ? "on" : "off");
    else if (r->k == 2)
        len = snprintf(buf, size, "%c absorbed, 1 competitor", r->tag);
    else
        len = snprintf(buf, size, "%c absorbed, %zu competitors", r->tag,
                       r->k - 1);
    if (r->tag == 'd' && len > 0 && (size_t)len < size)
        mpfr_snprintf(buf + len, size - (size_t)len, ", z_y=%Rg",
                      r->logit);
}

static void cell_text(const nfi_thr_result *t, char *buf, size_t size)
{
    if (t->status == NFI_THR_AT_ZERO)
        snprintf(buf, size, "at 0");
    else if (t->status == NFI_THR_NEVER)
        snprintf(buf, size, "never");
    else
        mpfr_snprintf(buf, size, "%.9Rg%s", t->yes_margin,
                      t->monotone ? "" : "*");
}

static const char *status_name(nfi_thr_status s)
{
    return s == NFI_THR_FOUND ? "found"
         : s == NFI_THR_AT_ZERO ? "at_zero" : "never";
}

static void print_header(const nfi_format *f, const options *o,
                         mpfr_srcptr zy, mpfr_t *cl)
{
    char spelled[256];
    nfi_format_spell(f, spelled, sizeof spelled);
    mpfr_printf("%s (p=%ld, emin=%ld, emax=%ld): K=%zu, order %s, label "
                "%s, N=%lu, %s, z_y=%Rg\n", spelled, f->p, f->emin,
                f->emax, o->k, o->order_text,
                o->label == NFI_THR_LABEL_FIRST ? "first" : "last",
                o->batch, nfi_round_name(o->round), zy);
    mpfr_printf("closed forms: p ln 2 = %.9Rg, ln((K-1) 2^p) = %.9Rg, "
                "(p-emin) ln 2 = %.9Rg, (1-emin) ln 2 = %.9Rg\n\n",
                cl[0], cl[1], cl[2], cl[3]);
}

static bool same_margin(mpfr_srcptr a, mpfr_srcptr b)
{
    return (mpfr_nan_p(a) && mpfr_nan_p(b)) || mpfr_equal_p(a, b);
}

static bool same_result(const nfi_thr_result *a, const nfi_thr_result *b)
{
    return a->status == b->status && a->monotone == b->monotone &&
           same_margin(a->yes_margin, b->yes_margin) &&
           same_margin(a->no_margin, b->no_margin);
}

static int print_table(const nfi_format *f, const options *o,
                       mpfr_srcptr zy, row *rows, int n)
{
    mpfr_t cl[N_CLOSED], diff;
    closed_values(f, o->k, cl);
    mpfr_init2(diff, closed_prec(f));
    print_header(f, o, zy, cl);

    printf("%-42s", "margin from which");
    for (int s = 0; s < o->n_schemes; s++)
        printf(" %15s", nfi_ce_scheme_name((nfi_ce_scheme)o->schemes[s]));
    printf("\n");
    char label[128], cell[64];
    for (int i = 0; i < n; i++) {
        describe_row(&rows[i], label, sizeof label);
        printf("%-42s", label);
        for (int s = 0; s < o->n_schemes; s++) {
            cell_text(&rows[i].res[s], cell, sizeof cell);
            printf(" %15s", cell);
        }
        printf("\n");
    }

    printf("\nexact boundaries: holds from (smallest margin) / fails at "
           "(largest margin); difference from the closed form\n");
    int status = 0;
    for (int i = 0; i < n && status == 0; i++) {
        describe_row(&rows[i], label, sizeof label);
        printf("%s:\n", label);
        /* Schemes with the same boundary share one line. */
        bool same = o->n_schemes > 1;
        for (int s = 1; s < o->n_schemes && same; s++)
            same = same_result(&rows[i].res[0], &rows[i].res[s]);
        for (int s = 0; s < (same ? 1 : o->n_schemes); s++) {
            const nfi_thr_result *t = &rows[i].res[s];
            const char *name = same ? "all" :
                nfi_ce_scheme_name((nfi_ce_scheme)o->schemes[s]);
            if (t->status == NFI_THR_AT_ZERO) {
                printf("  %-10s holds already at margin 0\n", name);
                continue;
            }
            if (t->status == NFI_THR_NEVER) {
                char *h = hex_of(t->no_margin, f);
                mpfr_printf("  %-10s fails up to the largest margin "
                            "searched, %s (%.6Rg)\n", name,
                            h ? h : "?", t->no_margin);
                free(h);
                continue;
            }
            char *yes = hex_of(t->yes_margin, f);
            char *no = hex_of(t->no_margin, f);
            if (yes == NULL || no == NULL)
                status = -1;
            mpfr_sub(diff, t->yes_margin, cl[rows[i].closed], MPFR_RNDN);
            int dig = decimal_digits(f);
            mpfr_printf("  %-10s %s (%.*Rg) / %s (%.*Rg); %s %+.3Re%s\n",
                        name, yes ? yes : "?", dig, t->yes_margin,
                        no ? no : "?", dig, t->no_margin,
                        closed_text[rows[i].closed], diff,
                        t->monotone ? "" : "; NOT MONOTONE near here");
            free(yes);
            free(no);
        }
    }
    for (int i = 0; i < N_CLOSED; i++)
        mpfr_clear(cl[i]);
    mpfr_clear(diff);
    return status;
}

static void json_margin(const char *key, mpfr_srcptr x, const nfi_format *f)
{
    if (mpfr_nan_p(x)) {
        printf(", \"%s\": null, \"%s_decimal\": null", key, key);
        return;
    }
    char *h = hex_of(x, f);
    printf(", \"%s\": \"%s\"", key, h ? h : "");
    mpfr_printf(", \"%s_decimal\": \"%.*Rg\"", key, decimal_digits(f),
                x);
    free(h);
}

static void print_json_format(const nfi_format *f, const char *spec,
                              const options *o, mpfr_srcptr zy, row *rows,
                              int n, int last)
{
    mpfr_t cl[N_CLOSED], diff;
    closed_values(f, o->k, cl);
    mpfr_init2(diff, closed_prec(f));
    char spelled[256];
    nfi_format_spell(f, spelled, sizeof spelled);
    printf("  {\"spec\": \"");
    for (const char *c = spec; *c; c++) {
        if (*c == '"' || *c == '\\')
            putchar('\\');
        if ((unsigned char)*c >= 0x20)
            putchar(*c);
    }
    printf("\", \"format\": \"%s\", \"p\": %ld, \"emin\": %ld, "
           "\"emax\": %ld, \"classes\": %zu, \"order\": \"%s\", "
           "\"label\": \"%s\", \"batch\": %lu, \"round\": \"%s\"",
           spelled, f->p, f->emin, f->emax, o->k, o->order_text,
           o->label == NFI_THR_LABEL_FIRST ? "first" : "last", o->batch,
           nfi_round_name(o->round));
    json_margin("logit", zy, f);
    printf(",\n   \"closed_forms\": {");
    for (int i = 0; i < N_CLOSED; i++)
        mpfr_printf("%s\"%s\": \"%.*Rg\"", i ? ", " : "", closed_keys[i],
                    decimal_digits(f), cl[i]);
    printf("},\n   \"rows\": [\n");
    int first = 1;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < o->n_schemes; s++) {
            const row *r = &rows[i];
            const nfi_thr_result *t = &r->res[s];
            printf("%s    {\"row\": \"%c\", \"event\": \"%s\", "
                   "\"competitors\": %zu, \"subnormals\": %s, "
                   "\"scheme\": \"%s\", \"status\": \"%s\", "
                   "\"monotone\": %s, \"evaluations\": %ld",
                   first ? "" : ",\n", r->tag,
                   r->event == NFI_THR_ABSORBED ? "absorbed" : "wrong_zero",
                   r->k - 1, r->subnormals ? "true" : "false",
                   nfi_ce_scheme_name((nfi_ce_scheme)o->schemes[s]),
                   status_name(t->status), t->monotone ? "true" : "false",
                   t->evaluations);
            first = 0;
            json_margin("logit", r->logit, f);
            json_margin("yes_margin", t->yes_margin, f);
            json_margin("no_margin", t->no_margin, f);
            printf(", \"closed_form\": \"%s\"", closed_keys[r->closed]);
            if (mpfr_nan_p(t->yes_margin)) {
                printf(", \"difference\": null}");
            } else {
                mpfr_sub(diff, t->yes_margin, cl[r->closed], MPFR_RNDN);
                mpfr_printf(", \"difference\": \"%.6Re\"}", diff);
            }
        }
    printf("\n   ]}%s\n", last ? "" : ",");
    for (int i = 0; i < N_CLOSED; i++)
        mpfr_clear(cl[i]);
    mpfr_clear(diff);
}

static int parse_count(const char *flag, const char *s, unsigned long lo,
                       unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *s == '-' || v < lo ||
        v > hi) {
        fprintf(stderr, "nfi threshold: %s '%s' must be an integer from "
                "%lu to %lu\n", flag, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Options into o; returns 0, or the exit status to return. */
static int parse_options(int argc, char **argv, options *o, char ***specs,
                         int *n_specs)
{
    static const struct option long_opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"classes", required_argument, NULL, 'k'},
        {"scheme", required_argument, NULL, 's'},
        {"order", required_argument, NULL, 'o'},
        {"logit", required_argument, NULL, 'z'},
        {"label", required_argument, NULL, 'l'},
        {"batch", required_argument, NULL, 'n'},
        {"round", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    nfi_error err;
    int c;
    unsigned long v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (split_formats(optarg, specs, n_specs) != 0) {
                fprintf(stderr, "nfi threshold: out of memory\n");
                return 1;
            }
            break;
        case 'k':
            if (parse_count("--classes", optarg, 2, MAX_CLASSES, &v) != 0)
                return 2;
            o->k = v;
            break;
        case 's': {
            nfi_ce_scheme sc;
            if (nfi_ce_scheme_parse(optarg, &sc, &err) != 0) {
                fprintf(stderr, "nfi threshold: %s\n", err.message);
                return 2;
            }
            o->schemes[0] = (int)sc;
            o->n_schemes = 1;
            break;
        }
        case 'o':
            if (nfi_reduction_parse(optarg, &o->order, &err) != 0) {
                fprintf(stderr, "nfi threshold: %s\n", err.message);
                return 2;
            }
            nfi_reduction_spell(&o->order, o->order_text,
                                sizeof o->order_text);
            break;
        case 'z':
            o->logit_text = optarg;
            break;
        case 'l':
            if (strcmp(optarg, "first") == 0) {
                o->label = NFI_THR_LABEL_FIRST;
            } else if (strcmp(optarg, "last") == 0) {
                o->label = NFI_THR_LABEL_LAST;
            } else {
                fprintf(stderr, "nfi threshold: --label '%s' must be "
                        "first or last\n", optarg);
                return 2;
            }
            break;
        case 'n':
            if (parse_count("--batch", optarg, 1, 1UL << 30, &v) != 0)
                return 2;
            o->batch = v;
            break;
        case 'r':
            if (nfi_round_parse(optarg, &o->round, &err) != 0) {
                fprintf(stderr, "nfi threshold: %s\n", err.message);
                return 2;
            }
            o->round_given = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            fputs(threshold_usage, stdout);
            return -1;
        case ':':
            fprintf(stderr, "nfi threshold: %s needs a value; see 'nfi "
                    "help threshold'\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "nfi threshold: unknown option '%s'; see 'nfi "
                    "help threshold'\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nfi threshold: unexpected argument '%s'; see "
                "'nfi help threshold'\n", argv[optind]);
        return 2;
    }
    if (*n_specs == 0) {
        fprintf(stderr, "nfi threshold: name the formats with --format, "
                "e.g. --format binary32,bf16\n");
        return 2;
    }
    if (o->k == 0) {
        fprintf(stderr, "nfi threshold: give the number of classes with "
                "--classes K (K >= 2), e.g. --classes 10\n");
        return 2;
    }
    return 0;
}

/* The correct logit in format f, rounded to nearest; -1 when it is not
 * a finite number or lies beyond the format's range. */
static int logit_in(const nfi_format *f, const char *text, mpfr_t out)
{
    mpfr_set_prec(out, f->p);
    char *end;
    mpfr_strtofr(out, text, &end, 0, MPFR_RNDN);
    if (end == text || *end != '\0' || !mpfr_number_p(out))
        return -1;
    mpfr_t max;
    mpfr_init2(max, 2);
    nfi_format_max_finite(f, max);
    int ok = mpfr_cmpabs(out, max) <= 0;
    mpfr_clear(max);
    return ok ? 0 : -1;
}

int nfi_cmd_threshold(int argc, char **argv)
{
    options o = {.n_schemes = N_SCHEMES, .schemes = {0, 1, 2},
                 .order = {NFI_REDUCTION_SEQUENTIAL, 0},
                 .order_text = "sequential", .logit_text = "0",
                 .label = NFI_THR_LABEL_LAST, .batch = 1};
    char **specs = NULL;
    int n_specs = 0;
    int rc = parse_options(argc, argv, &o, &specs, &n_specs);
    nfi_format *fs = NULL;
    if (rc != 0)
        goto out;
    fs = calloc((size_t)n_specs, sizeof *fs);
    if (fs == NULL) {
        rc = 1;
        goto out;
    }
    for (int i = 0; i < n_specs; i++) {
        nfi_error err;
        if (nfi_format_parse(specs[i], &fs[i], &err) != 0) {
            fprintf(stderr, "nfi threshold: %s\n", err.message);
            rc = 2;
            goto out;
        }
        nfi_round mode = o.round_given ? o.round : fs[i].round;
        if (mode != NFI_ROUND_RNE && mode != NFI_ROUND_RZ &&
            mode != NFI_ROUND_RU && mode != NFI_ROUND_RD) {
            fprintf(stderr, "nfi threshold: rounding mode '%s' (format "
                    "'%s') has no exact threshold here; use rne, rz, ru "
                    "or rd\n", nfi_round_name(mode), specs[i]);
            rc = 2;
            goto out;
        }
    }

    if (o.json)
        printf("[\n");
    int max_rows = 4 + 2 * N_EXTRA_LOGITS;
    row *rows = calloc((size_t)max_rows, sizeof *rows);
    mpfr_t zy;
    mpfr_init2(zy, 2);
    for (int i = 0; i < n_specs && rc == 0 && rows != NULL; i++) {
        const nfi_format *f = &fs[i];
        options fo = o;
        fo.round = o.round_given ? o.round : f->round;
        if (logit_in(f, o.logit_text, zy) != 0) {
            fprintf(stderr, "nfi threshold: --logit '%s' is not a finite "
                    "number within the range of %s\n", o.logit_text,
                    specs[i]);
            rc = 2;
            break;
        }
        nfi_error err;
        int n = compute_rows(f, &fo, zy, rows, &err);
        if (n < 0) {
            fprintf(stderr, "nfi threshold: %s: %s\n", specs[i],
                    err.message);
            rc = 2;
            break;
        }
        if (o.json) {
            print_json_format(f, specs[i], &fo, zy, rows, n,
                              i + 1 == n_specs);
        } else {
            if (i > 0)
                printf("\n");
            if (print_table(f, &fo, zy, rows, n) != 0)
                rc = 1;
        }
        for (int j = 0; j < n; j++)
            row_clear(&rows[j]);
    }
    if (rows == NULL)
        rc = 1;
    if (o.json && rc == 0)
        printf("]\n");
    mpfr_clear(zy);
    free(rows);
out:
    for (int i = 0; i < n_specs; i++)
        free(specs[i]);
    free(specs);
    free(fs);
    return rc < 0 ? 0 : rc;
}
