"""nfi train end to end: a short run writes every file of its run
directory, --config repeats it byte for byte, an existing run is kept
unless --force, and bad flags exit 2 naming the flag.

Usage: test_train.py NFI_EXECUTABLE"""
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import clitest
from clitest import check, nfi, read, tree

HEADER = ("step,loss,train_acc,test_acc,absorbed_frac,underflow_frac,"
          "zero_sum_residual,residual_mass,margin_min,margin_mean,"
          "margin_max,w_mean_norm,feat_mean_norm,w_norm,param_norm,"
          "update_norm,logit_mean")

SHORT = ["--task", "add", "--modulus", "7", "--hidden", "16",
         "--steps", "30", "--log-every", "10"]


def check_run(run, final_step, logged):
    with open(os.path.join(run, "status")) as f:
        check(f.readline().strip() == "complete", run + ": status")
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        text = f.read()
    lines = text.splitlines()
    check(lines and lines[0] == HEADER, run + ": metrics.csv header")
    rows = list(csv.reader(lines[1:]))
    check([int(r[0]) for r in rows] == logged,
          run + ": logged steps %s" % [r[0] for r in rows])
    for r in rows:
        check(len(r) == 17, run + ": row width")
        for cell in r[1:]:
            float(cell)
    cfg = json.load(open(os.path.join(run, "config.json")))
    check(cfg["options"]["task"] == "add" and
          cfg["options"]["modulus"] == 7, run + ": config options")
    check(set(cfg["resolved"]["formats"]) ==
          {"params", "activations", "logits", "grads", "accum", "optim"},
          run + ": config formats")
    summary = json.load(open(os.path.join(run, "summary.json")))
    check(summary["final"]["step"] == final_step, run + ": summary step")
    snap = os.path.join(run, "snapshots", "step_%08d" % final_step)
    for name in ["W1", "b1", "W2"]:
        check(os.path.isfile(os.path.join(snap, name + ".npy")),
              run + ": " + name + ".npy")
        meta = json.load(open(os.path.join(snap, name + ".json")))
        check(meta["format"] == "binary32", run + ": " + name + " format")
    check(not os.path.exists(os.path.join(snap, "b2.npy")),
          run + ": no classifier bias")
    for step in logged:
        check(os.path.isfile(os.path.join(run, "snapshots",
                                          "step_%08d" % step,
                                          "samples.npy")),
              run + ": samples at step %d" % step)
    try:
        import numpy as np
    except ImportError:
        return
    w1 = np.load(os.path.join(snap, "W1.npy"))
    wc = np.load(os.path.join(snap, "W2.npy"))
    check(w1.shape == (16, 14) and wc.shape == (7, 16), run + ": shapes")
    check(np.all(w1.astype(np.float32).astype(np.float64) == w1),
          run + ": W1 holds binary32 values")
    s = np.load(os.path.join(snap, "samples.npy"))
    check(s.ndim == 2 and s.shape[1] == 4, run + ": samples shape")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        a = os.path.join(tmp, "a")
        rc, _, err = nfi(*SHORT, "--out", a)
        check(rc == 0, "short run: exit %d: %s" % (rc, err))
        check_run(a, 30, [1, 10, 20, 30])

        b = os.path.join(tmp, "b")
        rc, _, err = nfi("--config", os.path.join(a, "config.json"),
                         "--out", b)
        check(rc == 0, "--config run: exit %d: %s" % (rc, err))
        check(tree(a) == tree(b), "--config: same files")
        for rel in sorted(tree(a)):
            if rel.endswith(".npy") or rel == "metrics.csv" or \
                    rel.startswith("snapshots"):
                check(read(os.path.join(a, rel)) ==
                      read(os.path.join(b, rel)), "--config: " + rel)

        # Options after --config override it.
        c = os.path.join(tmp, "c")
        rc, _, err = nfi("--config", os.path.join(a, "config.json"),
                         "--steps", "12", "--out", c)
        check(rc == 0, "--config override: exit %d: %s" % (rc, err))
        check_run(c, 12, [1, 10, 12])

        before = read(os.path.join(a, "metrics.csv"))
        rc, _, err = nfi(*SHORT, "--out", a)
        check(rc == 2 and "--out" in err and "--force" in err,
              "existing run refused: exit %d: %s" % (rc, err))
        check(read(os.path.join(a, "metrics.csv")) == before,
              "refused run left untouched")
        rc, _, err = nfi(*SHORT, "--steps", "20", "--out", a, "--force")
        check(rc == 0, "--force: exit %d: %s" % (rc, err))
        check_run(a, 20, [1, 10, 20])
        check(not os.path.exists(os.path.join(a, "snapshots",
                                              "step_00000030")),
              "--force removes the earlier snapshots")

        bad = [(["--format", "e9x"], "--format"),
               (["--lr", "nan"], "--lr"),
               (["--modulus", "1"], "--modulus"),
               (["--task", "pow"], "--task"),
               (["--model", "cnn"], "--model"),
               (["--policy", "logits=x"], "--policy"),
               (["--steps", "ten"], "--steps"),
               (["--train-frac", "1"], "--train-frac"),
               (["--task", "div", "--modulus", "8"], "--modulus"),
               (["--format", "binary128"], "--format"),
               (["--seed", "-1"], "--seed"),
               (["--no-such-flag"], "--no-such-flag")]
        for args, flag in bad:
            out = os.path.join(tmp, "bad")
            rc, _, err = nfi(*SHORT, *args, "--out", out)
            check(rc == 2 and flag in err,
                  "%s: exit %d: %s" % (" ".join(args), rc, err.strip()))
            check(not os.path.exists(out), "%s: no run directory" % args)
        rc, _, err = nfi(*SHORT)
        check(rc == 2 and "--out" in err, "missing --out: %s" % err)

        # SIGTERM ends the run after the current step, as interrupted.
        d = os.path.join(tmp, "d")
        p = subprocess.Popen([NFI, "train", *SHORT, "--steps", "100000000",
                              "--out", d], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        metrics = os.path.join(d, "metrics.csv")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
                not os.path.exists(metrics) or
                len(read(metrics).splitlines()) < 3):
            time.sleep(0.02)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        check(p.returncode != 0, "SIGTERM: exit %d" % p.returncode)
        with open(os.path.join(d, "status")) as f:
            state = f.readline().strip()
            reason = f.readline()
        check(state == "interrupted" and "step" in reason,
              "SIGTERM: status %s %s" % (state, reason))
        summary = json.load(open(os.path.join(d, "summary.json")))
        step = summary["steps_done"]
        check(summary["status"] == "interrupted" and os.path.isfile(
            os.path.join(d, "snapshots", "step_%08d" % step, "W2.npy")),
            "SIGTERM: final snapshot at step %d" % step)

        rc, out, _ = nfi("--help")
        check(rc == 0 and "--config" in out, "--help")

        # A run whose loss turns NaN stops as failed at that logged step,
        # and an eps that rounds to 0 in the optim format is warned of.
        f = os.path.join(tmp, "f16")
        rc, _, err = nfi(*SHORT, "--format", "binary16", "--out", f)
        check(rc == 1 and "NaN" in err, "NaN run: exit %d: %s" % (rc, err))
        check("--eps 1e-08 rounds to 0" in err, "eps warning: " + err)
        with open(os.path.join(f, "status")) as fh:
            status = fh.read()
        check(status.startswith("failed") and "NaN" in status,
              "NaN run status: " + status)
        rc, _, err = nfi(*SHORT, "--format", "binary16", "--eps", "1e-4",
                         "--out", f, "--force")
        check(rc == 0 and "warning" not in err,
              "binary16 with eps 1e-4: exit %d: %s" % (rc, err))
    return clitest.finish()


if __name__ == "__main__":
    NFI = clitest.NFI = sys.argv[1]
    sys.exit(main())
