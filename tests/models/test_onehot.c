/* Tests of models/onehot: the gather against the full product.
 *
 * For formats from 3 to 53 bits, every deterministic mode (and SR, where
 * the functions must fall back), every reduction order, on the fast
 * engine and on the MPFR twin, nfi_onehot_forward and
 * nfi_onehot_weight_grad must give the bit patterns of nfi_matmul on the
 * same operands.  The operands are built to reach the fallbacks of
 * onehot.h: one-hot pairs and rows with 0, 1 and 3 ones and a row with a
 * value other than 0 and 1; weights with zeros of both signs, exact
 * cancellations (w[o][a] = -w[o][b]), an infinity and a NaN; incoming
 * gradients with a dead unit (all zeros of mixed signs) and an
 * infinity, a unit off for some samples and one off for all but one
 * (all of its zeros -0).  Weights in another format than the
 * accumulator's exercise the casts, and an output format with a narrow
 * range casts non-zero sums to zero.  The fused sums of RNE with p <= 25
 * (sim/matmul_fast.h, nfi_rows_sum_fast) are reached with values scaled
 * down to the subnormal range and up to overflow, for p from 3 to 25,
 * and so are those of 26 <= p <= 52 (sim/matmul_wide.h), with and
 * without subnormals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "onehot.h"

#define ROWS 9
#define WIDTH 8 /* two halves of 4, as one-hot(a) ++ one-hot(b) */
#define UNITS 21 /* the fused sums take 16, 4, then 1 at a time */

static uint64_t rng_state;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double value_scale = 1.0;

/* A value in about [-4, 4) times value_scale, with zeros now and then. */
static double random_value(void)
{
    uint64_t r = next_random();
    if (r % 11 == 0)
        return r % 2 ? 0.0 : -0.0;
    return ((double)(r >> 11) * 0x1p-53 - 0.5) * 8.0 * value_scale;
}

static void make_inputs(double *x)
{
    memset(x, 0, ROWS * WIDTH * sizeof *x);
    for (size_t s = 0; s < 5; s++) {
        x[s * WIDTH + next_random() % 4] = 1.0;
        x[s * WIDTH + 4 + next_random() % 4] = 1.0;
    }
    /* row 5: no ones; row 6: one; row 7: three; row 8: a 2 in it */
    x[6 * WIDTH + 3] = 1.0;
    x[7 * WIDTH + 0] = x[7 * WIDTH + 2] = x[7 * WIDTH + 5] = 1.0;
    x[8 * WIDTH + 1] = 1.0;
    x[8 * WIDTH + 6] = 2.0;
}

/* Weights (UNITS, WIDTH) in format wf; unit 1 cancels on samples with
 * a = b, unit 6 is -0 but for one weight, unit 4 holds an infinity,
 * unit 5 a NaN (when `special`). */
static void make_weights(nfi_arith *wf, double *w, double *bias,
                         bool special)
{
    for (size_t i = 0; i < UNITS * WIDTH; i++)
        w[i] = nfi_arith_round(wf, random_value());
    for (size_t k = 0; k < 4; k++)
        w[1 * WIDTH + 4 + k] = -w[1 * WIDTH + k];
    for (size_t o = 0; o < UNITS; o++)
        bias[o] = nfi_arith_round(wf, random_value());
    bias[1] = 0.0;
    /* unit 6: every weight -0 but one, and the bias -0: for samples not
     * hot on that one, the gathered sum is -0 where the full product's
     * term 0 * 0.5 = +0 makes it +0 */
    for (size_t k = 0; k < WIDTH; k++)
        w[6 * WIDTH + k] = -0.0;
    w[6 * WIDTH + 3] = 0.5;
    bias[6] = -0.0;
    if (special) {
        w[4 * WIDTH + 2] = INFINITY;
        w[5 * WIDTH + 7] = NAN;
    }
}

/* Incoming gradients (ROWS, UNITS), values of acc's format: unit 2 is
 * dead (zeros of both signs), unit 3 holds an infinity (`special`). */
static void make_gradients(nfi_arith *acc, double *d, bool special)
{
    for (size_t i = 0; i < ROWS * UNITS; i++)
        d[i] = nfi_arith_round(acc, random_value());
    for (size_t s = 0; s < ROWS; s++) {
        d[s * UNITS + 2] = s % 3 ? 0.0 : -0.0;
        /* unit 0: off for some samples (zeros of both signs), unit 5: off
         * for all but one, whose zeros are all -0 */
        if (s % 2 == 0)
            d[s * UNITS + 0] = s % 4 ? -0.0 : 0.0;
        if (s != 4)
            d[s * UNITS + 5] = -0.0;
    }
    if (special)
        d[4 * UNITS + 3] = -INFINITY;
}

static void compare(const char *what, const char *label, const double *want,
                    const double *got, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!check_true(same_double(want[i], got[i]),
                        "%s %s: element %zu: full %a, gather %a", what,
                        label, i, want[i], got[i]))
            return;
    }
}

static void run_case(const char *acc_spec, const char *w_spec,
                     nfi_round mode, const char *order_text, bool reference,
                     bool special)
{
    nfi_format af, wfmt;
    nfi_reduction order;
    nfi_error err;
    nfi_arith acc[2], out[2], wf, af_rne;
    if (nfi_format_parse(acc_spec, &af, &err) != 0 ||
        nfi_format_parse(w_spec, &wfmt, &err) != 0 ||
        nfi_reduction_parse(order_text, &order, &err) != 0 ||
        nfi_arith_init(&wf, &wfmt, NFI_ROUND_RNE, 1, reference, &err) != 0 ||
        nfi_arith_init(&af_rne, &af, NFI_ROUND_RNE, 1, reference,
                       &err) != 0) {
        check_true(false, "setup %s %s: %s", acc_spec, w_spec, err.message);
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (nfi_arith_init(&acc[i], &af, mode, 5, reference, &err) != 0 ||
            nfi_arith_init(&out[i], &wfmt, mode, 9, reference, &err) != 0) {
            check_true(false, "setup: %s", err.message);
            return;
        }
    }
    char label[160];
    snprintf(label, sizeof label, "acc %s w %s mode %s order %s %s%s",
             acc_spec, w_spec, nfi_round_name(mode), order_text,
             reference ? "mpfr" : "fast", special ? " special" : "");

    double x[ROWS * WIDTH], w[UNITS * WIDTH], bias[UNITS];
    double want[ROWS * UNITS * WIDTH], got[ROWS * UNITS * WIDTH];
    make_inputs(x);
    make_weights(&wf, w, bias, special);
    nfi_matrix_view xv = {x, WIDTH, 1, NULL};
    nfi_matrix_view wv = {w, WIDTH, 1, &wfmt};
    int s0 = nfi_matmul(&acc[0], &out[0], &order, ROWS, UNITS, WIDTH, xv, wv,
                        bias, &wfmt, want);
    int s1 = nfi_onehot_forward(&acc[1], &out[1], &order, ROWS, UNITS, WIDTH,
                                x, w, bias, &wfmt, got);
    check_true(s0 == 0 && s1 == 0, "forward %s: status", label);
    compare("forward", label, want, got, ROWS * UNITS);
    if (mode == NFI_ROUND_SR)
        check_true(acc[0].fast.counter == acc[1].fast.counter &&
                   out[0].fast.counter == out[1].fast.counter,
                   "forward %s: stochastic counters differ", label);

    double d[ROWS * UNITS];
    make_gradients(&af_rne, d, special);
    nfi_matrix_view dt = {d, 1, UNITS, NULL};
    nfi_matrix_view xt = {x, 1, WIDTH, NULL};
    s0 = nfi_matmul(&acc[0], &out[0], &order, UNITS, WIDTH, ROWS, dt, xt,
                    NULL, NULL, want);
    s1 = nfi_onehot_weight_grad(&acc[1], &out[1], &order, ROWS, UNITS,
                                WIDTH, d, x, got);
    check_true(s0 == 0 && s1 == 0, "weight gradient %s: status", label);
    compare("weight gradient", label, want, got, UNITS * WIDTH);
    if (mode == NFI_ROUND_SR)
        check_true(acc[0].fast.counter == acc[1].fast.counter &&
                   out[0].fast.counter == out[1].fast.counter,
                   "weight gradient %s: stochastic counters differ", label);
}

int main(void)
{
    harness_init("test_onehot", 0x0e4e7a11ULL);
    rng_state = harness_seed() | 1;
    static const char *const pairs[][2] = {
        {"binary32", "binary32"}, {"bfloat16", "bfloat16"},
        {"binary64", "binary64"}, {"e5m2", "e5m2"},
        {"p=11,emin=-3,emax=4", "p=11,emin=-3,emax=4"},
        {"binary32", "bfloat16"}, {"bfloat16", "binary32"},
        {"p=3,emin=-2,emax=2,subnormals=off", "e4m3"},
        {"binary32", "p=5,emin=-2,emax=3,subnormals=off"},
    };
    static const char *const orders[] = {"sequential", "pairwise",
                                         "blocked:3", "lanes:4", "exact"};
    static const nfi_round modes[] = {NFI_ROUND_RNE, NFI_ROUND_RNA,
                                      NFI_ROUND_RZ, NFI_ROUND_RU,
                                      NFI_ROUND_RD, NFI_ROUND_SR};
    for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++)
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
            for (size_t o = 0; o < sizeof orders / sizeof *orders; o++)
                for (int ref = 0; ref < 2; ref++)
                    for (int rep = 0; rep < 6; rep++)
                        run_case(pairs[p][0], pairs[p][1], modes[m],
                                 orders[o], ref, rep % 3 == 2);
    static const char *const plain[] = {
        "p=3,emin=-6,emax=5", "p=8,emin=-126,emax=127", "binary16",
        "p=16,emin=-30,emax=30", "p=20,emin=-126,emax=127",
        "p=25,emin=-126,emax=127", "p=20,emin=-126,emax=127,subnormals=off",
        "p=26,emin=-126,emax=127", "p=30,emin=-14,emax=15",
        "p=40,emin=-60,emax=60", "p=52,emin=-126,emax=127",
        "p=28,emin=-126,emax=127,subnormals=off"};
    for (size_t p = 0; p < sizeof plain / sizeof *plain; p++) {
        nfi_format f = harness_format(plain[p]);
        double scales[] = {1.0, ldexp(1.0, (int)f.emin - 1),
                           ldexp(1.0, (int)f.emin + 2),
                           ldexp(1.0, (int)f.emax - 2)};
        for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
            value_scale = scales[k];
            for (int ref = 0; ref < 2; ref++)
                for (int rep = 0; rep < 6; rep++)
                    run_case(plain[p], plain[p], NFI_ROUND_RNE,
                             "sequential", ref, rep % 3 == 2);
        }
    }
    value_scale = 1.0;
    return harness_finish();
}
