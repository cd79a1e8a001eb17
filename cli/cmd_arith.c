/* nfi arith: evaluates operations in a format, one result per line. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "engine_mpfr.h"
#include "number.h"

static const char arith_usage[] =
"Usage: nfi arith --format SPEC [OPTIONS] [-e 'OP X [Y [Z]]']...\n"
"\n"
"Evaluates each operation exactly and rounds the result once into the\n"
"format.  Without -e, reads one operation per line from standard input\n"
"(blank lines and lines starting with # are skipped) and writes one\n"
"result per line.  A line that cannot be evaluated writes 'error' in its\n"
"place and a message naming the line to standard error; the exit status\n"
"is 1 when any line failed.\n"
"\n"
"Operations:  add sub mul div X Y | sqrt exp log X | fma X Y Z (X*Y+Z,\n"
"             one rounding) | cvt X (round any number into the format) |\n"
"             neg abs X | min max X Y (NaN propagates, -0 < +0) |\n"
"             cmp X Y (prints -1, 0, 1 or unordered; -0 == +0)\n"
"Operands:    C99 hex floats (0x1.8p-3), decimals (0.1, 1e-8), powers\n"
"             of two (2^-9), inf, nan.  Operands of every operation but\n"
"             cvt must be values of the format (0.1 is not a binary32\n"
"             value): write cvt first, or pass --round-inputs.\n"
"Results:     C99 hex floats (%a of the binary64 value, exact for\n"
"             formats inside binary64), MPFR's hexadecimal form for wider\n"
"             formats; nan, inf, -inf.\n"
"\n"
"Options:\n"
"  -f, --format SPEC   the format (required), e.g. bf16, e4m3,\n"
"                      p=20,emin=-126,emax=127 (see 'nfi help format')\n"
"  -r, --round MODE    rne (default, or the format's round= option), rna,\n"
"                      rz, ru, rd, sr (stochastic); also nearest, zero,\n"
"                      up, down, stochastic\n"
"      --engine NAME   auto (default: native, else fast, else mpfr),\n"
"                      mpfr, fast, native; all give identical results\n"
"  -s, --seed S        stochastic rounding key (default 0); the n-th\n"
"                      rounding (counting from 0 every operation that\n"
"                      rounds, cvt and --round-inputs included; not neg,\n"
"                      abs, min, max, cmp or failed lines) uses random\n"
"                      bits keyed by (S, n)\n"
"  -e EXPR             evaluate EXPR instead of reading standard input\n"
"                      (repeatable)\n"
"      --round-inputs  round operands into the format (RNE) instead of\n"
"                      refusing operands that are not format values\n"
"  -v, --verbose       also print each operation and a 17-digit decimal\n"
"                      approximation of its result\n"
"  -h, --help          this text\n"
"\n"
"Examples:\n"
"  nfi arith -f bfloat16 -r rd -e 'add 1 2^-9'      -> 0x1p+0\n"
"  nfi arith -f binary32 -e 'cvt 0.1'               -> 0x1.99999ap-4\n"
"  nfi arith -f e4m3 -e 'mul 16 30'                 -> nan (overflow)\n";

typedef struct arith_run {
    nfi_engine engine;
    bool round_inputs;
    bool verbose;
    int failures;
} arith_run;

/* Evaluates one line; returns 0, or -1 with a message in err. */
static int eval_line(arith_run *run, char *line, char *result,
                     size_t size, nfi_error *err)
{
    const nfi_format *f = &run->engine.format;
    char *words[5];
    int nwords = 0;
    for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save);
         w != NULL; w = strtok_r(NULL, " \t\r\n", &save)) {
        if (nwords == 5)
            return nfi_error_set(err, "too many words; write 'OP X [Y "
                                 "[Z]]', e.g. 'add 1 0x1p-9'");
        words[nwords++] = w;
    }
    nfi_op op;
    bool compare = nwords > 0 && strcmp(words[0], "cmp") == 0;
    if (compare)
        op = NFI_OP_MIN; /* two operands of the format, no rounding */
    else if (nwords == 0 || nfi_op_parse(words[0], &op) != 0)
        return nfi_error_set(err, "unknown operation '%s'; operations are "
                             "add sub mul div sqrt fma exp log cvt neg abs "
                             "min max cmp", nwords ? words[0] : "");
    int arity = nfi_op_arity(op);
    if (nwords - 1 != arity)
        return nfi_error_set(err, "%s takes %d operand%s, got %d", words[0],
                             arity, arity == 1 ? "" : "s", nwords - 1);

    char fspec[256];
    nfi_format_spell(f, fspec, sizeof fspec);
    mpfr_t x[3], r;
    for (int i = 0; i < 3; i++)
        mpfr_init2(x[i], f->p);
    mpfr_init2(r, f->p);
    int status = 0;
    bool done = false;
    for (int i = 0; i < arity && status == 0; i++) {
        nfi_number num;
        nfi_number_init(&num);
        if (nfi_number_parse(&num, words[i + 1], err) != 0) {
            status = -1;
        } else if (nfi_number_get_mpfr(&num, x[i]) == 0 &&
                   (op == NFI_OP_CVT || nfi_mpfr_in_format(x[i], f))) {
            /* exact operand, used as it is */
        } else if (op == NFI_OP_CVT) {
            /* 0.1 and the like: one rounding from the exact rational. */
            mpq_t q;
            mpq_init(q);
            mpq_set(q, num.value);
            if (num.negative)
                mpq_neg(q, q);
            nfi_engine_round_q(&run->engine, r, q);
            mpq_clear(q);
            done = true;
        } else {
            mpq_t q;
            mpq_init(q);
            mpq_set(q, num.value);
            if (num.negative)
                mpq_neg(q, q);
            mpfr_t near;
            mpfr_init2(near, f->p);
            if (num.kind == NFI_NUMBER_FINITE)
                nfi_mpfr_round_q(near, q, f, NFI_ROUND_RNE, 0);
            else
                nfi_mpfr_op(NFI_OP_CVT, near, x[i], NULL, NULL, f,
                            NFI_ROUND_RNE, 0);
            if (run->round_inputs) {
                mpfr_set_prec(x[i], f->p);
                mpfr_set(x[i], near, MPFR_RNDN);
            } else {
                char nearest[512];
                nfi_cli_format_value(nearest, sizeof nearest, near, f);
                status = nfi_error_set(err, "operand %d (%s) is not a "
                                       "value of %s (it rounds to %s under "
                                       "rne); write 'cvt %s' first, or "
                                       "pass --round-inputs", i + 1,
                                       words[i + 1], fspec, nearest,
                                       words[i + 1]);
            }
            mpfr_clear(near);
            mpq_clear(q);
        }
        nfi_number_clear(&num);
    }
    if (status == 0 && compare) {
        static const char *const names[] = {"-1", "0", "1", "unordered"};
        snprintf(result, size, "%s",
                 names[nfi_mpfr_compare(x[0], x[1]) + 1]);
        done = true;
    } else if (status == 0 && !done) {
        nfi_engine_op(&run->engine, op, r, x[0], x[1], x[2]);
    }
    if (status == 0 && !compare)
        nfi_cli_format_value(result, size, r, f);
    if (status == 0 && run->verbose && !compare) {
        size_t len = strlen(result);
        mpfr_snprintf(result + len, size - len, "\t# %.17Rg", r);
    }
    for (int i = 0; i < 3; i++)
        mpfr_clear(x[i]);
    mpfr_clear(r);
    return status;
}

static void answer(arith_run *run, const char *text, long lineno,
                   const char *source)
{
    /* A result has p/4 hexadecimal digits and an exponent. */
    size_t size = (size_t)run->engine.format.p / 4 + 128;
    char *line = strdup(text), *result = malloc(size);
    nfi_error err;
    if (line == NULL || result == NULL) {
        fprintf(stderr, "nfi arith: %s %ld: out of memory\n", source,
                lineno);
        puts("error");
        run->failures++;
    } else if (eval_line(run, line, result, size, &err) != 0) {
        fprintf(stderr, "nfi arith: %s %ld: %s\n", source, lineno,
                err.message);
        puts("error");
        run->failures++;
    } else {
        if (run->verbose)
            printf("%s\t", text);
        puts(result);
    }
    free(line);
    free(result);
}

int nfi_cmd_arith(int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"round", required_argument, NULL, 'r'},
        {"engine", required_argument, NULL, 'E'},
        {"seed", required_argument, NULL, 's'},
        {"round-inputs", no_argument, NULL, 'R'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *spec = NULL, *round_name = NULL, *engine_name = "auto";
    uint64_t seed = 0;
    char **exprs = calloc((size_t)argc + 1, sizeof *exprs);
    int nexprs = 0, c;
    arith_run run;
    memset(&run, 0, sizeof run);
    nfi_error err;

    if (exprs == NULL)
        return 1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "f:r:s:e:vh", options, NULL)) !=
           -1) {
        switch (c) {
        case 'f': spec = optarg; break;
        case 'r': round_name = optarg; break;
        case 'E': engine_name = optarg; break;
        case 'e': exprs[nexprs++] = optarg; break;
        case 'R': run.round_inputs = true; break;
        case 'v': run.verbose = true; break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (errno != 0 || *end != '\0' || optarg[0] == '-') {
                fprintf(stderr, "nfi arith: --seed '%s' is not a whole "
                        "number from 0 to 2^64-1\n", optarg);
                free(exprs);
                return 2;
            }
            seed = v;
            break;
        }
        case 'h':
            fputs(arith_usage, stdout);
            free(exprs);
            return 0;
        default:
            fprintf(stderr, "nfi arith: unknown option or missing value in "
                    "'%s'; see 'nfi help arith'\n", argv[optind - 1]);
            free(exprs);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nfi arith: unexpected argument '%s'; put an "
                "operation in -e 'OP X Y' or on standard input\n",
                argv[optind]);
        free(exprs);
        return 2;
    }
    if (spec == NULL) {
        fprintf(stderr, "nfi arith: --format is required, e.g. --format "
                "bfloat16 (see 'nfi help format')\n");
        free(exprs);
        return 2;
    }
    nfi_format f;
    nfi_round mode;
    nfi_engine_kind kind;
    if (nfi_format_parse(spec, &f, &err) != 0 ||
        (round_name && nfi_round_parse(round_name, &f.round, &err) != 0) ||
        nfi_engine_parse(engine_name, &kind, &err) != 0) {
        fprintf(stderr, "nfi arith: %s\n", err.message);
        free(exprs);
        return 2;
    }
    mode = f.round;
    if (nfi_engine_init(&run.engine, kind, &f, mode, seed, &err) != 0) {
        fprintf(stderr, "nfi arith: %s\n", err.message);
        free(exprs);
        return 2;
    }

    if (nexprs > 0) {
        for (int i = 0; i < nexprs; i++)
            answer(&run, exprs[i], i + 1, "expression");
    } else {
        char *line = NULL;
        size_t cap = 0;
        long lineno = 0;
        while (getline(&line, &cap, stdin) != -1) {
            lineno++;
            char *t = line;
            while (isspace((unsigned char)*t))
                t++;
            if (*t == '\0' || *t == '#')
                continue;
            t[strcspn(t, "\r\n")] = '\0';
            answer(&run, t, lineno, "line");
        }
        free(line);
        if (ferror(stdin)) {
            fprintf(stderr, "nfi arith: cannot read standard input: %s\n",
                    strerror(errno));
            free(exprs);
            return 1;
        }
    }
    free(exprs);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "nfi arith: cannot write the results: %s\n",
                strerror(errno));
        return 1;
    }
    return run.failures ? 1 : 0;
}
