/* nfi: the native engine.  See engine_native.h. */
#include "engine_native.h"

#include <math.h>

#include "engine_fast.h"

int nfi_native_width(const nfi_format *f, nfi_round mode)
{
    if (mode != NFI_ROUND_RNE || !f->subnormals || !f->has_inf ||
        f->reserved_top != 0 || f->overflow != NFI_OVERFLOW_INF)
        return 0;
    if (f->p == 24 && f->emin == -126 && f->emax == 127)
        return 32;
    if (f->p == 53 && f->emin == -1022 && f->emax == 1023)
        return 64;
    return 0;
}

double nfi_native_op(int width, nfi_op op, double a, double b, double c)
{
    double r;
    if (nfi_native_basic(width, op, a, b, &r))
        return r;
    switch (op) {
    case NFI_OP_FMA:
        return width == 32 ? fmaf((float)a, (float)b, (float)c)
                           : fma(a, b, c);
    case NFI_OP_NEG: return -a;
    case NFI_OP_ABS: return fabs(a);
    case NFI_OP_MIN: return nfi_fast_min(a, b);
    case NFI_OP_MAX: return nfi_fast_max(a, b);
    default: return NAN;
    }
}

void nfi_native_add_f32(size_t n, float *out, const float *a,
                        const float *b)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void nfi_native_mul_f32(size_t n, float *out, const float *a,
                        const float *b)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

float nfi_native_dot_f32(size_t n, const float *a, const float *b)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float prod = a[i] * b[i];
        acc = acc + prod;
    }
    return acc;
}
