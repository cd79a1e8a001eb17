/* Tests of verify/fit: fits of series whose coefficients are known.
 *
 * 1. Points on a line y = 3 - 0.5 x (x = 0..9, all values exact in
 *    binary64): slope, intercept and R^2 = 1 to a few ulps.
 * 2. Points on y = 1 + 2 (x - 1000) + 0.25 (x - 1000)^2 around x = 1000:
 *    the quadratic fit recovers the coefficients of the centred
 *    abscissa and R^2 = 1; a line through them has R^2 < 1.
 * 3. Non-finite points are skipped; fewer than two (three) points or
 *    equal abscissas are refused. */
#include <math.h>
#include <stdio.h>

#include "fit.h"
#include "harness.h"

static bool near(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(1, fabs(b));
}

static void test_line(void)
{
    double x[10], y[10];
    for (int i = 0; i < 10; i++) {
        x[i] = i;
        y[i] = 3 - 0.5 * i;
    }
    nfi_fit_line f;
    check_true(nfi_fit_line_xy(x, y, 10, &f) == 0, "line fit fails");
    check_true(f.n == 10 && near(f.b, -0.5, 1e-14) && near(f.a, 3, 1e-14)
               && near(f.r2, 1, 1e-14), "line: n %zu a %.17g b %.17g "
               "r2 %.17g", f.n, f.a, f.b, f.r2);

    y[4] = NAN;
    x[7] = INFINITY;
    check_true(nfi_fit_line_xy(x, y, 10, &f) == 0 && f.n == 8 &&
               near(f.b, -0.5, 1e-14), "skipping: n %zu b %.17g", f.n,
               f.b);
    check_true(nfi_fit_line_xy(x, y, 1, &f) != 0 && f.n == 1,
               "one point accepted");
    double same[3] = {2, 2, 2};
    check_true(nfi_fit_line_xy(same, y, 3, &f) != 0,
               "equal abscissas accepted");
}

static void test_quadratic(void)
{
    double x[21], y[21], c[3], xm, r2;
    for (int i = 0; i < 21; i++) {
        double u = i - 10;
        x[i] = 1000 + u;
        y[i] = 1 + 2 * u + 0.25 * u * u;
    }
    check_true(nfi_fit_quadratic(x, y, 21, c, &xm, &r2) == 0,
               "quadratic fit fails");
    check_true(xm == 1000 && near(c[0], 1, 1e-12) && near(c[1], 2, 1e-12)
               && near(c[2], 0.25, 1e-12) && near(r2, 1, 1e-12),
               "quadratic: xm %.17g c %.17g %.17g %.17g r2 %.17g", xm,
               c[0], c[1], c[2], r2);
    nfi_fit_line f;
    nfi_fit_line_xy(x, y, 21, &f);
    check_true(f.r2 < 0.99, "a line through a parabola: r2 %.17g", f.r2);
    check_true(nfi_fit_quadratic(x, y, 2, c, &xm, &r2) != 0,
               "two points accepted for a quadratic");
}

int main(void)
{
    harness_init("test_fit", 0x666974ULL);
    test_line();
    test_quadratic();
    return harness_finish();
}
