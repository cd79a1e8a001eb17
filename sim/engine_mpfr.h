/* nfi: the MPFR engine, the ground truth every other engine is tested
 * against.  It handles every format nfi can describe (p up to
 * NFI_PREC_MAX, exponents within +-2^40).
 *
 * Method.  In RNE, RZ, RU and RD an operation is the textbook emulation
 * of the format by MPFR: one MPFR operation at precision p in the mode,
 * under the format's exponent range (bottom emin - p + 2, no top), then
 * mpfr_check_range and mpfr_subnormalize with the ternary value; overflow
 * is then decided by round.h's rules.  The argument that this is the
 * format's rounding, and a shortcut that skips the change of range when
 * the result lies safely inside the normal range, are written beside the
 * code (engine_mpfr.c, "the direct route").  Operands outside the
 * format's range, RNA and SR take the round-to-odd route: the operation
 * is evaluated by MPFR at working precision p + 40 toward zero over
 * MPFR's widest exponent range, and made round-to-odd (the last bit
 * forced to 1 when inexact).  That intermediate keeps the answer to every
 * question the final rounding asks: for p' >= p + 2 the round-to-odd
 * value rounds to the same p-bit result as the exact value in every mode
 * (Boldo and Melquiond, IEEE Trans. Computers 57(4), 2008), and it
 * compares with every stochastic-rounding threshold (p + 32 bits) as the
 * exact value does.  The intermediate is then rounded into the format by
 * MPFR with the format's exponent range (emin - p + 2, mpfr_check_range,
 * mpfr_subnormalize), see nfi_mpfr_round.
 *
 * All values are mpfr_t; results are set to precision p.  Functions save
 * and restore MPFR's exponent range.  Scratch numbers are kept per
 * thread, so no operation allocates once they have grown to size. */
#ifndef NFI_ENGINE_MPFR_H
#define NFI_ENGINE_MPFR_H

#include <stddef.h>
#include <stdint.h>

#include <gmp.h>
#include <mpfr.h>

#include "format.h"
#include "round.h"

/* Rounds x into f with mode (sr_bits is the u of stochastic rounding and
 * is ignored by the other modes).  x must be either exact (inexact == 0)
 * or the round-to-odd of the exact value at a precision of at least
 * p + 34 bits with inexact the sign of (x - exact) (any non-zero value
 * will do: round-to-odd carries the rest).  Sets rop to precision p.
 * Returns the sign of rop - exact (0 when exact) when it is known, as
 * MPFR's ternary value; NaN gives 0.  rop may be x. */
int nfi_mpfr_round(mpfr_t rop, mpfr_srcptr x, int inexact,
                   const nfi_format *f, nfi_round mode, uint32_t sr_bits);

/* Rounds the exact rational q into f. */
int nfi_mpfr_round_q(mpfr_t rop, const mpq_t q, const nfi_format *f,
                     nfi_round mode, uint32_t sr_bits);

/* rop = op(a, b, c) rounded once into f (operands beyond the operation's
 * arity are ignored and may be NULL).  Operands are format values (this is
 * not checked: an operand outside the format is used as the exact number
 * it is).  cvt rounds a of any precision.  NaN operands give NaN; the
 * sign rules of IEEE 754 apply to zeros and infinities; min and max
 * propagate NaN and order -0 below +0.  Returns the ternary value. */
int nfi_mpfr_op(nfi_op op, mpfr_t rop, mpfr_srcptr a, mpfr_srcptr b,
                mpfr_srcptr c, const nfi_format *f, nfi_round mode,
                uint32_t sr_bits);

/* Binary64 convenience for formats that fit binary64: operands and result
 * as doubles (exact).  Used as the fallback of the fast engine and by the
 * tests. */
double nfi_mpfr_op_d(nfi_op op, double a, double b, double c,
                     const nfi_format *f, nfi_round mode, uint32_t sr_bits);

/* The sequential dot product of a format that fits binary64, as a
 * kernel running every operation through nfi_mpfr_op_d computes it:
 * acc = a[0] b[0], then acc = acc + a[i] b[i] for i = 1 .. n-1, each
 * product and each sum rounded once into f (element i of a is
 * a[i * stride_a], likewise b).  The running values stay MPFR numbers
 * between operations; each operation is the one nfi_mpfr_op carries out,
 * on the same values, so the result is identical.  Only for RNE, RZ, RU
 * and RD (no stochastic indices); returns 0 with *out set, or -1 (mode
 * RNA or SR, or n = 0), when the caller must go operation by operation. */
int nfi_mpfr_dot_d(const nfi_format *f, nfi_round mode, size_t n,
                   const double *a, ptrdiff_t stride_a, const double *b,
                   ptrdiff_t stride_b, double *out);

/* Compares a and b exactly (any precisions). */
nfi_order nfi_mpfr_compare(mpfr_srcptr a, mpfr_srcptr b);

/* Whether x (of any precision) is a value of f: finite values on the grid
 * within range, infinities where f has them, NaN. */
int nfi_mpfr_in_format(mpfr_srcptr x, const nfi_format *f);

#endif
