"""nfi train on the ufm and on the Gaussian and IDX tasks, end to end: a
ufm run writes H, W, b and NaN test accuracies and --config repeats it
byte for byte; the Gaussian and IDX tasks train the mlp on real inputs;
options of another task or model given on the command line are refused;
bad IDX inputs and unknown tasks exit 2 naming the flag.

Usage: test_train_tasks.py NFI_EXECUTABLE"""
import csv
import gzip
import json
import os
import struct
import sys
import tempfile

import clitest
from clitest import check, nfi, read, tree

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def rows(run):
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        return list(csv.DictReader(f))


def write_idx(path, type_byte, dims, values, compress=False):
    """An IDX file written from the format's definition (big-endian)."""
    data = bytes([0, 0, type_byte, len(dims)])
    data += b"".join(struct.pack(">I", d) for d in dims)
    data += bytes(values)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(data)


def same_run(a, b, what):
    check(tree(a) == tree(b), what + ": same files")
    for rel in sorted(tree(a)):
        if rel.endswith(".npy") or rel == "metrics.csv" or \
                rel.startswith("snapshots"):
            check(read(os.path.join(a, rel)) == read(os.path.join(b, rel)),
                  what + ": " + rel)


def test_ufm(tmp):
    a = os.path.join(tmp, "ufm_a")
    args = ["--model", "ufm", "--task", "gaussian", "--classes", "4",
            "--per-class", "10", "--hidden", "6", "--classifier-bias", "on",
            "--format", "bfloat16", "--policy", "accum=binary32",
            "--round", "sr", "--seed", "3", "--steps", "40",
            "--log-every", "10", "--snapshot-every", "20"]
    rc, _, err = nfi(*args, "--out", a)
    check(rc == 0, "ufm run: exit %d: %s" % (rc, err))
    r = rows(a)
    check([int(x["step"]) for x in r] == [1, 10, 20, 30, 40],
          "ufm: logged steps")
    check(all(x["test_acc"] == "nan" for x in r), "ufm: test_acc is nan")
    check(float(r[-1]["loss"]) < float(r[0]["loss"]), "ufm: loss falls")
    cfg = json.load(open(os.path.join(a, "config.json")))
    o = cfg["options"]
    check(o["model"] == "ufm" and o["task"] == "gaussian" and
          o["classes"] == 4 and o["per_class"] == 10 and
          o["input_dim"] == 32 and o["mean_std"] == 1.0 and
          o["noise_std"] == 1.0 and o["subset"] == 1000 and
          o["images"] == "" and o["labels"] == "",
          "ufm: config options %s" % o)
    res = cfg["resolved"]
    check(res["model"] == "ufm" and res["task"] == "gaussian" and
          res["n_train"] == 20 and res["n_test"] == 20 and
          res["classes"] == 4, "ufm: resolved %s" % res)
    snap = os.path.join(a, "snapshots", "step_00000040")
    for name in ["H", "W", "b"]:
        check(os.path.isfile(os.path.join(snap, name + ".npy")),
              "ufm: " + name + ".npy")
        meta = json.load(open(os.path.join(snap, name + ".json")))
        check(meta["format"] == "bfloat16", "ufm: %s format" % name)
    check(not os.path.exists(os.path.join(snap, "W2.npy")), "ufm: no W2")
    try:
        import numpy as np
        h = np.load(os.path.join(snap, "H.npy"))
        w = np.load(os.path.join(snap, "W.npy"))
        b = np.load(os.path.join(snap, "b.npy"))
        s = np.load(os.path.join(snap, "samples.npy"))
        check(h.shape == (20, 6) and w.shape == (4, 6) and b.shape == (4,),
              "ufm: shapes %s %s %s" % (h.shape, w.shape, b.shape))
        check(s.shape == (20, 4), "ufm: samples shape %s" % (s.shape,))
        # bfloat16 values: the top 16 bits of a binary32
        bits = h.astype(np.float32).view(np.uint32)
        check(np.all(h.astype(np.float32).astype(np.float64) == h) and
              np.all(bits & 0xffff == 0), "ufm: H holds bfloat16 values")
    except ImportError:
        pass

    b = os.path.join(tmp, "ufm_b")
    rc, _, err = nfi("--config", os.path.join(a, "config.json"), "--out", b)
    check(rc == 0, "ufm --config: exit %d: %s" % (rc, err))
    same_run(a, b, "ufm --config")

    # --layers does not apply to the ufm: refused when given, ignored in
    # a config (an mlp run's config with --model ufm after it).
    rc, _, err = nfi("--model", "ufm", "--layers", "2", "--steps", "2",
                     "--out", os.path.join(tmp, "bad"))
    check(rc == 2 and "--layers" in err and "ufm" in err,
          "ufm --layers 2: exit %d: %s" % (rc, err.strip()))
    m = os.path.join(tmp, "mlp2")
    rc, _, err = nfi("--task", "add", "--modulus", "5", "--layers", "2",
                     "--hidden", "8", "--steps", "3", "--out", m)
    check(rc == 0, "mlp 2 layers: exit %d: %s" % (rc, err))
    rc, _, err = nfi("--config", os.path.join(m, "config.json"), "--model",
                     "ufm", "--out", os.path.join(tmp, "ufm_from_mlp"))
    check(rc == 0, "--config (layers 2) --model ufm: exit %d: %s" %
          (rc, err))
    r = rows(os.path.join(tmp, "ufm_from_mlp"))
    check(r and r[-1]["test_acc"] == "nan", "ufm on add: test_acc nan")


def test_gaussian_mlp(tmp):
    a = os.path.join(tmp, "g_a")
    rc, _, err = nfi("--task", "gaussian", "--classes", "3", "--per-class",
                     "20", "--input-dim", "5", "--noise-std", "0.5",
                     "--train-frac", "0.75", "--hidden", "16", "--steps",
                     "60", "--log-every", "20", "--out", a)
    check(rc == 0, "gaussian mlp: exit %d: %s" % (rc, err))
    r = rows(a)
    check(float(r[-1]["loss"]) < float(r[0]["loss"]) / 10 and
          float(r[-1]["train_acc"]) == 1.0 and
          0 <= float(r[-1]["test_acc"]) <= 1,
          "gaussian mlp learns: %s" % r[-1])
    res = json.load(open(os.path.join(a, "config.json")))["resolved"]
    check(res["n_train"] == 45 and res["n_test"] == 15 and
          res["input_width"] == 5 and res["classes"] == 3,
          "gaussian resolved %s" % res)
    b = os.path.join(tmp, "g_b")
    rc, _, err = nfi("--config", os.path.join(a, "config.json"), "--out", b)
    check(rc == 0, "gaussian --config: exit %d: %s" % (rc, err))
    same_run(a, b, "gaussian --config")
    # Another seed, another split and other data.
    c = os.path.join(tmp, "g_c")
    rc, _, err = nfi("--config", os.path.join(a, "config.json"), "--seed",
                     "1", "--out", c)
    check(rc == 0 and read(os.path.join(a, "metrics.csv")) !=
          read(os.path.join(c, "metrics.csv")), "gaussian: the seed matters")


def test_idx(tmp):
    images = os.path.join(tmp, "img.idx")
    labels = os.path.join(tmp, "lab.idx.gz")
    n, side = 30, 3
    pix, lab = [], []
    for i in range(n):
        c = i % 3
        lab.append(c)
        pix += [200 if p // side == c else (37 * i + 11 * p) % 90
                for p in range(side * side)]
    write_idx(images, 0x08, [n, side, side], pix)
    write_idx(labels, 0x08, [n], lab, compress=True)
    a = os.path.join(tmp, "idx_a")
    rc, _, err = nfi("--task", "idx", "--images", images, "--labels",
                     labels, "--subset", "24", "--hidden", "16",
                     "--format", "bfloat16", "--steps", "60",
                     "--log-every", "20", "--out", a)
    check(rc == 0, "idx mlp: exit %d: %s" % (rc, err))
    r = rows(a)
    check(float(r[-1]["loss"]) < float(r[0]["loss"]) and
          0 <= float(r[-1]["test_acc"]) <= 1, "idx mlp learns: %s" % r[-1])
    res = json.load(open(os.path.join(a, "config.json")))["resolved"]
    check(res["n_train"] == 12 and res["n_test"] == 12 and
          res["input_width"] == 9 and res["classes"] == 3 and
          res["images"] == images and res["labels"] == labels,
          "idx resolved %s" % res)
    b = os.path.join(tmp, "idx_b")
    rc, _, err = nfi("--config", os.path.join(a, "config.json"), "--out", b)
    check(rc == 0, "idx --config: exit %d: %s" % (rc, err))
    same_run(a, b, "idx --config")

    zero = os.path.join(tmp, "zero.idx")
    write_idx(zero, 0x08, [n], [0] * n)
    floats = os.path.join(tmp, "floats.idx")
    with open(floats, "wb") as f:
        f.write(bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 1) +
                struct.pack(">f", 0.5))
    out = os.path.join(tmp, "bad")
    bad = [
        (["--task", "idx", "--labels", labels], "--images"),
        (["--task", "idx", "--images", images], "--labels"),
        (["--task", "idx", "--images", os.path.join(tmp, "missing"),
          "--labels", labels], "--images"),
        (["--task", "idx", "--images", images, "--labels",
          os.path.join(tmp, "missing")], "--labels"),
        (["--task", "idx", "--images", images, "--labels", labels,
          "--subset", "0"], "--subset"),
        (["--task", "idx", "--images", images, "--labels", labels,
          "--subset", "31"], "--subset"),
        (["--task", "idx", "--images", images, "--labels", zero,
          "--subset", "10"], "--labels"),
        (["--task", "idx", "--images", floats, "--labels", labels,
          "--subset", "1"], "--task"),
        (["--task", "idx", "--images", images, "--labels", labels,
          "--subset", "24", "--train-frac", "0.01"], "--train-frac"),
        (["--task", "mnist"], "--task"),
        (["--task", "gaussian", "--modulus", "7"], "--modulus"),
        (["--task", "add", "--classes", "3"], "--classes"),
        (["--task", "add", "--images", images], "--images"),
        (["--task", "gaussian", "--subset", "10"], "--subset"),
        (["--task", "fashion-mnist", "--input-dim", "4"], "--input-dim"),
        (["--task", "gaussian", "--noise-std", "-1"], "--noise-std"),
        (["--task", "gaussian", "--per-class", "0"], "--per-class"),
        (["--model", "ufm", "--layers", "1"], "--layers"),
    ]
    for args, flag in bad:
        rc, _, err = nfi(*args, "--steps", "2", "--out", out)
        check(rc == 2 and flag in err and "\n" == err[-1:] and
              err.count("\n") == 1,
              "%s: exit %d: %s" % (" ".join(args), rc, err.strip()))
        check(not os.path.exists(out), "%s: no run directory" % args)


def test_fashion(tmp):
    if not os.path.exists(FASHION):
        print("no dataset-fashion-mnist: its run is skipped")
        return
    a = os.path.join(tmp, "fm")
    rc, _, err = nfi("--task", "fashion-mnist", "--subset", "60",
                     "--hidden", "8", "--steps", "3", "--out", a)
    check(rc == 0, "fashion-mnist: exit %d: %s" % (rc, err))
    res = json.load(open(os.path.join(a, "config.json")))["resolved"]
    check(res["input_width"] == 784 and res["classes"] == 10 and
          res["n_train"] == 30 and res["images"] == FASHION,
          "fashion-mnist resolved %s" % res)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_ufm(tmp)
        test_gaussian_mlp(tmp)
        test_idx(tmp)
        test_fashion(tmp)
        rc, out, _ = nfi("--help")
        check(rc == 0 and "ufm" in out and "--subset" in out and
              "feature width" in out, "--help names the new options")
    return clitest.finish()


if __name__ == "__main__":
    NFI = clitest.NFI = sys.argv[1]
    sys.exit(main())
