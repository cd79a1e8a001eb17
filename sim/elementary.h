/* nfi: exp and log in binary64 with a proven relative error bound, the
 * first stage of the fast engine's correctly rounded exp and log.
 *
 * nfi_elem_exp(x) and nfi_elem_log(x) return y with
 * |y - f(x)| <= NFI_ELEM_REL_ERROR * |f(x)| for every x for which they
 * return 1 (the argument behind the bound is written beside the code).
 * They return 0, leaving *y unset, where the bound is not claimed: results
 * outside [2^-1000, 2^1000] for exp, non-positive or non-finite arguments
 * and x == 1 (an exact case) for log.  The caller rounds both ends of the
 * enclosure and falls back to MPFR when they differ. */
#ifndef NFI_ELEMENTARY_H
#define NFI_ELEMENTARY_H

#define NFI_ELEM_REL_ERROR 0x1p-48

int nfi_elem_exp(double x, double *y);

/* nfi_elem_exp on four arguments at once, the same operations in the
 * same order on each (so y[l] is bit for bit what nfi_elem_exp(x[l])
 * gives): sets bit l of the result when lane l answered, and y[l] then;
 * lanes outside the domain are left for the scalar function. */
unsigned nfi_elem_exp4(const double x[4], double y[4]);
/* The same on eight arguments (two independent groups of four: about
 * twice the throughput where there are eight to do). */
unsigned nfi_elem_exp8(const double x[8], double y[8]);
int nfi_elem_log(double x, double *y);

/* The second stage, for the formats the first cannot decide (p near
 * 53): exp(x) as an unevaluated sum hi + lo of two binary64 numbers with
 * |hi + lo - exp(x)| <= NFI_ELEM_DD_REL_ERROR * exp(x) and |lo| <= half
 * an ulp of hi, for -665 < x < 690 (exp(x) within [2^-959, 2^996];
 * returns 1); returns 0, leaving hi and lo unset, elsewhere (and for
 * NaN). */
#define NFI_ELEM_DD_REL_ERROR 0x1p-96

int nfi_elem_exp_dd(double x, double *hi, double *lo);

/* Its table: 2^(j/32) ~ hi + lo for 0 <= j < 32 (for the tests). */
double nfi_elem_exp2_32nd(int j, double *lo);

/* The split of ln 2 the two use: LN2_HI has 42 significant bits, so
 * k * LN2_HI is exact for |k| < 2^11; LN2_LO = RN(ln 2 - LN2_HI).  Exposed
 * for a test that checks them against MPFR. */
extern const double nfi_elem_ln2_hi, nfi_elem_ln2_lo;

#endif
