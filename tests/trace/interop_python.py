#!/usr/bin/env python3
"""nfi's JSON and CSV against Python's own json and csv modules.

JSON: a document nfi writes (escapes, NUL, non-BMP characters, doubles
such as 0.1, 1e-300 and 2^53 + 2, integer extremes, NaN and infinities as
strings) must load with json.load to the expected values; documents
json.dumps writes (ASCII-only with surrogate-pair escapes, or UTF-8,
compact or indented) must come back equal after nfi parses and rewrites
them.  CSV: a table nfi writes must read with the csv module and float()
to exactly the values nfi meant (compared bit for bit through their %a
spelling), NaN and infinities included.

Usage: interop_python.py TRACE_TOOL."""
import csv
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
checks = 0
failures = 0


def check(ok, message):
    global checks, failures
    checks += 1
    if not ok:
        failures += 1
        print("FAIL interop_python:", message)
    return ok


def bits(x):
    return struct.pack("<d", x)


def same(a, b):
    """Equality of JSON values, floats bit for bit."""
    if isinstance(a, float) and isinstance(b, float):
        return bits(a) == bits(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def json_written_by_nfi(folder):
    path = os.path.join(folder, "nfi.json")
    subprocess.run([TOOL, "json-write", path], check=True)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    expected = {
        "strings": ["plain", "quote \" backslash \\ slash /",
                    "\b\f\n\r\t\x01\x1f\x7f", "nul\0inside",
                    "caf\u00e9 \u20ac \U0001d11e"],
        "doubles": [0.1, 1e-300, 2.0**53 + 2, -0.0, 5e-324,
                    1.7976931348623157e308, 1 / 3, -2.5,
                    float.fromhex("0x1.fffffffffffffp-1"),
                    "nan", "inf", "-inf"],
        "integers": [-2**63, 2**63 - 1, 2**53 + 1, 2**64 - 1],
        "literals": [True, False, None],
        "empty object": {},
        "empty array": [],
    }
    check(same(doc, expected), f"json.load of nfi's document: {doc!r}")
    for text, value in zip(doc["doubles"][-3:],
                           [math.nan, math.inf, -math.inf]):
        check(repr(float(text)) == repr(value),
              f"float({text!r}) should be {value}")


def random_value(rng, depth):
    kind = rng.randrange(9 if depth > 0 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randrange(-2**63, 2**64)
    if kind == 2:
        return struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
    if kind == 3:
        x = rng.random() * 10.0 ** rng.randrange(-300, 300)
        return x if math.isfinite(x) else 1.0
    if kind in (4, 5):
        chars = []
        for _ in range(rng.randrange(20)):
            cp = rng.choice([rng.randrange(0x80), rng.randrange(0x80, 0x800),
                             rng.randrange(0x800, 0xd800),
                             rng.randrange(0x10000, 0x110000)])
            chars.append(chr(cp))
        return "".join(chars)
    if kind in (6, 7):
        return [random_value(rng, depth - 1) for _ in range(rng.randrange(5))]
    return {f"k{i}\u00e9\"{rng.randrange(99)}": random_value(rng, depth - 1)
            for i in range(rng.randrange(5))}


def finite(v):
    if isinstance(v, float):
        return v if math.isfinite(v) else 0.5
    if isinstance(v, list):
        return [finite(x) for x in v]
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    return v


def json_written_by_python(folder):
    rng = random.Random(13)
    path = os.path.join(folder, "python.json")
    for i in range(120):
        value = finite(random_value(rng, rng.randrange(5)))
        style = i % 4
        text = json.dumps(value, ensure_ascii=style < 2,
                          indent=None if style % 2 == 0 else 2)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        out = subprocess.run([TOOL, "json-echo", path], capture_output=True)
        if not check(out.returncode == 0, f"nfi cannot read json.dumps "
                     f"output {text[:200]!r}: {out.stderr!r}"):
            continue
        back = json.loads(out.stdout.decode("utf-8"))
        check(same(back, value), f"document {i} changed: {text[:300]!r} "
              f"came back as {json.dumps(back)[:300]!r}")


def csv_written_by_nfi(folder):
    path = os.path.join(folder, "metrics.csv")
    hex_path = os.path.join(folder, "metrics.hex")
    subprocess.run([TOOL, "csv-write", path, hex_path], check=True)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    with open(hex_path) as f:
        expected = [line.split() for line in f]
    check(rows[0] == ["step", "loss", "tiny", "any_bits", "count"],
          f"header {rows[0]}")
    check(len(rows) - 1 == len(expected),
          f"{len(rows) - 1} rows, expected {len(expected)}")
    wrong = 0
    for row, want in zip(rows[1:], expected):
        ok = int(row[0]) == int(want[0]) and int(row[4]) == int(want[4])
        for cell, spelled in zip(row[1:4], want[1:4]):
            x, y = float(cell), float.fromhex(spelled)
            ok = ok and (bits(x) == bits(y) or
                         (math.isnan(x) and math.isnan(y)))
        if not ok:
            wrong += 1
            if wrong <= 5:
                print("  row", row, "expected", want)
    check(wrong == 0, f"{wrong} rows do not read back exactly")


with tempfile.TemporaryDirectory(prefix="nfi-interop-") as folder:
    json_written_by_nfi(folder)
    json_written_by_python(folder)
    csv_written_by_nfi(folder)

print(f"interop_python: {checks} checks, {failures} failures")
sys.exit(1 if failures or not checks else 0)
