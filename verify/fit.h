/* nfi verify: least-squares fits of a logged series, for the growth
 * claims.
 *
 * All arithmetic is binary64 and not exact: these are statistics of
 * measured values, whose own rounding errors (about 1e-16 relative) are
 * far below any threshold a claim applies to them.  Abscissas are
 * centred on their mean before the normal equations are formed, which
 * keeps the fits well conditioned for steps up to millions. */
#ifndef NFI_VERIFY_FIT_H
#define NFI_VERIFY_FIT_H

#include <stddef.h>

/* y ~ a + b x. */
typedef struct nfi_fit_line {
    size_t n;      /* points used */
    double a, b;   /* intercept, slope */
    double r2;     /* coefficient of determination: 1 - SSres / SStot;
                      1 when SStot = 0 and the fit is exact */
} nfi_fit_line;

/* Fits y[i] ~ a + b x[i] over i in [0, n), skipping points where x or y
 * is not finite.  Returns 0, or -1 (out->n set) when fewer than two
 * points remain or every x is equal. */
int nfi_fit_line_xy(const double *x, const double *y, size_t n,
                    nfi_fit_line *out);

/* y ~ c0 + c1 x + c2 x^2 with its R^2; the same conditions, three
 * points at least.  c[] receives the coefficients of the centred
 * abscissa u = x - xm: y ~ c[0] + c[1] u + c[2] u^2, xm in *xm. */
int nfi_fit_quadratic(const double *x, const double *y, size_t n,
                      double c[3], double *xm, double *r2);

#endif
