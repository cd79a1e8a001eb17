#!/usr/bin/env python3
"""An independent implementation of the modular train/test split.

Follows the rule written in data/modular.h and data/draw.h, in plain
Python integers, and compares its splits with those of the C library
(through tests/data/modular_dump.c) for several moduli, operations,
fractions and seeds.  Labels are computed here with pow(b, -1, P).

Why: the header promises that another implementation reproduces the
split from the written rule alone; this script is that implementation.

Usage: modular_twin.py PATH_TO_MODULAR_DUMP
"""
import subprocess
import sys

MASK = (1 << 64) - 1
WEYL = 0x9E3779B97F4A7C15
MODULAR_TAG = 0x6E66692D6D6F643A  # "nfi-mod:"


def mix(z):
    z ^= z >> 27
    z = (z * 0x3C79AC492BA7B653) & MASK
    z ^= z >> 33
    z = (z * 0x1C69B3F74AC4AE35) & MASK
    z ^= z >> 27
    return z


def draw_bits(key, counter):
    return mix((key + (counter + 1) * WEYL) & MASK)


def label_of(op, p, a, b):
    if op == "add":
        return (a + b) % p
    if op == "sub":
        return (a - b) % p
    if op == "mul":
        return a * b % p
    return a * pow(b, -1, p) % p


def split(p, op, frac, seed):
    first_b = 1 if op == "div" else 0
    pairs = [(a, b) for a in range(p) for b in range(first_b, p)]
    n = len(pairs)
    n_train = int(frac * n)  # frac * n is a binary64 product, then floor
    key = mix(seed ^ MODULAR_TAG)
    counter = 0
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        m = i + 1
        threshold = ((1 << 64) - m) % m
        while True:
            x = draw_bits(key, counter)
            counter += 1
            if x >= threshold:
                j = x % m
                break
        perm[i], perm[j] = perm[j], perm[i]
    rows = [(pairs[k][0], pairs[k][1],
             label_of(op, p, pairs[k][0], pairs[k][1])) for k in perm]
    return n_train, n - n_train, rows


CASES = [
    (23, "div", "0.5", 2024),
    (23, "div", "0.5", 0),
    (5, "add", "0.6", 1),
    (97, "add", "0.3", 12345),
    (97, "sub", "0.4", 0xFFFFFFFFFFFFFFFF),
    (97, "mul", "0.5", 7),
    (97, "div", "0.3", 0x6E66692D6D6F643A),
    (113, "div", "0.5", 42),
    (2, "div", "0.5", 3),
    (10, "mul", "0.999", 99),
]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    dump = sys.argv[1]
    failures = 0
    for p, op, frac, seed in CASES:
        out = subprocess.run([dump, str(p), op, frac, str(seed)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"FAIL {op} mod {p}: modular_dump exited "
                  f"{out.returncode}: {out.stderr.strip()}")
            failures += 1
            continue
        lines = out.stdout.split("\n")
        n_train, n_test = (int(v) for v in lines[0].split())
        got = [tuple(int(v) for v in line.split()) for line in lines[1:]
               if line]
        e_train, e_test, expected = split(p, op, float(frac), seed)
        if (n_train, n_test) != (e_train, e_test):
            print(f"FAIL {op} mod {p}, frac {frac}, seed {seed}: sizes "
                  f"{n_train} + {n_test}, expected {e_train} + {e_test}")
            failures += 1
        elif got != expected:
            first = next(i for i in range(min(len(got), len(expected)))
                         if got[i] != expected[i])
            print(f"FAIL {op} mod {p}, frac {frac}, seed {seed}: row "
                  f"{first} is {got[first]}, expected {expected[first]}")
            failures += 1
    print(f"modular_twin: {len(CASES)} splits compared, {failures} "
          f"failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
