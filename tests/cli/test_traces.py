"""Ground-truth traces end to end: nfi export, nfi train --init and
--split, nfi diff.

- export of step 0 then train --init with it repeats the run bit for bit
  (.npz and safetensors); float16 inits are read exactly; binary64
  values that binary32 does not hold are rounded and counted per tensor;
- a wrong name, shape or dtype, a NaN, a truncated or corrupt file are
  refused with exit status 2 and a message naming the problem;
- export --split then train --split repeats the run; bad splits are
  refused naming the row;
- export files are read by np.load, and the safetensors layout by a
  reader written here from the format's description;
- a changed --init file is refused by --config;
- nfi diff: a run against itself (identical), against a bfloat16 run
  (diverged), against a trace written by hand in the documented format
  (ulps and first step exact), tolerance semantics, bad input.

Usage: test_traces.py NFI_EXECUTABLE (skipped without NumPy)"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import clitest
from clitest import check, read, tree

try:
    import numpy as np
except ImportError:
    print("NumPy is missing: skipped")
    sys.exit(77)


def run(*args):
    p = subprocess.run([clitest.NFI, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def train(*args):
    return run("train", *args)


def read_safetensors(path):
    """A reader written from the format: u64 header length, JSON, data."""
    raw = read(path)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    check(n % 8 == 0, path + ": header padded to 8 bytes")
    data = raw[8 + n:]
    out = {}
    end = 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        check(t["dtype"] == "F64", path + ": " + name + " is F64")
        b, e = t["data_offsets"]
        count = int(np.prod(t["shape"])) if t["shape"] else 1
        check(e - b == 8 * count, path + ": " + name + " size")
        out[name] = np.frombuffer(data[b:e], dtype="<f8").reshape(
            t["shape"])
        end = max(end, e)
    check(end == len(data), path + ": no bytes after the last tensor")
    return out


def same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and \
        a.tobytes() == b.tobytes()


def main():
    clitest.NFI = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="nfi-traces-")
    os.chdir(tmp)
    base = ["--task", "div", "--modulus", "11", "--hidden", "16",
            "--steps", "40", "--log-every", "10", "--snapshot-every", "20"]

    rc, _, err = train(*base, "--out", "a")
    check(rc == 0, "run a: " + err)
    snap0 = os.path.join("a", "snapshots", "step_00000000")
    check(sorted(os.listdir(snap0)) ==
          ["W1.json", "W1.npy", "W2.json", "W2.npy", "b1.json", "b1.npy"],
          "step_0 holds the initial parameters W1 b1 W2")

    # ---- export and --init round trip ----
    for ext in ["npz", "safetensors"]:
        rc, _, err = run("export", "a", "--step", "0", "--to", "i0." + ext)
        check(rc == 0, "export step 0 ." + ext + ": " + err)
        rc, _, err = train("--config", "a/config.json", "--init",
                           "i0." + ext, "--out", "b_" + ext)
        check(rc == 0 and err == "", "train --init i0." + ext + ": " + err)
        check(read("a/metrics.csv") == read("b_%s/metrics.csv" % ext),
              "--init " + ext + ": metrics identical")
        check(read("a/snapshots/step_00000040/W2.npy") ==
              read("b_%s/snapshots/step_00000040/W2.npy" % ext),
              "--init " + ext + ": final W2 identical")
        conf = json.load(open("b_%s/config.json" % ext))
        check(conf["inputs"]["init"]["path"] ==
              os.path.join(tmp, "i0." + ext) and
              len(conf["inputs"]["init"]["crc32"]) == 8,
              "config.json records the init file")
        # --config repeats the --init run
        rc, _, err = train("--config", "b_%s/config.json" % ext, "--out",
                           "c_" + ext)
        check(rc == 0 and read("c_%s/metrics.csv" % ext) ==
              read("a/metrics.csv"), "--config of an --init run: " + err)
    z = np.load("i0.npz")
    check(sorted(z.files) == ["W1", "W2", "b1"], "npz names")
    check(z["W1"].shape == (16, 22) and z["b1"].shape == (16,) and
          z["W2"].shape == (11, 16), "npz shapes (PyTorch nn.Linear)")
    check(same_bits(z["W1"], np.load(os.path.join(snap0, "W1.npy"))),
          "npz W1 = the step_0 snapshot")
    st = read_safetensors("i0.safetensors")
    check(sorted(st) == ["W1", "W2", "b1"] and
          all(same_bits(st[k], z[k]) for k in st),
          "safetensors = npz, bit for bit")

    # logits and logit gradients of a logged step with a snapshot
    rc, _, err = run("export", "a", "--step", "20", "--with",
                     "logits,grads", "--to", "s20.npz")
    check(rc == 0, "export --with logits,grads: " + err)
    s20 = np.load("s20.npz")
    check(same_bits(s20["logits"], np.load(
        "a/snapshots/step_00000020/logits.npy")) and
        s20["logit_grads"].shape == s20["logits"].shape,
        "export logits and logit_grads")
    check(np.all(np.abs(s20["logit_grads"].sum(axis=1)) < 1e-5),
          "logit gradients sum to about 0 per sample")
    rc, _, err = run("export", "a", "--step", "10", "--to", "x.npz")
    check(rc == 2 and "no parameters at step 10" in err and
          "0, 20, 40" in err, "export of a step without parameters: " + err)
    rc, _, err = run("export", "a", "--step", "40", "--to", "x.txt")
    check(rc == 2 and ".npz or .safetensors" in err, "bad --to: " + err)

    # ---- --init with values the params format does not hold ----
    w = {k: z[k] * (1 + 2.0 ** -40) for k in z.files}
    w["b1"] = z["b1"].copy()  # unchanged: no report for it
    np.savez("i64.npz", **w)
    rc, _, err = train("--config", "a/config.json", "--init", "i64.npz",
                       "--out", "d")
    changed = {k: int((w[k].astype(np.float32).astype(np.float64) !=
                       w[k]).sum()) for k in w}
    check(rc == 0, "binary64 init into binary32: " + err)
    for k in ["W1", "W2"]:
        check("changed %d of the %d values of %s" % (changed[k], w[k].size,
                                                    k) in err,
              "changed count of %s (%d): %s" % (k, changed[k], err))
    check("of b1" not in err, "no report for an unchanged tensor")
    got = np.load("d/snapshots/step_00000000/W1.npy")
    check(same_bits(got, w["W1"].astype(np.float32).astype(np.float64)),
          "init rounded to nearest binary32 (as NumPy's float32 cast)")
    # float16 values (compressed npz): exact, and equal to the same values
    # in float64
    h = {k: z[k].astype(np.float16) for k in z.files}
    np.savez_compressed("i16.npz", **h)
    np.savez("i16as64.npz", **{k: h[k].astype(np.float64) for k in h})
    rc, _, err = train("--config", "a/config.json", "--init", "i16.npz",
                       "--out", "e16")
    rc2, _, err2 = train("--config", "a/config.json", "--init",
                         "i16as64.npz", "--out", "e64")
    check(rc == 0 and rc2 == 0 and err == "" and
          read("e16/metrics.csv") == read("e64/metrics.csv"),
          "float16 init read exactly: " + err + err2)

    # ---- bad --init files ----
    def bad_init(name, arrays, want, savez=np.savez):
        savez(name, **arrays)
        rc, _, err = train("--config", "a/config.json", "--init", name,
                           "--out", "bad", "--force")
        check(rc == 2 and want in err and not os.path.exists("bad/status"),
              "bad init %s: exit %d, %r" % (name, rc, err))
    bad_init("extra.npz", dict(z, W3=np.zeros(3)), "tensor 'W3' that this")
    bad_init("missing.npz", {"W1": z["W1"], "b1": z["b1"]},
             "lacks the tensor 'W2'")
    bad_init("old.npz", {"W1": z["W1"], "b1": z["b1"], "Wc": z["W2"]},
             "'Wc'")
    bad_init("shape.npz", dict(z, W1=z["W1"].T.copy()),
             "has shape (22, 16); this model needs (16, 22)")
    bad_init("int.npz", dict(z, b1=np.arange(16)), "holds int64")
    nan = z["W2"].copy()
    nan[2, 3] = np.nan
    bad_init("nan.npz", dict(z, W2=nan), "'W2' element 35")
    big = z["b1"].copy()
    big[4] = 1e300
    bad_init("big.npz", dict(z, b1=big), "overflows the params format")
    raw = read("i0.npz")
    for name, data, want in [
            ("trunc.npz", raw[:len(raw) // 2], "truncated"),
            ("flip.npz", raw[:200] + bytes([raw[200] ^ 1]) + raw[201:],
             "CRC-32"),
            ("junk.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{",
             "safetensors")]:
        with open(name, "wb") as f:
            f.write(data)
        rc, _, err = train("--config", "a/config.json", "--init", name,
                           "--out", "bad", "--force")
        check(rc == 2 and want in err, "%s refused: %r" % (name, err))
    rc, _, err = train("--config", "a/config.json", "--init", "nosuch.npz",
                       "--out", "bad", "--force")
    check(rc == 2 and "nosuch.npz" in err, "missing init file: " + err)

    # a changed init file is refused by --config
    np.savez("mut.npz", **z)
    original = read("mut.npz")
    rc, _, err = train("--config", "a/config.json", "--init", "mut.npz",
                       "--out", "m1")
    np.savez("mut.npz", **w)
    rc, _, err = train("--config", "m1/config.json", "--out", "m2")
    check(rc == 2 and "has changed since the run recorded it" in err,
          "--config refuses a changed init file: " + err)
    # and so does --resume (m1 made to look interrupted)
    with open("m1/status", "w") as f:
        f.write("interrupted\nfor the test\n")
    rc, _, err = train("--resume", "m1")
    check(rc == 2 and "has changed since the run recorded it" in err,
          "--resume refuses a changed init file: " + err)
    with open("mut.npz", "wb") as f:
        f.write(original)
    rc, _, err = train("--resume", "m1")
    check(rc == 0 and read("m1/metrics.csv") == read("a/metrics.csv"),
          "--resume with the init file restored: %d %s" % (rc, err))

    # ---- --split ----
    rc, _, err = run("export", "a", "--split", "--to", "split.npz")
    check(rc == 0, "export --split: " + err)
    sp = np.load("split.npz")
    check(sp["train"].dtype == np.int64 and sp["train"].shape[1] == 3 and
          sp["train"].shape[0] + sp["test"].shape[0] == 110,
          "split shapes: %s %s" % (sp["train"].shape, sp["test"].shape))
    labels = np.load("a/train_labels.npy")
    check(np.array_equal(sp["train"][:, 2], labels),
          "split labels = train_labels.npy")
    a_, b_, y_ = sp["train"].T
    check(np.all((a_ * pow_inv(b_, 11)) % 11 == y_), "labels are a / b")
    rc, _, err = train("--config", "a/config.json", "--split", "split.npz",
                       "--out", "f")
    check(rc == 0 and read("f/metrics.csv") == read("a/metrics.csv"),
          "--split round trip: identical run " + err)
    rc, _, err = train("--config", "a/config.json", "--split", "split.npz",
                       "--init", "i0.safetensors", "--out", "f2")
    check(rc == 0 and read("f2/metrics.csv") == read("a/metrics.csv"),
          "--split and --init together: identical run " + err)
    np.savez("rev.npz", train=sp["train"][::-1].astype(np.int32),
             test=sp["test"].astype(np.uint16))
    rc, _, err = train("--config", "a/config.json", "--split", "rev.npz",
                       "--out", "g")
    check(rc == 0 and np.array_equal(np.load("g/train_labels.npy"),
                                     labels[::-1]),
          "--split keeps the file's row order (int32, uint16): " + err)

    def bad_split(name, arrays, want, extra=()):
        np.savez(name, **arrays)
        rc, _, err = train("--config", "a/config.json", "--split", name,
                           *extra, "--out", "bad", "--force")
        check(rc == 2 and want in err, "bad split %s: %d %r" % (name, rc,
                                                                 err))
    t = sp["train"].copy()
    t[5, 2] = (t[5, 2] + 1) % 11
    bad_split("label.npz", {"train": t, "test": sp["test"]},
              "train row 5 is")
    t = sp["test"].copy()
    t[3, 1] = 0
    bad_split("zero.npz", {"train": sp["train"], "test": t},
              "test row 3 is")
    t = sp["train"].copy()
    t[0, 0] = 11
    bad_split("range.npz", {"train": t, "test": sp["test"]},
              "must lie in [0, 11)")
    bad_split("cols.npz", {"train": sp["train"][:, :2], "test": sp["test"]},
              "expected (n, 3)")
    bad_split("float.npz", {"train": sp["train"].astype(float),
                            "test": sp["test"]}, "integer type")
    bad_split("notest.npz", {"train": sp["train"]}, "no array 'test'")
    bad_split("gauss.npz", {"train": sp["train"], "test": sp["test"]},
              "--split applies to the modular tasks",
              ("--task", "gaussian"))

    # the ufm: H (N, d), W (K, d), b (K)
    ufm = ["--model", "ufm", "--task", "add", "--modulus", "7", "--hidden",
           "8", "--classifier-bias", "on", "--steps", "20", "--log-every",
           "5", "--format", "bfloat16"]
    rc, _, err = train(*ufm, "--out", "u")
    rc2, _, err2 = run("export", "u", "--step", "0", "--to", "u0.npz")
    u0 = np.load("u0.npz") if rc2 == 0 else {}
    check(rc == 0 and rc2 == 0 and sorted(u0.keys()) == ["H", "W", "b"] and
          u0["H"].shape == (24, 8) and u0["W"].shape == (7, 8) and
          u0["b"].shape == (7,), "ufm export: " + err + err2)
    rc, _, err = train("--config", "u/config.json", "--init", "u0.npz",
                       "--out", "u2")
    check(rc == 0 and read("u/metrics.csv") == read("u2/metrics.csv"),
          "ufm --init round trip: " + err)

    # ---- diff ----
    rc, out, err = run("diff", "a", "b_npz")
    check(rc == 0 and "verdict: identical" in out, "diff identical: " + out)
    rc, _, err = train(*base, "--format", "bfloat16", "--out", "bf")
    rc, out, err = run("diff", "a", "bf", "--json")
    j = json.loads(out) if out else {}
    check(rc == 1 and j.get("verdict") == "diverged" and
          j.get("diverged_step") == 0, "diff binary32/bfloat16: %d %s" %
          (rc, out[-300:]))
    loss = [q for q in j.get("quantities", []) if q["name"] == "loss"]
    check(loss and loss[0]["format"] == "bfloat16" and
          loss[0]["max_ulps"] > 0, "loss compared in bfloat16 ulps")

    # A trace written by hand: a's metrics with the loss at step 20 moved
    # by one binary32 ulp (hex floats), W1 at step 40 by two ulps.
    os.makedirs("h/snapshots/step_40")
    lines = open("a/metrics.csv").read().splitlines()
    names = lines[0].split(",")
    out_lines = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] == "20":
            x = np.float32(float(cells[names.index("loss")]))
            cells[names.index("loss")] = float(
                np.nextafter(x, np.float32(np.inf))).hex()
        out_lines.append(",".join(cells))
    open("h/metrics.csv", "w").write("\n".join(out_lines) + "\n")
    json.dump({"nfi_trace": 1, "producer": "test_traces.py",
               "format": "binary32"}, open("h/trace.json", "w"))
    w1 = np.load("a/snapshots/step_00000040/W1.npy")
    w1[1, 2] = float(np.nextafter(np.nextafter(np.float32(w1[1, 2]),
                                               np.float32(9)),
                                  np.float32(9)))
    np.save("h/snapshots/step_40/W1.npy", w1)
    rc, out, _ = run("diff", "a", "h", "--json")
    j = json.loads(out) if out else {}
    q = {x["name"]: x for x in j.get("quantities", [])}
    check(rc == 1 and j.get("diverged_step") == 20 and
          j.get("diverged_quantity") == "loss", "hand trace: diverged at "
          "step 20 in loss: %s" % out[-300:])
    check("loss" in q and q["loss"]["max_ulps"] == 1 and
          q["loss"]["first_step_beyond_tolerance"] == 20,
          "hand trace: loss 1 ulp at step 20")
    check("W1" in q and q["W1"]["max_ulps"] == 2 and
          q["W1"]["first_element"] == 1 * 22 + 2 and
          q["W1"]["max_ulps_step"] == 40, "hand trace: W1 2 ulps at [1, 2]")
    check(all(x["max_ulps"] == 0 for n, x in q.items()
              if n not in ("loss", "W1")), "hand trace: nothing else moved")
    rc, out, _ = run("diff", "a", "h", "--tolerance", "2")
    check(rc == 0 and "within tolerance" in out, "tolerance 2: " + out)
    rc, out, _ = run("diff", "a", "h", "--tolerance", "1.5")
    check(rc == 1 and "diverged at step 40 in W1" in out,
          "tolerance 1.5: " + out[-200:])
    rc, out, _ = run("diff", "a", "h", "--tolerance", "1")
    check(rc == 1 and "diverged at step 40 in W1" in out,
          "tolerance 1 (not beyond for loss): " + out[-200:])
    os.makedirs("empty")
    rc, _, err = run("diff", "a", "empty")
    check(rc == 2 and "is not a trace" in err, "diff of a non-trace: " + err)
    rc, _, err = run("diff", "a", "h", "--tolerance", "-1")
    check(rc == 2, "negative tolerance refused")
    if subprocess.run(["sh", "-c", "command -v gnuplot"],
                      stdout=subprocess.DEVNULL).returncode == 0:
        rc, _, err = run("diff", "a", "bf", "--plot", "d.png")
        check(rc == 1 and os.path.getsize("d.png") > 1000,
              "diff --plot draws: " + err)
    subprocess.run(["rm", "-rf", tmp])
    return clitest.finish()


def pow_inv(b, p):
    return np.array([pow(int(x), p - 2, p) for x in b])


if __name__ == "__main__":
    sys.exit(main())
