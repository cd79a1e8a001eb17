/* nfi: the native engine: binary32 and binary64 with RNE, subnormals on
 * and overflow to infinity, computed by C float and double arithmetic.
 * The build compiles with -ffp-contract=off (no implicit FMA) and nothing
 * enables flush-to-zero, so + - * / sqrt, fma and conversion are the IEEE
 * 754 correctly rounded operations.  exp and log are not correctly
 * rounded in C libraries; the native engine takes them from the fast
 * engine.  Values are binary64 numbers in the scalar interface and C
 * floats or doubles in the array interface. */
#ifndef NFI_ENGINE_NATIVE_H
#define NFI_ENGINE_NATIVE_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "format.h"
#include "round.h"

/* 32 for binary32, 64 for binary64 (subnormals on, overflow=inf) in RNE,
 * 0 when the native engine cannot carry out (f, mode). */
int nfi_native_width(const nfi_format *f, nfi_round mode);

/* The basic operations (+ - * / sqrt and the cast) on values held in
 * doubles, inline so that kernels on these formats run at the speed of
 * C float and double: sets *r and returns true, or returns false for any
 * other operation. */
static inline bool nfi_native_basic(int width, nfi_op op, double x,
                                    double y, double *r)
{
    if (width == 32) {
        float a = (float)x, b = (float)y; /* exact: binary32 values */
        switch (op) {
        case NFI_OP_ADD: *r = a + b; return true;
        case NFI_OP_SUB: *r = a - b; return true;
        case NFI_OP_MUL: *r = a * b; return true;
        case NFI_OP_DIV: *r = a / b; return true;
        case NFI_OP_SQRT: *r = sqrtf(a); return true;
        case NFI_OP_CVT: *r = (float)x; return true; /* RNE of x */
        default: return false;
        }
    }
    switch (op) {
    case NFI_OP_ADD: *r = x + y; return true;
    case NFI_OP_SUB: *r = x - y; return true;
    case NFI_OP_MUL: *r = x * y; return true;
    case NFI_OP_DIV: *r = x / y; return true;
    case NFI_OP_SQRT: *r = sqrt(x); return true;
    case NFI_OP_CVT: *r = x; return true;
    default: return false;
    }
}

/* op on format values held in doubles; exp and log are not handled here
 * (returns NaN for them: the caller uses the fast engine). */
double nfi_native_op(int width, nfi_op op, double a, double b, double c);

void nfi_native_add_f32(size_t n, float *out, const float *a,
                        const float *b);
void nfi_native_mul_f32(size_t n, float *out, const float *a,
                        const float *b);
float nfi_native_dot_f32(size_t n, const float *a, const float *b);

#endif
