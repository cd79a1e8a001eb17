/* nfi verify: least-squares fits (fit.h). */
#include "fit.h"

#include <math.h>

/* Mean of the finite pairs, and their count. */
static size_t finite_mean(const double *x, const double *y, size_t n,
                          double *xm, double *ym)
{
    size_t m = 0;
    double sx = 0, sy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        sx += x[i];
        sy += y[i];
        m++;
    }
    *xm = m > 0 ? sx / (double)m : 0;
    *ym = m > 0 ? sy / (double)m : 0;
    return m;
}

int nfi_fit_line_xy(const double *x, const double *y, size_t n,
                    nfi_fit_line *out)
{
    double xm, ym;
    size_t m = finite_mean(x, y, n, &xm, &ym);
    *out = (nfi_fit_line){.n = m, .a = NAN, .b = NAN, .r2 = NAN};
    if (m < 2)
        return -1;

    double sxx = 0, sxy = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        double u = x[i] - xm, v = y[i] - ym;
        sxx += u * u;
        sxy += u * v;
        syy += v * v;
    }
    if (sxx == 0)
        return -1;

    out->b = sxy / sxx;
    out->a = ym - out->b * xm;
    /* SSres = syy - b sxy for the least-squares line. */
    double res = fmax(syy - out->b * sxy, 0);
    out->r2 = syy > 0 ? 1 - res / syy : 1;
    return 0;
}

/* Solves the 3 x 3 system m z = r by Gaussian elimination with partial
 * pivoting.  Returns -1 when it is singular. */
static int solve3(double m[3][3], double r[3], double z[3])
{
    for (int c = 0; c < 3; c++) {
        int p = c;
        for (int i = c + 1; i < 3; i++)
            if (fabs(m[i][c]) > fabs(m[p][c]))
                p = i;
        if (m[p][c] == 0)
            return -1;
        for (int j = 0; j < 3; j++) {
            double t = m[c][j];
            m[c][j] = m[p][j];
            m[p][j] = t;
        }
        double t = r[c];
        r[c] = r[p];
        r[p] = t;
        for (int i = c + 1; i < 3; i++) {
            double f = m[i][c] / m[c][c];
            for (int j = c; j < 3; j++)
                m[i][j] -= f * m[c][j];
            r[i] -= f * r[c];
        }
    }
    for (int c = 2; c >= 0; c--) {
        double s = r[c];
        for (int j = c + 1; j < 3; j++)
            s -= m[c][j] * z[j];
        z[c] = s / m[c][c];
    }
    return 0;
}

int nfi_fit_quadratic(const double *x, const double *y, size_t n,
                      double c[3], double *xm, double *r2)
{
    double ym;
    size_t m = finite_mean(x, y, n, xm, &ym);
    c[0] = c[1] = c[2] = NAN;
    *r2 = NAN;
    if (m < 3)
        return -1;

    /* Normal equations in u = x - xm, each entry scaled by the spread
     * of u so that u^4 stays in range. */
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i]))
            s = fmax(s, fabs(x[i] - *xm));
    if (s == 0)
        return -1;
    double a[3][3] = {{0}}, r[3] = {0}, z[3];
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        double u = (x[i] - *xm) / s, pw[3] = {1, u, u * u};
        for (int j = 0; j < 3; j++) {
            r[j] += pw[j] * y[i];
            for (int k = 0; k < 3; k++)
                a[j][k] += pw[j] * pw[k];
        }
    }
    if (solve3(a, r, z) != 0)
        return -1;
    c[0] = z[0];
    c[1] = z[1] / s;
    c[2] = z[2] / (s * s);

    double res = 0, tot = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        double u = x[i] - *xm, f = c[0] + c[1] * u + c[2] * u * u;
        res += (y[i] - f) * (y[i] - f);
        tot += (y[i] - ym) * (y[i] - ym);
    }
    *r2 = tot > 0 ? 1 - res / tot : 1;
    return 0;
}
