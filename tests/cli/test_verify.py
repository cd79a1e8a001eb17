"""nfi verify end to end: short real runs where the claims are known to
hold (a bfloat16 run that absorbs, grows and spikes, checked against its
binary64 control) and where they are known not to (the binary64 run
itself, a bfloat16 run whose growth stays below 10x before its spike, a
bfloat16 "control" that absorbs); a record with one absorbed flag
flipped makes C1 fail naming the step and sample; verify.json and
verify.md are written; bad inputs exit 1 or 2 naming them.

Usage: test_verify.py NFI_EXECUTABLE"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import clitest
from clitest import check, nfi

BASE = ["--task", "add", "--modulus", "7", "--hidden", "16",
        "--steps", "2000", "--log-every", "10", "--seed", "0"]


def verify(*args):
    """Runs `nfi verify ARGS`; returns (exit status, stdout, stderr)."""
    p = subprocess.run([clitest.NFI, "verify", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def verdicts(rundir):
    """{id: claim} from RUNDIR/verify.json."""
    with open(os.path.join(rundir, "verify.json")) as f:
        doc = json.load(f)
    return {c["id"]: c for c in doc["claims"]}, doc


def train(out, *extra):
    rc, _, err = nfi(*BASE, *extra, "--out", out)
    check(rc == 0, "nfi train %s: %s" % (" ".join(extra), err))


def flip_absorbed(path, sample):
    """Flips column 2 (absorbed) of row `sample` of a (N, 4) float64
    .npy file in place; returns the new value."""
    with open(path, "r+b") as f:
        data = f.read()
        assert data[:6] == b"\x93NUMPY"
        major = data[6]
        if major == 1:
            start = 10 + struct.unpack("<H", data[8:10])[0]
        else:
            start = 12 + struct.unpack("<I", data[8:12])[0]
        off = start + (sample * 4 + 2) * 8
        old = struct.unpack("<d", data[off:off + 8])[0]
        new = 0.0 if old != 0 else 1.0
        f.seek(off)
        f.write(struct.pack("<d", new))
    return new


def main():
    clitest.NFI = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="nfi-verify-")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp)
    return clitest.finish()


def run(tmp):
    bf = os.path.join(tmp, "bf16")        # absorbs, grows 10x, spikes
    b64 = os.path.join(tmp, "b64")        # the same start in binary64
    fast = os.path.join(tmp, "bf16-fast") # spikes before 10x growth
    train(bf, "--format", "bf16", "--lr", "0.02")
    train(b64, "--format", "binary64", "--lr", "0.02")
    train(fast, "--format", "bf16", "--lr", "0.05")

    # The bfloat16 run against its binary64 control.
    rc, out, err = verify(bf, "--control", b64)
    check(rc == 0, "verify bf16: exit %d, %s" % (rc, err))
    claims, doc = verdicts(bf)
    check(sorted(claims) == ["C%d" % i for i in range(1, 8)],
          "verify.json has C1..C7: %s" % sorted(claims))
    for cid, want in [("C1", "PASS"), ("C2", "PASS"), ("C5", "PASS"),
                      ("C6", "PASS"), ("C7", "PASS")]:
        check(claims[cid]["verdict"] == want, "bf16 %s: %s, want %s: %s"
              % (cid, claims[cid]["verdict"], want,
                 claims[cid]["evidence"]))
    c1 = claims["C1"]["figures"]
    check(c1["agree"] == c1["sample_steps"] and c1["sample_steps"] > 0,
          "C1 agreement on all sample-steps: %s" % c1)
    check(0 <= c1["formula_share"] <= 1, "C1 formula share %s" % c1)
    check(doc["windows"]["onset"] is not None and
          doc["windows"]["onset"] > 1, "an onset found: %s" % doc["windows"])
    c5 = claims["C5"]
    check("growth_min_factor" in c5["thresholds"],
          "C5 names its threshold: %s" % c5["thresholds"])
    check(c5["figures"]["w_factor"] >= 10, "C5 w factor %s" % c5)
    for key in ("w_rate_per_1000", "w_exp_r2", "w_power_r2",
                "w_local_rate", "feat_rate_per_1000"):
        check(key in c5["figures"], "C5 reports %s" % key)
    for cid in claims:
        check(claims[cid]["verdict"] in ("PASS", "FAIL", "N/A") and
              claims[cid]["claim"] and claims[cid]["evidence"],
              "%s has a verdict, a claim and evidence" % cid)
    for cid in ("C1", "C5", "C7"):
        check(any(line.startswith(cid + " ") for line in out.splitlines()),
              "a table row for %s:\n%s" % (cid, out))
    md = open(os.path.join(bf, "verify.md")).read()
    check("| C1 |" in md and "| C7 |" in md, "verify.md has the table")

    # The binary64 run: C1 holds, no growth window, no spike.
    rc, out, err = verify(b64)
    check(rc == 0, "verify b64: exit %d, %s" % (rc, err))
    claims, _ = verdicts(b64)
    check(claims["C1"]["verdict"] == "PASS", "b64 C1: %s"
          % claims["C1"]["evidence"])
    check(claims["C5"]["verdict"] != "PASS", "b64 must not pass C5: %s"
          % claims["C5"]["evidence"])
    check(claims["C6"]["verdict"] != "PASS", "b64 must not pass C6")
    check(claims["C7"]["verdict"] == "N/A", "no controls: C7 N/A")

    # A spike before 10x growth: C5 fails, C6 holds; a bfloat16 control
    # absorbs and grows, so C7 fails.
    rc, out, err = verify(fast, "--control", fast)
    check(rc == 0, "verify fast: exit %d, %s" % (rc, err))
    claims, _ = verdicts(fast)
    check(claims["C5"]["verdict"] == "FAIL", "fast C5: %s"
          % claims["C5"]["evidence"])
    check(claims["C6"]["verdict"] == "PASS", "fast C6: %s"
          % claims["C6"]["evidence"])
    check(claims["C7"]["verdict"] == "FAIL", "absorbing control C7: %s"
          % claims["C7"]["evidence"])

    # C4 for Adam: the drift of w_bar against -mu_G over the window.
    claims, _ = verdicts(bf)
    check(claims["C4"]["verdict"] == "PASS" and
          claims["C4"]["figures"]["cosine"] >= 0.9,
          "bf16 Adam C4: %s" % claims["C4"]["evidence"])

    # C4 for SGD, against -(lr/K) sum_i r_i h_i: it holds to rounding
    # error with binary64 parameters and bfloat16 logits, and fails when
    # the parameters' own rounding (bfloat16) swamps the drift.
    sgd = ["--optimizer", "sgd", "--lr", "5", "--steps", "300"]
    sgd_mixed = os.path.join(tmp, "sgd-mixed")
    sgd_bf = os.path.join(tmp, "sgd-bf16")
    train(sgd_mixed, *sgd, "--format", "binary64", "--policy",
          "logits=bf16")
    train(sgd_bf, *sgd, "--format", "bf16")
    for d, want in [(sgd_mixed, "PASS"), (sgd_bf, "FAIL")]:
        rc, _, err = verify(d)
        claims, _ = verdicts(d)
        c4 = claims["C4"]
        check(rc == 0 and c4["verdict"] == want and
              "rel_tol" in c4["thresholds"],
              "SGD C4 %s: %s, want %s: %s" % (d, c4["verdict"], want,
                                              c4["evidence"]))
    claims, _ = verdicts(sgd_mixed)
    check(claims["C4"]["figures"]["worst_rel_diff"] < 1e-9,
          "SGD drift to rounding error: %s" % claims["C4"]["figures"])

    # One flipped flag: C1 fails and names the step and the sample.
    bad = os.path.join(tmp, "flipped")
    shutil.copytree(bf, bad)
    flip_absorbed(os.path.join(bad, "snapshots", "step_00000500",
                               "samples.npy"), 3)
    rc, out, err = verify(bad)
    claims, _ = verdicts(bad)
    check(rc == 0 and claims["C1"]["verdict"] == "FAIL",
          "flipped flag: C1 %s" % claims["C1"]["verdict"])
    check("step 500, sample 3" in claims["C1"]["evidence"],
          "C1 names the step and sample: %s" % claims["C1"]["evidence"])
    f = claims["C1"]["figures"]
    check(f["disagree"] == 1 and f["first_disagreement_step"] == 500,
          "one disagreement at step 500: %s" % f)

    # Without the logits the per-sample claims are N/A, the others run.
    nologits = os.path.join(tmp, "nologits")
    shutil.copytree(bf, nologits)
    for d, _, files in os.walk(nologits):
        for name in files:
            if name.startswith("logits."):
                os.remove(os.path.join(d, name))
    rc, out, err = verify(nologits)
    claims, _ = verdicts(nologits)
    check(rc == 0 and claims["C1"]["verdict"] == "N/A" and
          claims["C5"]["verdict"] == "PASS",
          "no logits: C1 %s, C5 %s" % (claims["C1"]["verdict"],
                                       claims["C5"]["verdict"]))

    # Bad inputs.
    missing = os.path.join(tmp, "missing")
    rc, _, err = verify(missing)
    check(rc == 2 and "missing" in err, "missing dir: %d %s" % (rc, err))
    plain = os.path.join(tmp, "plain")
    os.mkdir(plain)
    rc, _, err = verify(plain)
    check(rc == 2 and "not a run directory" in err and "plain" in err,
          "plain dir: %d %s" % (rc, err))
    rc, _, err = verify(bf, "--control", missing)
    check(rc == 2 and "missing" in err, "missing control: %d %s"
          % (rc, err))
    rc, _, err = verify()
    check(rc == 2, "no run directory: %d" % rc)
    rc, _, err = verify(bf, "--bogus")
    check(rc == 2 and "--bogus" in err, "unknown option: %d %s"
          % (rc, err))
    rc, out, _ = verify("--help")
    check(rc == 0 and "C5" in out, "--help")
    damaged = os.path.join(tmp, "damaged")
    shutil.copytree(bf, damaged)
    with open(os.path.join(damaged, "metrics.csv"), "w") as f:
        f.write("step,loss\n1,2\n")
    rc, _, err = verify(damaged)
    check(rc == 1 and "metrics.csv" in err, "damaged metrics.csv: %d %s"
          % (rc, err))
    # a complete run whose last row lost its line end, and rows out of
    # step order, are damage too (the reader alone would drop the row)
    for name, edit in [("cut", lambda t: t[:-1]),
                       ("order", lambda t: t.replace("\n10,", "\n1,", 1))]:
        d = os.path.join(tmp, "damaged_" + name)
        shutil.copytree(bf, d)
        path = os.path.join(d, "metrics.csv")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(edit(text))
        rc, _, err = verify(d)
        check(rc == 1 and "damaged" in err,
              "metrics.csv %s: %d %s" % (name, rc, err))


if __name__ == "__main__":
    sys.exit(main())
