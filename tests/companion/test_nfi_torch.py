#!/usr/bin/env python3
"""Unit checks of nfi_torch without a training run.

    test_nfi_torch.py PYTHONDIR

- exact.py against its Fraction twin on random arrays with wide
  exponent ranges, zeros, and the column means and norms of nfi's
  measurements computed with Fractions directly;
- nfi_rules: the split sizes and labels of every modular task;
- the command line: what it must refuse (exit status 2, the option
  named) and the files it writes read back.
Exit status 0 passed, 1 failed, 77 skipped (numpy missing).
"""
import math
import os
import subprocess
import sys
import tempfile
from fractions import Fraction

SEED = int(os.environ.get("NFI_TEST_SEED", "1"))
try:
    import numpy as np
except ImportError as e:
    print(f"SKIP: numpy cannot be imported by {sys.executable} ({e}); on "
          f"Debian: apt-get install python3-numpy")
    sys.exit(77)

failures = []


def check(ok, what):
    print(("ok     " if ok else "FAILED ") + what)
    if not ok:
        failures.append(what)


def exact_checks(exact):
    rng = np.random.default_rng(SEED)
    bad = 0
    for _ in range(300):
        n = int(rng.integers(1, 40))
        a = rng.standard_normal(n) * np.exp2(rng.integers(-300, 300, n))
        a[rng.random(n) < 0.2] = 0.0
        s = sum((Fraction(float(x)) for x in a), Fraction(0))
        sq = sum((Fraction(float(x)) ** 2 for x in a), Fraction(0))
        b = a + rng.standard_normal(n) * np.exp2(rng.integers(-80, 0, n))
        d = sum(((Fraction(float(x)) - Fraction(float(y))) ** 2
                 for x, y in zip(b, a)), Fraction(0))
        bad += exact.exact_sum(a) != s or exact.fraction_sum(a) != s
        bad += exact.exact_sum_squares(a) != sq
        bad += exact.exact_sum_sq_diff(b, a) != d
        bad += float(exact.exact_sum(a)) != math.fsum(a)
    check(bad == 0, f"exact sums equal to Fractions on 300 arrays (seed "
          f"{SEED})")
    rows = rng.standard_normal((7, 5)).astype(np.float32).astype(np.float64)
    total = 0.0
    for c in range(5):
        mean = float(sum(Fraction(float(x)) for x in rows[:, c]) / 7)
        total += mean * mean
    check(exact.column_mean_norm(rows) == math.sqrt(total),
          "column_mean_norm: RN(exact sum / R) per column, binary64 after")
    check(exact.norm(rows) ==
          math.sqrt(float(sum(Fraction(float(x)) ** 2
                              for x in rows.ravel()))),
          "norm: sqrt(RN(exact sum of squares))")
    inf = np.array([1.0, np.inf])
    check(exact.exact_sum(inf) == math.inf and
          math.isnan(exact.exact_sum(np.array([np.inf, -np.inf]))),
          "sums with infinities follow IEEE")


def rules_checks(rules):
    for op, n in (("add", 49), ("sub", 49), ("mul", 49), ("div", 42)):
        train, test = rules.modular_split(op, 7, 0.5, SEED)
        ok = len(train) == n // 2 and len(train) + len(test) == n
        ok = ok and sorted((a, b) for a, b, _ in train + test) == \
            sorted(rules.pairs(op, 7))
        ok = ok and all(lab == rules.label(op, 7, a, b)
                        for a, b, lab in train + test)
        check(ok, f"nfi_rules.modular_split {op} mod 7: every pair once, "
              f"labelled, floor(0.5 n) for training")
    check(rules.label("div", 7, 3, 5) == 3 * 3 % 7 and
          rules.label("sub", 7, 2, 5) == 4, "labels of div and sub")


def safetensors_checks(files):
    """A safetensors file written by hand reads back as the .npz does."""
    import json
    import struct
    rng = np.random.default_rng(SEED)
    arrays = {"W1": rng.standard_normal((3, 4)).astype(np.float32),
              "b1": rng.standard_normal(3).astype(np.float64),
              "W2": rng.standard_normal((2, 3)).astype(np.float16)}
    header, blobs, at = {}, b"", 0
    for name, a in arrays.items():
        raw = a.tobytes()
        header[name] = {"dtype": {"float32": "F32", "float64": "F64",
                                  "float16": "F16"}[a.dtype.name],
                        "shape": list(a.shape),
                        "data_offsets": [at, at + len(raw)]}
        blobs += raw
        at += len(raw)
    head = json.dumps(header).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "init.safetensors")
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(head)) + head + blobs)
        got = files.read_init(path, {k: a.shape for k, a in arrays.items()},
                              2)
        check(all(np.array_equal(got[k], arrays[k].astype(np.float64))
                  for k in arrays), "safetensors F32/F64/F16 read exactly")
        with open(path, "wb") as f:
            f.write(b"not a tensor file")
        try:
            files.read_init(path, {}, 2)
            ok = False
        except files.InputError as e:
            ok = "--init" in str(e)
        check(ok, "a file that is neither .npz nor safetensors is refused")


def cli_checks(pydir):
    env = dict(os.environ, PYTHONPATH=pydir)
    cmd = [sys.executable, "-m", "nfi_torch"]

    def run(args):
        return subprocess.run(cmd + args, capture_output=True, text=True,
                              env=env)

    with tempfile.TemporaryDirectory() as tmp:
        init, split = os.path.join(tmp, "i.npz"), os.path.join(tmp, "s.npz")
        r = run(["init", "--source", "nfi", "--modulus", "7", "--hidden",
                 "5", "--layers", "2", "--classifier-bias", "on", "--to",
                 init])
        z = np.load(init) if r.returncode == 0 else None
        check(z is not None and {k: z[k].shape for k in z.files} ==
              {"W1": (5, 14), "b1": (5,), "W2": (5, 5), "b2": (5,),
               "W3": (7, 5), "b3": (7,)},
              "init writes W1 b1 W2 b2 W3 b3 in nn.Linear shapes")
        r = run(["split", "--task", "add", "--modulus", "7", "--seed", "3",
                 "--to", split])
        ok = r.returncode == 0
        if ok:
            s = np.load(split)
            ok = s["train"].shape == (24, 3) and s["test"].shape == (25, 3)
        check(ok, "split writes train (24, 3) and test (25, 3) for add "
              "mod 7")
        base = ["train", "--init", init, "--split", split, "--out",
                os.path.join(tmp, "t")]
        for extra, word in ((["--model", "ufm"], "ufm"),
                            (["--task", "gaussian"], "gaussian"),
                            (["--policy", "accum=binary64"], "policy"),
                            (["--round", "sr"], "round"),
                            (["--scheme", "lse"], "scheme"),
                            (["--format", "bfloat16"], "--dtype"),
                            (["--optimizer", "adam", "--momentum", "0.5"],
                             "momentum")):
            r = run(base + extra)
            check(r.returncode == 2 and word in r.stderr,
                  f"train refuses {' '.join(extra)} (exit 2, names "
                  f"{word!r}): {r.stderr.strip()[:90]}")
        # A split whose labels are not those of the task.
        s = dict(np.load(split))
        s["train"] = s["train"].copy()
        s["train"][0, 2] = (s["train"][0, 2] + 1) % 7
        bad = os.path.join(tmp, "bad.npz")
        np.savez(bad, **s)
        r = run(["train", "--task", "add", "--modulus", "7", "--hidden",
                 "5", "--layers", "2", "--classifier-bias", "on", "--init",
                 init, "--split", bad, "--out", os.path.join(tmp, "t")])
        check(r.returncode == 2 and "row 0" in r.stderr,
              "train refuses a split with a wrong label (names the row)")


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} PYTHONDIR")
        return 2
    sys.path.insert(0, argv[1])
    from nfi_torch import exact, files, nfi_rules
    exact_checks(exact)
    safetensors_checks(files)
    rules_checks(nfi_rules)
    cli_checks(argv[1])
    if failures:
        print(f"{len(failures)} check(s) FAILED; seed {SEED} "
              f"(NFI_TEST_SEED overrides it)")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
