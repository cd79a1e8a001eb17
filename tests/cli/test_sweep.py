"""nfi sweep driven as a user would: a sweep run twice gives identical
summaries whose figures match the runs' own files; shards merged equal
the whole; a restart skips finished runs and resumes an interrupted
one; the threshold search finds the boundary the full sweep shows;
an MPI sweep of 2 ranks equals the single process (skipped without
MPI); bad arguments are refused with exit status 2.

Usage: test_sweep.py NFI"""
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import clitest
from clitest import check, read

# A small case whose spikes are known from running it: add mod 7,
# width 16, 1000 steps at lr 0.02 spike for p = 7..9 and not for p = 6
# nor 10..16 (in 2000 steps p = 5..10 spike).
TRAIN = ["--task", "add", "--modulus", "7", "--hidden", "16", "--steps",
         "1000", "--lr", "0.02", "--log-every", "10"]


def sweep(*args, timeout=300):
    p = subprocess.run([clitest.NFI, "sweep", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def rows(d):
    with open(os.path.join(d, "summary.csv"), newline="") as f:
        return list(csv.DictReader(f))


def metrics(run):
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def cell(x):
    return None if x == "" else float(x)


def check_figures(d):
    """Each row of summary.csv against the run's summary.json and
    metrics.csv, recomputed here."""
    for r in rows(d):
        run = os.path.join(d, "runs", r["run"])
        s = json.load(open(os.path.join(run, "summary.json")))
        m = metrics(run)
        name = r["run"]
        check(cell(r["onset_step"]) == s["absorption_onset"],
              "%s: onset %s vs summary.json %s" % (name, r["onset_step"],
                                                   s["absorption_onset"]))
        fs = s["first_spike"]["step"] if s["first_spike"] else None
        check(cell(r["first_spike_step"]) == fs,
              "%s: first spike %s vs %s" % (name, r["first_spike_step"], fs))
        check(int(r["spikes"]) == s["spikes"], "%s: spikes" % name)
        check(float(r["final_loss"]) == m[-1]["loss"] or
              (math.isnan(m[-1]["loss"]) and r["final_loss"] == "nan"),
              "%s: final loss" % name)
        check(float(r["max_absorbed_frac"]) ==
              max(x["absorbed_frac"] for x in m), "%s: max absorbed" % name)
        check(r["status"] == read(os.path.join(run, "status")).decode()
              .split()[0], "%s: status" % name)
        if fs is not None:
            ratio = m[[x["step"] for x in m].index(fs)]["loss"] / \
                s["first_spike"]["running_min"]
            check(float(r["spike_loss_ratio"]) == ratio,
                  "%s: spike loss ratio %s vs %r" %
                  (name, r["spike_loss_ratio"], ratio))
        on = s["absorption_onset"]
        if on is None:
            check(r["growth_rate"] == "", "%s: growth without onset" % name)
        else:
            steps = [x["step"] for x in m]
            i0 = steps.index(on)
            starts, prev, low = [], False, math.inf
            for x in m:
                sp = (not math.isnan(x["loss"]) and x["loss"] > low and
                      x["loss"] >= 10 * max(low, 0))
                if sp and not prev:
                    starts.append(x["step"])
                prev = sp
                if x["loss"] > 0:
                    low = min(low, x["loss"])
            after = [t for t in starts if t >= on]
            i1 = steps.index(after[0]) if after else len(m) - 1
            g = m[i1]["w_mean_norm"] / m[i0]["w_mean_norm"]
            check(float(r["growth_rate"]) == g,
                  "%s: growth %s vs %r" % (name, r["growth_rate"], g))
            check(r["growth"] == ("yes" if g > 10 else "no"),
                  "%s: growth verdict" % name)
        check(r["spike"] == ("yes" if fs is not None else "no"),
              "%s: spike verdict" % name)
        check(r["absorption"] == ("yes" if float(r["max_absorbed_frac"]) >
                                  0.2 else "no"), "%s: absorption" % name)


def same_summary(a, b, what):
    for f in ("summary.csv", "summary.md"):
        check(read(os.path.join(a, f)) == read(os.path.join(b, f)),
              "%s: %s differs" % (what, f))


def status_of(run):
    try:
        return read(os.path.join(run, "status")).decode().split()[0]
    except OSError:
        return None


def rows_written(run):
    try:
        with open(os.path.join(run, "metrics.csv"), "rb") as f:
            return f.read().count(b"\n") - 1
    except OSError:
        return 0


def main():
    clitest.NFI = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="nfi-sweep-")
    try:
        run_tests(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return clitest.finish()


def run_tests(tmp):
    os.chdir(tmp)
    whole = ["--mantissa", "6:11", "--jobs", "2"]

    # Twice from scratch: identical summaries, figures as the runs say.
    rc, out, err = sweep(*TRAIN, *whole, "--out", "a")
    check(rc == 0, "sweep a: rc %d %s" % (rc, err))
    rc, out, err = sweep(*TRAIN, *whole, "--jobs", "1", "--out", "b")
    check(rc == 0, "sweep b: rc %d %s" % (rc, err))
    same_summary("a", "b", "two sweeps")
    check_figures("a")
    r = rows("a")
    check([x["p"] for x in r] == [str(p) for p in range(6, 12)],
          "p column: %s" % [x["p"] for x in r])
    spiking = [int(x["p"]) for x in r if x["spike"] == "yes"]
    check(spiking == [7, 8, 9], "spikes at p = %s" % spiking)
    check("000-p6 (p=6) has no spike, 001-p7 (p=7) has one" in out,
          "the non-monotone pair p=6/p=7 reported: %s" % out)
    md = read("b/summary.md").decode()
    check("Not monotone in p" in md and "000-p6" in md,
          "summary.md reports p=6 against p=7..9")
    # No per-sample tensors by default.
    check(not any(f.endswith("logits.npy") for f in clitest.tree("a/runs")),
          "the sweep's runs have no logits.npy")

    # --records metrics (the sweep's default) changes no figure: a run
    # with the per-sample tensors has the same metrics.csv.
    rc, out, err = clitest.nfi(*TRAIN, "--format", "p=7,emin=-126,emax=127",
                               "--out", "full7")
    check(rc == 0, "nfi train --records full: rc %d %s" % (rc, err))
    check(read("full7/metrics.csv") == read("a/runs/001-p7/metrics.csv"),
          "--records metrics changed metrics.csv")
    check(os.path.exists("full7/snapshots/step_00000010/logits.npy"),
          "--records full writes logits.npy")
    rc, out, err = sweep(*TRAIN, "--formats", "bf16", "--keep-records",
                         "--out", "kr")
    check(rc == 0 and any(f.endswith("logits.npy")
                          for f in clitest.tree("kr/runs")),
          "--keep-records: rc %d, logits.npy written" % rc)

    # Restart: nothing runs again.
    before = {n: read(os.path.join("a/runs", n, "status"))
              for n in os.listdir("a/runs") if not n.endswith(".log")}
    rc, out, err = sweep(*TRAIN, *whole, "--out", "a")
    check(rc == 0, "restart: rc %d %s" % (rc, err))
    after = {n: read(os.path.join("a/runs", n, "status")) for n in before}
    check(before == after, "a restart ran finished runs again")
    same_summary("a", "b", "restarted sweep")

    # Other arguments are refused, saying what differs; --force reruns.
    rc, out, err = sweep(*TRAIN, "--mantissa", "6:10", "--out", "a")
    check(rc == 2 and "mantissa" in err and "6:10" in err,
          "changed arguments: rc %d %s" % (rc, err))

    # Shards merged equal the whole.
    for i in range(3):
        rc, out, err = sweep(*TRAIN, *whole, "--shard", "%d/3" % i, "--out",
                             "s%d" % i)
        check(rc == 0, "shard %d: rc %d %s" % (i, rc, err))
        check(all(int(x["run"][:3]) % 3 == i for x in rows("s%d" % i)),
              "shard %d holds runs of another shard" % i)
    rc, out, err = sweep("--merge", "s0", "s1", "s2", "--out", "m")
    check(rc == 0, "merge: rc %d %s" % (rc, err))
    same_summary("a", "m", "merged shards")
    rc, out, err = sweep("--merge", "s0", "s2", "--out", "m2")
    check(rc == 2 and "001-p7" in err and "004-p10" in err and
          "not finished" in err,
          "merge with a shard missing: rc %d %s" % (rc, err))
    rc, out, err = sweep(*TRAIN, "--mantissa", "6:11", "--lr", "0.03",
                         "--shard", "1/3", "--out", "t1")
    rc, out, err = sweep("--merge", "s0", "t1", "s2", "--out", "m3")
    check(rc == 2 and "not a shard of the same sweep" in err and
          "train_options" in err, "merge of two sweeps: rc %d %s" % (rc, err))

    # Interrupted and resumed: the same summary and metrics as a sweep
    # that was not interrupted.
    long_train = TRAIN[:6] + ["--steps", "2000"] + TRAIN[8:]
    args = [*long_train, "--mantissa", "8:10", "--jobs", "1"]
    p = subprocess.Popen([clitest.NFI, "sweep", *args, "--out", "i"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    # Interrupted early in run 001 (20 of its 201 metrics rows written).
    while time.time() < deadline and rows_written("i/runs/001-p9") < 20:
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    check(p.returncode == 1, "interrupted sweep: rc %d" % p.returncode)
    st = status_of("i/runs/001-p9")
    if st == "complete":
        print("note: run 001-p9 finished before the signal; the resume "
              "was not exercised")
    else:
        check(st == "interrupted", "run 001-p9 is %s" % st)
    check(status_of("i/runs/002-p10") is None,
          "a run started after the interruption")
    rc, out, err = sweep(*args, "--out", "i")
    check(rc == 0, "resumed sweep: rc %d %s" % (rc, err))
    rc, out, err = sweep(*args, "--jobs", "2", "--out", "u")
    check(rc == 0, "uninterrupted sweep: rc %d %s" % (rc, err))
    same_summary("i", "u", "resumed sweep")
    for n in ("000-p8", "001-p9", "002-p10"):
        check(read("i/runs/%s/metrics.csv" % n) ==
              read("u/runs/%s/metrics.csv" % n),
              "%s: metrics.csv after the resume" % n)

    # The threshold search, against the full sweep above.
    rc, out, err = sweep(*TRAIN, "--mantissa", "7:16", "--find-threshold",
                         "--jobs", "2", "--out", "th")
    check(rc == 0, "find-threshold: rc %d %s" % (rc, err))
    th = json.load(open("th/threshold.json"))
    check(th["largest_p_with_spike"] == 9 and
          th["smallest_p_without_spike"] == 10,
          "threshold %s/%s" % (th["largest_p_with_spike"],
                               th["smallest_p_without_spike"]))
    probed = [q["p"] for q in th["probes"]]
    check(probed[:2] == [7, 16] and 9 in probed and 10 in probed and
          len(probed) < 10, "probes %s" % probed)
    full = {int(x["p"]): x for x in rows("a")}
    for q in th["probes"]:
        if q["p"] not in full:
            check(not q["unstable"], "probe p=%d spiked" % q["p"])
            continue
        check(q["unstable"] == (full[q["p"]]["spike"] == "yes"),
              "probe p=%d disagrees with the full sweep" % q["p"])
        fs = full[q["p"]]["first_spike_step"]
        check(q["first_spike_step"] == (int(fs) if fs else None),
              "probe p=%d first spike" % q["p"])
    check("Largest p with a spike (or failure): 9" in
          read("th/summary.md").decode(), "summary.md has the threshold")
    rc, out, err = sweep(*TRAIN, "--mantissa", "10:11", "--find-threshold",
                         "--out", "th2")
    check(rc == 0 and "No threshold in range" in out,
          "a range without spikes: %s %s" % (out, err))

    # A failed run (NaN loss) is a result.
    rc, out, err = sweep("--task", "add", "--modulus", "7", "--hidden",
                         "16", "--steps", "300", "--formats",
                         "binary32;p=11,emin=-14,emax=15", "--out", "f")
    check(rc == 0, "a sweep with a failing run: rc %d %s" % (rc, err))
    fr = rows("f")
    check([x["status"] for x in fr] == ["complete", "failed"] and
          fr[1]["final_loss"] == "nan", "failed run row: %s" % fr)

    # MPI: 2 ranks equal the single process.
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        print("SKIP: MPI test: mpirun is not installed (apt-get install "
              "openmpi-bin libopenmpi-dev, then rebuild)")
    else:
        cmd = [mpirun, "-n", "2", "--oversubscribe"]
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        # OpenMPI's own allocations at MPI_Init are never freed: in a
        # build with AddressSanitizer its leak check would fail the ranks
        # for them, so it is off for this sweep (its ranks and workers);
        # the other sweeps of this test keep it.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(
            x for x in (env.get("ASAN_OPTIONS"), "detect_leaks=0") if x)
        p = subprocess.run(cmd + ["-x", "ASAN_OPTIONS", clitest.NFI, "sweep",
                                  *TRAIN, *whole, "--jobs", "1", "--out",
                                  "mpi"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=300, env=env)
        if "built without MPI" in p.stderr:
            print("SKIP: MPI test: this nfi was built without MPI "
                  "(meson option mpi)")
        else:
            check(p.returncode == 0, "mpirun sweep: rc %d %s" %
                  (p.returncode, p.stderr))
            same_summary("a", "mpi", "2-rank MPI sweep")

    # nfi plot of a sweep directory: the heat map holds one box per
    # logged step of positive loss, onset and spike points per run.
    if shutil.which("gnuplot") is None:
        print("SKIP: nfi plot SWEEPDIR: gnuplot is not installed")
    else:
        p = subprocess.run([clitest.NFI, "plot", "a", "-o", "a.png",
                            "--keep-script", "a.gp"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        check(p.returncode == 0, "plot of a sweep: rc %d %s" %
              (p.returncode, p.stderr))
        check(read("a.png")[:8] == b"\x89PNG\r\n\x1a\n", "a.png is a PNG")
        gp = read("a.gp").decode()
        heat = gp.split("$heat << EOD\n")[1].split("EOD")[0].splitlines()
        want = sum(1 for x in rows("a") for m in
                   metrics(os.path.join("a/runs", x["run"]))
                   if m["loss"] > 0)
        check(len(heat) == want, "heat map rows %d, want %d" %
              (len(heat), want))
        onset = gp.split("$onset << EOD\n")[1].split("EOD")[0].split()
        want = [x for r in rows("a") if r["onset_step"]
                for x in (r["p"], r["onset_step"])]
        check(onset == want, "onset points %s, want %s" % (onset, want))

    # Bad arguments.
    bad = [
        (["--mantissa", "8-16"], "write A:B"),
        (["--mantissa", "16:8"], "A <= B"),
        (["--mantissa", "8:60"], "B <= 53"),
        (["--mantissa", "8:16", "--vary", "colour=red,blue"],
         "not an option of nfi train"),
        (["--mantissa", "8:16", "--vary", "format=bf16"],
         "sets --format itself"),
        (["--mantissa", "8:16", "--shard", "3/3"], "0 <= I < N"),
        (["--mantissa", "8:16", "--shard", "x"], "I/N"),
        (["--formats", "binary32", "--mantissa", "8:9"], "one of"),
        (["--formats", "binary33"], "binary33"),
        (["--mantissa", "8:9", "--exponent-bits", "5", "--emin", "-3",
          "--emax", "4"], "not both"),
        (["--mantissa", "8:9", "--jobs", "0"], "--jobs"),
        (["--mantissa", "8:9", "--bogus", "1"], "unknown option"),
        (["--formats", "bf16", "--find-threshold"], "--mantissa"),
        (["--mantissa", "8:9", "--format", "bf16"], "--formats"),
    ]
    for args, words in bad:
        rc, out, err = sweep(*args, "--out", "bad")
        check(rc == 2 and words in err,
              "%s: rc %d, %r" % (" ".join(args), rc, err))
    rc, out, err = sweep("--mantissa", "8:9")
    check(rc == 2 and "--out" in err, "no --out: rc %d %s" % (rc, err))
    rc, out, err = sweep("--merge", "nowhere", "--out", "m4")
    check(rc == 2 and "not a sweep directory" in err,
          "merge of a missing directory: rc %d %s" % (rc, err))
    # nfi train's own refusal stops the sweep with its message.
    rc, out, err = sweep("--mantissa", "8:9", "--lr", "abc", "--out", "bl")
    check(rc == 2 and "--lr 'abc'" in err, "bad train option: rc %d %s" %
          (rc, err))


if __name__ == "__main__":
    sys.exit(main())
