"""Exact sums of binary64 values, rounded once, for the measurements.

nfi sums some measurements exactly (a fixed-point accumulator) and rounds
the result once to binary64 (docs/training.md, "Measurements").  Here a
binary64 value x is m * 2^k with m a 54-bit integer; an array is turned
into Python integers over a common exponent, summed exactly, and the
rational result is rounded by float(Fraction), which rounds to nearest,
ties to even.  The slow obvious twin is `fraction_sum`.
"""
from fractions import Fraction
import math

import numpy as np


def _integers(a, common=None):
    """(ints, k): the values of the float64 array a (finite) as Python
    integers n_i with a_i = n_i * 2^k; k is the smallest exponent of a
    non-zero value, or common when given (then it must not exceed it)."""
    a = np.ascontiguousarray(a, dtype=np.float64).ravel()
    m, e = np.frexp(a)
    mant = (m * 2.0 ** 53).astype(np.int64)   # exact: |m| < 1
    k = e.astype(np.int64) - 53
    nonzero = mant != 0
    if common is None:
        common = int(k[nonzero].min()) if nonzero.any() else 0
    shift = np.where(nonzero, k - common, 0)
    return [int(x) << int(s) for x, s in zip(mant.tolist(),
                                              shift.tolist())], common


def smallest_exponent(*arrays):
    """The k of _integers common to several arrays."""
    ks = []
    for a in arrays:
        a = np.asarray(a, dtype=np.float64).ravel()
        m, e = np.frexp(a)
        nz = m != 0
        if nz.any():
            ks.append(int(e[nz].min()) - 53)
    return min(ks) if ks else 0


def _fraction(n, k):
    return Fraction(n * (1 << k)) if k >= 0 else Fraction(n, 1 << -k)


def _nonfinite_sum(a):
    """The IEEE sum of an array holding an infinity or a NaN."""
    with np.errstate(invalid="ignore", over="ignore"):
        return float(np.sum(np.asarray(a, dtype=np.float64)))


def exact_sum(a):
    """RN(exact sum of a), as an exact Fraction when all are finite, else
    the float NaN or infinity the sum is."""
    a = np.asarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        return _nonfinite_sum(a)
    ints, k = _integers(a)
    return _fraction(sum(ints), k)


def rn(x):
    """Round an exact Fraction (or pass a float) to binary64."""
    return float(x)


def exact_sum_squares(a):
    """The exact sum of the squares of a, a Fraction (or inf/NaN)."""
    a = np.asarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        return _nonfinite_sum(a * a)
    ints, k = _integers(a)
    return _fraction(sum(n * n for n in ints), 2 * k)


def exact_sum_sq_diff(new, old):
    """The exact sum of (new_i - old_i)^2, a Fraction (or inf/NaN)."""
    new = np.asarray(new, dtype=np.float64)
    old = np.asarray(old, dtype=np.float64)
    if not (np.isfinite(new).all() and np.isfinite(old).all()):
        return _nonfinite_sum((new - old) ** 2)
    k = smallest_exponent(new, old)
    a, _ = _integers(new, k)
    b, _ = _integers(old, k)
    return _fraction(sum((x - y) * (x - y) for x, y in zip(a, b)), 2 * k)


def fraction_sum(a):
    """Slow twin of exact_sum: Fractions throughout."""
    return sum((Fraction(float(x)) for x in
                np.asarray(a, dtype=np.float64).ravel()), Fraction(0))


def column_mean_norm(rows):
    """|(1/R) sum_r rows[r]| as nfi defines w_mean_norm and feat_mean_norm:
    per column RN(exact sum / R), then the squares of the means added in
    binary64 in column order, then sqrt."""
    rows = np.asarray(rows, dtype=np.float64)
    r = rows.shape[0]
    total = 0.0
    for c in range(rows.shape[1]):
        s = exact_sum(rows[:, c])
        mean = float(s / r) if isinstance(s, Fraction) else s / r
        total += mean * mean
    return math.sqrt(total)


def norm(a):
    """sqrt(RN(exact sum of squares)) (w_norm, param_norm)."""
    return math.sqrt(rn(exact_sum_squares(a)))
