/* nfi verify: absorption and underflow thresholds, found by search.
 *
 * A threshold is not computed from a formula: the predicate of
 * verify/predicate.h is evaluated on samples whose correct logit is z_y
 * and whose k - 1 competitors all equal c, and c runs over the values of
 * the format below z_y, ordered as the integers that index them
 * (..., -2^emin, ..., -0/+0, ..., 2^emin, ...).  Bisection between
 * c = z_y (margin 0) and the least c >= z_y - M (M the largest finite
 * value; so margins up to about M are searched) finds the
 * largest c at which the predicate holds, with its upper neighbour, at
 * which it does not; the margins z_y - c are exact.  Bisection assumes
 * the predicate is monotone in the margin; the search checks it on a
 * few neighbours on each side of the boundary and reports a violation
 * instead of hiding it.  A different non-monotone region far from the
 * boundary would not be seen. */
#ifndef NFI_THRESHOLD_H
#define NFI_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>

#include <mpfr.h>

#include "predicate.h"

/* Which predicate is searched. */
typedef enum nfi_thr_event {
    NFI_THR_ABSORBED,  /* the computed grad_y is exactly 0 */
    NFI_THR_WRONG_ZERO /* every computed wrong-class gradient is 0 */
} nfi_thr_event;

/* Where the label sits among the k logits: first (index 0, summed
 * before the competitors) or last (index k - 1, the competitors summed
 * first, small terms before the large one). */
typedef enum nfi_thr_label {
    NFI_THR_LABEL_FIRST,
    NFI_THR_LABEL_LAST
} nfi_thr_label;

typedef enum nfi_thr_status {
    NFI_THR_FOUND,   /* a boundary between two neighbouring competitors */
    NFI_THR_AT_ZERO, /* the predicate holds already at margin 0 */
    NFI_THR_NEVER    /* it fails even at the largest margin searched */
} nfi_thr_status;

/* Neighbours checked on each side of a boundary. */
#define NFI_THR_SCAN 8

typedef struct nfi_thr_result {
    nfi_thr_status status;
    mpfr_t yes_margin;  /* FOUND: the smallest margin z_y - c at which the
                           predicate holds; AT_ZERO: 0 */
    mpfr_t no_margin;   /* FOUND: the largest margin at which it fails;
                           NEVER: the largest margin searched */
    mpfr_t yes_comp;    /* the competitor value of yes_margin */
    mpfr_t no_comp;     /* the competitor value of no_margin */
    bool monotone;      /* every scanned neighbour agrees */
    long evaluations;   /* predicate evaluations made */
} nfi_thr_result;

/* Initialises the MPFR numbers of r (values set by nfi_thr_search). */
void nfi_thr_result_init(nfi_thr_result *r);
void nfi_thr_result_clear(nfi_thr_result *r);

/* Searches the boundary of `event` for spec s with k >= 2 logits: the
 * correct one z_y (a finite value of s's format, any precision) and
 * k - 1 equal competitors, the label placed as `label` says.  Margins
 * are exact (their precision raised as needed); when z_y = 0 they are
 * values of the format.  Returns 0, or -1 with an error for k < 2, a
 * z_y that is not a finite value of the format, or a bad spec. */
int nfi_thr_search(const nfi_pred_spec *s, nfi_thr_event event, size_t k,
                   nfi_thr_label label, mpfr_srcptr z_y,
                   nfi_thr_result *out, nfi_error *err);

#endif
