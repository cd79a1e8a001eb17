/* nfi: the command-line front end. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "nfi_config.h"

static const char usage[] =
"nfi " NFI_VERSION " - finite-precision arithmetic, simulated exactly\n"
"\n"
"Every operation nfi performs is the exact real result rounded once into\n"
"a floating-point format of your choice: any significand width p, any\n"
"exponent range, subnormals on or off, RNE/RNA/RZ/RU/RD or stochastic\n"
"rounding.  The MPFR engine is the ground truth; the fast and native\n"
"engines are bit-identical to it.\n"
"\n"
"Usage: nfi COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  format SPEC...     constants of formats (largest, smallest, epsilon...)\n"
"  arith              evaluate operations in a format, one result per line\n"
"  demo               a tour: formats, rounding modes, softmax absorption\n"
"  train              train a model (mlp, ufm) on a task, write a run dir\n"
"  plot RUNDIR...     draw the metrics of runs into a PNG or SVG (gnuplot)\n"
"  threshold          exact margins where softmax absorbs or underflows\n"
"  verify RUNDIR      check the claims C1-C7 on a run (and controls)\n"
"  export RUNDIR      parameters, logits, split of a run as npz/safetensors\n"
"  diff A B           compare two traces (runs) step by step, in ulps\n"
"  help [COMMAND]     this text, or the help of a command\n"
"  version            the version\n"
"\n"
"Formats (SPEC): binary16 (fp16, half), bfloat16 (bf16), tf32, binary32\n"
"(fp32, single), binary64 (fp64, double), binary128, e4m3 and e5m2 (OCP\n"
"FP8), eXmY (X exponent bits, Y fraction bits), or p=P,emin=A,emax=B;\n"
"then options: subnormals=on|off, overflow=inf|saturate,\n"
"round=rne|rna|rz|ru|rd|sr.  Example: p=20,emin=-126,emax=127,round=rz\n"
"\n"
"Examples:\n"
"  nfi format bf16 binary16 e4m3\n"
"  nfi arith --format bfloat16 --round rd -e 'add 1 2^-9'\n"
"  nfi threshold --format binary32,bf16 --classes 23\n"
"  printf 'mul 3 0x1.555556p-2\\nexp 1\\n' | nfi arith --format binary32\n"
"\n"
"Run 'nfi help COMMAND' for the options of a command.\n";

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        if (argc > 2) {
            char help[] = "--help";
            char *args[] = {argv[2], help, NULL};
            if (strcmp(argv[2], "format") == 0)
                return nfi_cmd_format(2, args);
            if (strcmp(argv[2], "arith") == 0)
                return nfi_cmd_arith(2, args);
            if (strcmp(argv[2], "demo") == 0)
                return nfi_cmd_demo(2, args);
            if (strcmp(argv[2], "help") == 0 ||
                strcmp(argv[2], "version") == 0) {
                fputs(usage, stdout);
                return 0;
            }
            if (strcmp(argv[2], "train") == 0)
                return nfi_cmd_train(2, args);
            if (strcmp(argv[2], "plot") == 0)
                return nfi_cmd_plot(2, args);
            if (strcmp(argv[2], "export") == 0)
                return nfi_cmd_export(2, args);
            if (strcmp(argv[2], "diff") == 0)
                return nfi_cmd_diff(2, args);
            if (strcmp(argv[2], "threshold") == 0)
                return nfi_cmd_threshold(2, args);
            if (strcmp(argv[2], "verify") == 0)
                return nfi_cmd_verify(2, args);
            fprintf(stderr, "nfi: no command '%s'; commands are format, "
                    "arith, demo, train, plot, threshold, verify, export, "
                    "diff\n", argv[2]);
            return 2;
        }
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("nfi %s (MPFR %s, GMP %s)\n", NFI_VERSION,
               mpfr_get_version(), gmp_version);
        return 0;
    }
    if (strcmp(cmd, "format") == 0)
        return nfi_cmd_format(argc - 1, argv + 1);
    if (strcmp(cmd, "arith") == 0)
        return nfi_cmd_arith(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return nfi_cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "train") == 0)
        return nfi_cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "plot") == 0)
        return nfi_cmd_plot(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return nfi_cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0)
        return nfi_cmd_diff(argc - 1, argv + 1);
    if (strcmp(cmd, "threshold") == 0)
        return nfi_cmd_threshold(argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0)
        return nfi_cmd_verify(argc - 1, argv + 1);
    fprintf(stderr, "nfi: unknown command '%s'; commands are format, arith, "
            "demo, train, plot, threshold, verify, export, diff, help, "
            "version (see 'nfi help')\n", cmd);
    return 2;
}

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    /* Output a full disk or a closed pipe swallowed is an error too. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "nfi: cannot write the output: %s\n",
                strerror(errno));
        if (rc == 0)
            rc = 1;
    }
    return rc;
}
