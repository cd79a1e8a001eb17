/* nfi demo: a short tour of what the engines do, using only library
 * calls: format constants, one sum in every rounding mode, and the margin
 * at which softmax absorbs the correct-class gradient. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

static const char demo_usage[] =
"Usage: nfi demo\n"
"\n"
"A tour in three parts, each computed by the engines:\n"
"  1. the constants of common formats;\n"
"  2. 1 + 3*2^-10 in bfloat16 under every rounding mode, and how often\n"
"     stochastic rounding rounds it up;\n"
"  3. per format, the smallest logit margin at which softmax with one\n"
"     competitor gives a correct-class probability of exactly 1, so that\n"
"     the correct-class gradient p_y - 1 is exactly 0 (the start of the\n"
"     absorption that drives slingshot loss spikes), beside p*ln(2).\n";

static void part_formats(void)
{
    static const char *const specs[] = {"bfloat16", "binary16", "tf32",
                                        "binary32", "binary64", "e4m3",
                                        "e5m2"};
    printf("1. Formats (exact values; 'nfi format SPEC' shows more)\n\n");
    printf("  %-9s %3s %6s %5s  %-24s %-14s %s\n", "format", "p", "emin",
           "emax", "largest finite", "smallest subn.", "epsilon");
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        nfi_format f;
        nfi_format_parse(specs[i], &f, NULL);
        mpfr_t max, min, eps;
        mpfr_inits2(2, max, min, eps, (mpfr_ptr)0);
        nfi_format_max_finite(&f, max);
        nfi_format_min_positive(&f, min);
        nfi_format_epsilon(&f, eps);
        mpfr_printf("  %-9s %3ld %6ld %5ld  %-24.6Rg %-14.4Rg %.4Rg\n",
                    specs[i], f.p, f.emin, f.emax, max, min, eps);
        mpfr_clears(max, min, eps, (mpfr_ptr)0);
    }
    printf("\n");
}

/* Evaluates op on doubles through an engine (formats inside binary64). */
static double eval(nfi_engine *e, nfi_op op, double a, double b)
{
    mpfr_t x, y, r;
    mpfr_inits2(53, x, y, r, (mpfr_ptr)0);
    mpfr_set_d(x, a, MPFR_RNDN);
    mpfr_set_d(y, b, MPFR_RNDN);
    nfi_engine_op(e, op, r, x, y, NULL);
    double out = mpfr_get_d(r, MPFR_RNDN);
    mpfr_clears(x, y, r, (mpfr_ptr)0);
    return out;
}

static void part_modes(void)
{
    nfi_format f;
    nfi_format_parse("bfloat16", &f, NULL);
    double a = 1.0, b = 3.0 * 0x1p-10;
    printf("2. 1 + 3*2^-10 in bfloat16 (8 significant bits: the neighbours "
           "of the\n   exact sum are 1 and 1 + 2^-7; it lies 3/8 of the "
           "way up)\n\n");
    for (int m = 0; m < NFI_ROUND_COUNT; m++) {
        nfi_engine e;
        nfi_engine_init(&e, NFI_ENGINE_AUTO, &f, (nfi_round)m, 0, NULL);
        if (m != NFI_ROUND_SR) {
            printf("  %-4s %a\n", nfi_round_name((nfi_round)m),
                   eval(&e, NFI_OP_ADD, a, b));
            continue;
        }
        int ups = 0, n = 100000;
        for (int i = 0; i < n; i++)
            ups += eval(&e, NFI_OP_ADD, a, b) > 1.0;
        printf("  %-4s up in %d of %d draws (%.2f%%; exact share "
               "37.5%%)\n", "sr", ups, n, 100.0 * ups / n);
    }
    printf("\n");
}

/* Softmax with the correct logit 0 and one competitor at -margin, as the
 * max-shifted scheme computes it: s = 1 + exp(-margin), p_y = 1 / s; the
 * gradient p_y - 1 is zero exactly when p_y rounds to 1. */
static int absorbed(nfi_engine *e, double margin)
{
    double ez = eval(e, NFI_OP_EXP, -margin, 0.0);
    double s = eval(e, NFI_OP_ADD, 1.0, ez);
    double py = eval(e, NFI_OP_DIV, 1.0, s);
    return eval(e, NFI_OP_SUB, py, 1.0) == 0.0;
}

static void part_absorption(void)
{
    static const char *const specs[] = {"e4m3", "e5m2", "bfloat16",
                                        "binary16", "p=20,emin=-126,emax=127",
                                        "binary32", "binary64"};
    printf("3. Softmax absorption with one competitor: the smallest "
           "margin z_y - z_j\n   (a format value) from which the computed "
           "correct-class gradient is 0\n\n");
    printf("  %-24s %3s  %-22s %s\n", "format", "p", "margin (format value)",
           "p*ln(2)");
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        nfi_format f;
        nfi_format_parse(specs[i], &f, NULL);
        nfi_engine e;
        nfi_engine_init(&e, NFI_ENGINE_AUTO, &f, NFI_ROUND_RNE, 0, NULL);
        /* Bisection over format values: lo is not absorbed, hi is. */
        double lo = 0.0, hi = eval(&e, NFI_OP_CVT, 64.0, 0.0);
        for (int it = 0; it < 200; it++) {
            double mid = eval(&e, NFI_OP_CVT, lo + (hi - lo) / 2, 0.0);
            if (mid <= lo || mid >= hi) {
                /* Neighbouring format values: done. */
                break;
            }
            if (absorbed(&e, mid))
                hi = mid;
            else
                lo = mid;
        }
        printf("  %-24s %3ld  %-22.10g %.4f\n", specs[i], f.p, hi,
               (double)f.p * log(2.0));
    }
    printf("\n  The correct-class gradient vanishes while the competitor's "
           "exp(-margin)\n  is still far from underflow: the class "
           "gradients no longer sum to zero.\n\n");
}

int nfi_cmd_demo(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            fputs(demo_usage, stdout);
            return 0;
        }
        fprintf(stderr, "nfi demo: takes no arguments\n%s", demo_usage);
        return 2;
    }
    printf("nfi demo: exact rounding into any format\n\n");
    part_formats();
    part_modes();
    part_absorption();
    printf("Next: 'nfi arith --format bf16 -e \"add 1 2^-9\"', 'nfi format "
           "e4m3',\n'nfi train --steps 2000 --out run1' (the canonical MLP "
           "in binary32), 'nfi help'.\n");
    return 0;
}
