/* nfi format: the constants of formats, as a table or as JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char format_usage[] =
"Usage: nfi format [--json] SPEC...\n"
"\n"
"Prints the constants of each format: precision p (leading bit counted),\n"
"the exponent range, largest finite value, smallest normal and smallest\n"
"positive (subnormal) value, unit roundoff 2^-p, machine epsilon 2^(1-p)\n"
"and the number of finite values (+0 and -0 counted apart).  Values are\n"
"exact, in C99 hexadecimal, with a 6-digit decimal beside them.\n"
"\n"
"Options:\n"
"  --json     one JSON array of objects; exact values as strings\n"
"             (hexadecimal, and the finite-value count in decimal), each\n"
"             with a 17-digit decimal approximation (NAME_decimal)\n"
"  -h, --help this text\n"
"\n"
"SPEC: binary16 fp16 half, bfloat16 bf16, tf32, binary32 fp32 single,\n"
"binary64 fp64 double, binary128, e4m3, e5m2, eXmY, or p=P,emin=A,emax=B,\n"
"each followed by options subnormals=on|off, overflow=inf|saturate,\n"
"round=rne|rna|rz|ru|rd|sr.\n"
"\n"
"Example: nfi format bf16 e4m3 p=20,emin=-126,emax=127,subnormals=off\n";

enum { N_CONST = 5 };

static const char *const const_names[N_CONST] = {
    "largest finite", "smallest normal", "smallest positive",
    "unit roundoff", "machine epsilon"};
static const char *const const_keys[N_CONST] = {
    "max_finite", "min_normal", "min_positive", "unit_roundoff",
    "epsilon"};

/* What both outputs print of a format: its spelling, the exact
 * constants, their hexadecimal text and the count of finite values. */
typedef struct format_facts {
    char spelled[256];
    mpfr_t value[N_CONST];
    char *hex[N_CONST]; /* p/4 + 32 bytes each: any precision */
    mpz_t count;
} format_facts;

static int facts_init(format_facts *c, const nfi_format *f)
{
    nfi_format_spell(f, c->spelled, sizeof c->spelled);
    size_t size = (size_t)f->p / 4 + 32;
    int ok = 1;
    for (int k = 0; k < N_CONST; k++) {
        mpfr_init2(c->value[k], 2);
        c->hex[k] = malloc(size);
        ok = ok && c->hex[k] != NULL;
    }
    nfi_format_max_finite(f, c->value[0]);
    nfi_format_min_normal(f, c->value[1]);
    nfi_format_min_positive(f, c->value[2]);
    nfi_format_unit_roundoff(f, c->value[3]);
    nfi_format_epsilon(f, c->value[4]);
    for (int k = 0; k < N_CONST && ok; k++)
        nfi_cli_format_value(c->hex[k], size, c->value[k], f);
    mpz_init(c->count);
    nfi_format_count_finite(f, c->count);
    return ok ? 0 : -1;
}

static void facts_clear(format_facts *c)
{
    for (int k = 0; k < N_CONST; k++) {
        mpfr_clear(c->value[k]);
        free(c->hex[k]);
    }
    mpz_clear(c->count);
}

/* s as the body of a JSON string: quotes, backslashes and control
 * characters escaped (a spec read from a file may carry a tab or CR). */
static void print_json_text(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
}

static int print_json(int n, nfi_format *fs, char **specs)
{
    printf("[\n");
    for (int i = 0; i < n; i++) {
        const nfi_format *f = &fs[i];
        format_facts c;
        if (facts_init(&c, f) != 0) {
            facts_clear(&c);
            return -1;
        }
        printf("  {\"spec\": \"");
        print_json_text(specs[i]);
        printf("\", \"canonical\": \"%s\", \"p\": %ld, "
               "\"emin\": %ld, \"emax\": %ld, \"subnormals\": %s, "
               "\"infinities\": %s, \"overflow\": \"%s\", \"round\": "
               "\"%s\"", c.spelled, f->p, f->emin, f->emax,
               f->subnormals ? "true" : "false",
               f->has_inf ? "true" : "false",
               f->overflow == NFI_OVERFLOW_INF ? "inf" : "saturate",
               nfi_round_name(f->round));
        for (int k = 0; k < N_CONST; k++) {
            printf(", \"%s\": \"%s\"", const_keys[k], c.hex[k]);
            mpfr_printf(", \"%s_decimal\": \"%.17Rg\"", const_keys[k],
                        c.value[k]);
        }
        gmp_printf(", \"finite_values\": \"%Zd\"}%s\n", c.count,
                   i + 1 < n ? "," : "");
        facts_clear(&c);
    }
    printf("]\n");
    return 0;
}

static int print_table(int n, nfi_format *fs)
{
    for (int i = 0; i < n; i++) {
        const nfi_format *f = &fs[i];
        format_facts c;
        if (facts_init(&c, f) != 0) {
            facts_clear(&c);
            return -1;
        }
        if (i > 0)
            printf("\n");
        printf("%s\n", c.spelled);
        printf("  %-18s %ld (stored fraction bits: %ld)\n", "precision p",
               f->p, f->p - 1);
        printf("  %-18s emin=%ld emax=%ld\n", "exponent range", f->emin,
               f->emax);
        printf("  %-18s %s, %s%s\n", "subnormals, inf",
               f->subnormals ? "subnormals on" : "subnormals off",
               f->has_inf ? "infinities" : "no infinities",
               f->overflow == NFI_OVERFLOW_SATURATE ?
                   ", overflow saturates" : "");
        printf("  %-18s %s\n", "default rounding", nfi_round_name(f->round));
        for (int k = 0; k < N_CONST; k++)
            mpfr_printf("  %-18s %-28s %.6Rg\n", const_names[k], c.hex[k],
                        c.value[k]);
        gmp_printf("  %-18s %Zd\n", "finite values", c.count);
        facts_clear(&c);
    }
    return 0;
}

int nfi_cmd_format(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            fputs(format_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "nfi format: unknown option '%s'; see 'nfi "
                    "help format'\n", argv[optind - 1]);
            return 2;
        }
    }
    int n = argc - optind;
    if (n <= 0) {
        fprintf(stderr, "nfi format: name at least one format, e.g. 'nfi "
                "format binary32 bf16'\n");
        return 2;
    }
    nfi_format *fs = calloc((size_t)n, sizeof *fs);
    if (fs == NULL) {
        fprintf(stderr, "nfi format: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        nfi_error err;
        if (nfi_format_parse(argv[optind + i], &fs[i], &err) != 0) {
            fprintf(stderr, "nfi format: %s\n", err.message);
            free(fs);
            return 2;
        }
    }
    int status = json ? print_json(n, fs, argv + optind)
                      : print_table(n, fs);
    free(fs);
    if (status != 0) {
        fprintf(stderr, "nfi format: out of memory\n");
        return 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("nfi format: cannot write the output");
        return 1;
    }
    return 0;
}
