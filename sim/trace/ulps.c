/* nfi trace: distances in ulps.  See ulps.h. */
#include "ulps.h"

#include <math.h>

static long double ordinal(double x, const nfi_format *f)
{
    double ax = fabs(x);
    long double o;
    if (ax < ldexp(1.0, (int)f->emin)) {
        o = ldexpl((long double)ax, (int)(f->p - 1 - f->emin));
    } else {
        int k;
        frexp(ax, &k); /* ax = m 2^k, m in [0.5, 1) */
        long e = k - 1;
        o = (long double)(e - f->emin) * ldexpl(1.0L, (int)(f->p - 1)) +
            ldexpl((long double)ax, (int)(f->p - 1 - e));
    }
    return signbit(x) ? -o : o;
}

double nfi_ulp_distance(double a, double b, const nfi_format *f)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0.0 : INFINITY;
    if (a == b)
        return 0.0;
    if (isinf(a) || isinf(b))
        return INFINITY;
    return (double)fabsl(ordinal(a, f) - ordinal(b, f));
}

/* The next value of F above x >= 0 (finite, in F). */
static double next_up(double x, const nfi_format *f)
{
    long e = x < ldexp(1.0, (int)f->emin) ? f->emin
                                            : (long)ilogb(x);
    return x + ldexp(1.0, (int)(e - f->p + 1));
}

double nfi_ulp_distance_count(double a, double b, const nfi_format *f)
{
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    if (a < 0 && b <= 0)
        return nfi_ulp_distance_count(-b, -a, f);
    if (a < 0)
        return nfi_ulp_distance_count(0.0, -a, f) +
               nfi_ulp_distance_count(0.0, b, f);
    double n = 0;
    for (double x = a; x < b; x = next_up(x, f))
        n++;
    return n;
}

double nfi_rel_error(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0.0 : INFINITY;
    if (a == b)
        return 0.0;
    if (isinf(a) || isinf(b))
        return INFINITY;
    double m = fmax(fabs(a), fabs(b));
    return fabs(a - b) / m;
}

const nfi_format *nfi_format_coarser(const nfi_format *a,
                                     const nfi_format *b)
{
    if (b->p < a->p || (b->p == a->p && b->emin > a->emin))
        return b;
    return a;
}
