/* nfi: a linear layer whose inputs are zeros and ones, computed as a
 * gather, with the same rounded results as the full matrix product.
 *
 * The first layer of the modular-arithmetic MLP sees one-hot pairs: each
 * input row holds two ones and 2P - 2 zeros.  nfi_matmul forms every
 * product x * w and sums all of them in the declared order; here only
 * the terms with x = 1 are summed, in sequence (a zero among them adds
 * nothing to a non-zero sum, by 2 below).  Why the results are the same
 * (all modes except stochastic rounding; see "When it applies" below):
 *
 *   1. Products.  x * w with x in {0, 1} and w a finite value of the
 *      accumulator's format is exact: w, or a zero (of either sign).
 *   2. Zeros change no non-zero partial sum.  Adding a zero to a non-zero
 *      value v gives v exactly, and adding a non-zero y to a zero gives y
 *      exactly, in every rounding mode.  Induction over the additions of
 *      the full sum, in sequential order: each partial sum equals the
 *      partial sum of the non-zero terms alone (the first non-zero term
 *      by itself, then each later one added in turn), up to the sign of
 *      a zero.  Every addition of two non-zero values is the same
 *      operation on the same operands in both sums, so it rounds the
 *      same way.
 *   3. Other orders.  Pairwise, blocked, lanes and exact combine partial
 *      sums over disjoint sets of terms.  With at most two non-zero
 *      terms a and b, every partial sum is a zero, a, b, or (once, where
 *      the two sets meet) the rounded a + b; adding zeros to it keeps it
 *      when it is not zero.  So the result is the rounded a + b (a alone,
 *      b alone), as the gather computes it.  The exact order rounds
 *      a + b once too.  Rows with more ones use the gather only in the
 *      sequential order.
 *   4. Zeros themselves.  When the gathered sum is zero (no non-zero
 *      term, or exact cancellation), the sign of the full sum's zero
 *      depends on the signs of all the skipped zero products and on the
 *      mode.  Such elements are recomputed with the full product
 *      (nfi_matmul on that one element), except in the weight gradient
 *      when every term of the full sum is zero (the hot d's are zero):
 *      then each term is a zero with the sign of its d, and the sum is
 *      -0 exactly when every term is -0 (any, in RD; IEEE 754 6.3).
 *      What remains for the fallback is rare (exact cancellation).
 *   5. Non-finite weights.  0 * inf is NaN in the full product and is
 *      skipped by the gather; a row of weights (or a column of incoming
 *      gradients) holding an infinity or NaN is therefore computed with
 *      the full product.
 *
 * After the sum, the bias is added and the result cast into the output
 * role exactly as nfi_matmul does (sim/matmul.h), through the same
 * nfi_arith handles, so the gather runs on the fast engine and on the
 * MPFR reference twin alike.
 *
 * When it applies: not under stochastic rounding (the full product takes
 * one stochastic index per product and per addition, exact or not; the
 * gather would have to reproduce those indices), and only when 1 is a
 * value of the accumulator's format (emin <= 0 <= emax).  Otherwise the
 * functions below fall back to nfi_matmul as a whole. */
#ifndef NFI_MODELS_ONEHOT_H
#define NFI_MODELS_ONEHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "arith.h"
#include "matmul.h"
#include "reduce.h"

/* Z[s][o] = cast_out(sum_k X[s][k] W[o][k] + bias[o]) for s < n, o < m,
 * k < width: the forward product X W^T (+ bias) of nfi_matmul, where X
 * (n, width, row-major) holds only zeros and ones (values in every
 * format), W (m, width) and the bias (m, or NULL) are values of
 * w_format, cast into the accumulator as nfi_matmul does.  Bit-identical
 * to nfi_matmul(acc, out, order, n, m, width, X, W, bias, w_format, z).
 * Returns 0, or -1 when memory runs out (z is then unspecified). */
int nfi_onehot_forward(nfi_arith *acc, nfi_arith *out,
                       const nfi_reduction *order, size_t n, size_t m,
                       size_t width, const double *x, const double *w,
                       const double *bias, const nfi_format *w_format,
                       double *z);

/* dW[o][k] = cast_out(sum_s D[s][o] X[s][k]) for o < m, k < width, s < n:
 * the weight gradient D^T X of nfi_matmul, with D (n, m) values of the
 * accumulator's format and X (n, width) zeros and ones.  Bit-identical to
 * the nfi_matmul call with views {d, 1, m} and {x, 1, width}.  The gather
 * is used in the sequential order; other orders take nfi_matmul.
 * Returns 0, or -1 when memory runs out. */
int nfi_onehot_weight_grad(nfi_arith *acc, nfi_arith *out,
                           const nfi_reduction *order, size_t n, size_t m,
                           size_t width, const double *d, const double *x,
                           double *dw);

#endif
