#!/usr/bin/env python3
"""Checks `nfi arith` against an independent MPFR computation.

gmpy2 (Debian's python3-gmpy2) evaluates each operation directly at
precision p in an MPFR context whose exponent range is the format's, with
subnormalisation: the textbook emulation of an IEEE format, sharing no
code with nfi's engines.  The script draws random formats (p from 2 to
200, random exponent ranges, subnormals on and off), random operands that
are values of the format (special values and values near overflow and
underflow included), and every engine that can carry out the format; it
feeds the operations to `nfi arith` on standard input and compares each
printed result with gmpy2's, exactly (value and sign of zero; NaN equals
NaN).  Modes: rne, rz, ru, rd (the modes an MPFR context has).

Usage: independent_arith.py NFI [--seed S] [--formats N] [--lines N]
The seed is printed; rerun with --seed to reproduce a failure.
"""
import argparse
import os
import random
import subprocess
import sys

try:
    import gmpy2
except ImportError:
    print("independent_arith: python3-gmpy2 is not installed; skipped")
    sys.exit(77)

MODES = {
    "rne": gmpy2.RoundToNearest,
    "rz": gmpy2.RoundToZero,
    "ru": gmpy2.RoundUp,
    "rd": gmpy2.RoundDown,
}
BINARY = ["add", "sub", "mul", "div"]
UNARY = ["sqrt", "exp", "log", "cvt"]


def context(p, emin, emax, subnormals, mode):
    # MPFR writes x = m 2^e with m in [1/2, 1): IEEE exponent E is e - 1.
    return gmpy2.context(
        precision=p,
        emin=(emin - p + 2) if subnormals else emin + 1,
        emax=emax + 1,
        subnormalize=subnormals,
        round=MODES[mode],
    )


def as_text(x):
    """Exact text for a gmpy2 mpfr value that nfi reads back."""
    if gmpy2.is_nan(x):
        return "nan"
    if gmpy2.is_infinite(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "-0" if gmpy2.is_signed(x) else "0"
    num, den = x.as_integer_ratio()
    shift = den.bit_length() - 1  # den is a power of two
    sign = "-" if num < 0 else ""
    return "%s0x%xp-%d" % (sign, abs(num), shift)


INF, NAN = float("inf"), float("nan")
WIDE = dict(emin=gmpy2.get_emin_min(), emax=gmpy2.get_emax_max())


def exact_scaled(mant, bits, k):
    """mant * 2^k exactly (mant has at most `bits` bits)."""
    with gmpy2.local_context(gmpy2.context(precision=bits + 1, **WIDE)):
        x = gmpy2.mpfr(mant)
        return gmpy2.mul_2exp(x, k) if k >= 0 else gmpy2.div_2exp(x, -k)


def round_into(ctx, x):
    """x rounded once into the context's format (x + 0, x non-zero)."""
    with gmpy2.local_context(ctx):
        return gmpy2.add(x, gmpy2.mpfr(0))


def random_value(rng, ctx, p, emin, emax, subnormals):
    """A value of the format: specials, edges, or a random one."""
    kind = rng.random()
    with gmpy2.local_context(ctx):
        if kind < 0.03:
            return gmpy2.mpfr(rng.choice([INF, -INF, NAN]))
        if kind < 0.06:
            return gmpy2.mpfr(rng.choice([0.0, -0.0]))
        if kind < 0.25:
            e = emax - rng.randrange(0, 3)  # near overflow
        elif kind < 0.45:
            low = emin - (p - 1 if subnormals else 0)
            e = low + rng.randrange(0, p + 2)  # near underflow
        else:
            e = rng.randrange(max(emin, -40), min(emax, 40) + 1)
        mant = rng.getrandbits(p + 8) | (1 << (p + 8))
        if rng.random() < 0.5:
            mant = -mant
    return round_into(ctx, exact_scaled(mant, p + 9, e - (p + 8)))


def random_format(rng):
    if rng.random() < 0.3:
        return rng.choice([
            (8, -126, 127), (11, -14, 15), (24, -126, 127),
            (53, -1022, 1023), (113, -16382, 16383), (3, -14, 15),
        ]), rng.random() < 0.8
    p = rng.choice([rng.randrange(2, 54), rng.randrange(2, 201)])
    emax = rng.choice([rng.randrange(1, 20), rng.randrange(1, 1024),
                       rng.randrange(1, 20000)])
    emin = rng.choice([1 - emax, -rng.randrange(0, 2 * emax + 1)])
    return (p, emin, emax), rng.random() < 0.8


def parse_result(text, p):
    text = text.strip()
    if text in ("nan", "-nan"):
        return gmpy2.mpfr("nan")
    if text in ("inf", "-inf"):
        return gmpy2.mpfr(float(text))
    # p + 64 bits hold any printed format value exactly (glibc prints
    # binary64 subnormals as 0x0.<digits>p-1022: still exact).
    with gmpy2.local_context(gmpy2.context(precision=p + 64,
                                           emin=gmpy2.get_emin_min(),
                                           emax=gmpy2.get_emax_max())):
        return gmpy2.mpfr(text, 0, 16)


def same(a, b):
    if gmpy2.is_nan(a) or gmpy2.is_nan(b):
        return gmpy2.is_nan(a) and gmpy2.is_nan(b)
    if a != b:
        return False
    return a != 0 or gmpy2.is_signed(a) == gmpy2.is_signed(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nfi")
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("NFI_TEST_SEED", "1")))
    ap.add_argument("--formats", type=int, default=60)
    ap.add_argument("--lines", type=int, default=400)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    checks = failures = 0

    for _ in range(args.formats):
        (p, emin, emax), subnormals = random_format(rng)
        spec = "p=%d,emin=%d,emax=%d%s" % (
            p, emin, emax, "" if subnormals else ",subnormals=off")
        fits = p <= 53 and emin >= -1022 and emax <= 1023
        mode = rng.choice(list(MODES))
        ctx = context(p, emin, emax, subnormals, mode)
        lines, expected = [], []
        for _ in range(args.lines):
            op = rng.choice(BINARY + UNARY + ["fma"])
            n = 3 if op == "fma" else 2 if op in BINARY else 1
            xs = [random_value(rng, ctx, p, emin, emax, subnormals)
                  for _ in range(n)]
            if op == "exp" and gmpy2.is_regular(xs[0]):
                # smaller arguments, so that not every result overflows
                with gmpy2.local_context(gmpy2.context(precision=p + 1,
                                                       **WIDE)):
                    small = gmpy2.div_2exp(xs[0], rng.randrange(0, 12))
                xs[0] = round_into(ctx, small)
            if op == "cvt":
                # a value with more bits than the format: one rounding
                mant = rng.getrandbits(p + 20) | (1 << (p + 20))
                xs = [exact_scaled(mant, p + 21,
                                   rng.randrange(emin - p, emax + 2) - p - 20)]
                result = round_into(ctx, xs[0])
            else:
                fn = {"add": gmpy2.add, "sub": gmpy2.sub,
                      "mul": gmpy2.mul, "div": gmpy2.div,
                      "sqrt": gmpy2.sqrt, "exp": gmpy2.exp,
                      "log": gmpy2.log, "fma": gmpy2.fma}[op]
                with gmpy2.local_context(ctx):
                    result = fn(*xs)
            lines.append(" ".join([op] + [as_text(x) for x in xs]))
            expected.append(result)
        engines = ["auto", "mpfr"] + (["fast"] if fits else [])
        for engine in engines:
            cmd = [args.nfi, "arith", "--format", spec, "--round", mode,
                   "--engine", engine]
            out = subprocess.run(cmd, input="\n".join(lines) + "\n",
                                 capture_output=True, text=True)
            got = out.stdout.splitlines()
            if out.returncode != 0 or len(got) != len(lines):
                failures += 1
                print("FAIL: %s exited %d with %d lines for %d inputs: %s"
                      % (" ".join(cmd), out.returncode, len(got),
                         len(lines), out.stderr[:500]))
                continue
            for line, want, text in zip(lines, expected, got):
                checks += 1
                if not same(parse_result(text, p), want):
                    failures += 1
                    if failures <= 20:
                        print("FAIL: --format %s --round %s --engine %s: "
                              "'%s' gave %s, MPFR context gives %s"
                              % (spec, mode, engine, line, text,
                                 as_text(want)))
    print("independent_arith: %d checks, %d failures (seed %d)"
          % (checks, failures, args.seed))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
