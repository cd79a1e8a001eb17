"""nfi train --resume end to end: a run interrupted by SIGINT (twice) or
killed by SIGKILL and then resumed ends with the files of the
uninterrupted run, byte for byte (but for the status reason, the "out"
option in config.json and the wall-clock seconds in summary.json);
damaged checkpoints, complete runs, directories without a checkpoint or
that are not run directories, and extra options are refused.

Usage: test_resume.py NFI_EXECUTABLE"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib

import clitest
from clitest import check, nfi, read, tree


def state_of(run):
    with open(os.path.join(run, "status")) as f:
        return f.readline().strip()


def rows(run):
    path = os.path.join(run, "metrics.csv")
    if not os.path.exists(path):
        return 0
    return max(read(path).count(b"\n") - 1, 0)


def wait_for(cond, p, what, limit=60):
    deadline = time.monotonic() + limit
    while not cond():
        if p.poll() is not None:
            return False
        if time.monotonic() > deadline:
            check(False, "timed out waiting for " + what)
            return False
        time.sleep(0.005)
    return True


def same_run(full, resumed, what):
    """The resumed run directory holds the uninterrupted run's files."""
    check(state_of(resumed) == "complete", what + ": status complete")
    a, b = tree(full), tree(resumed)
    check(a == b, what + ": same files (only in the uninterrupted run: %s; "
          "only in the resumed one: %s)" % (sorted(a - b), sorted(b - a)))
    for rel in sorted(a & b):
        pa, pb = os.path.join(full, rel), os.path.join(resumed, rel)
        if rel == "status":
            continue
        if rel == "config.json":
            ca, cb = json.load(open(pa)), json.load(open(pb))
            del ca["options"]["out"], cb["options"]["out"]
            check(ca == cb, what + ": config.json but for out")
        elif rel == "summary.json":
            sa, sb = json.load(open(pa)), json.load(open(pb))
            del sa["seconds"], sb["seconds"]
            check(sa == sb, what + ": summary.json but for seconds")
        else:
            check(read(pa) == read(pb), what + ": " + rel + " byte for byte")


def check_crcs(snap, what):
    """state.json's sizes and CRC-32s are zlib's of the files."""
    st = json.load(open(os.path.join(snap, "state.json")))
    for f in st["files"]:
        data = read(os.path.join(snap, f["name"]))
        check(len(data) == f["bytes"] and
              "%08x" % zlib.crc32(data) == f["crc32"],
              what + ": " + f["name"] + " size and CRC-32")
    for c in st["sr_counters"].values():
        check(isinstance(c, str) and c.isdigit(),
              what + ": counters as decimal strings")


def interrupt(args, out, min_rows, resume=False, delay=0.0, after=None):
    """Starts a run (or a resumption of out), sends SIGINT delay seconds
    after metrics.csv has min_rows rows (and the file after, relative to
    out, exists), and waits for it.  Returns (exit status, stderr,
    whether the status said running while it ran)."""
    cmd = [NFI, "train", *(["--resume", out] if resume else
                           [*args, "--out", out])]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    seen_running = [False]

    def ready():
        if os.path.exists(os.path.join(out, "status")) and \
                state_of(out) == "running":
            seen_running[0] = True
        return rows(out) >= min_rows and \
            (after is None or os.path.exists(os.path.join(out, after)))
    signalled = wait_for(ready, p, "%d rows in %s" % (min_rows, out))
    if signalled and delay > 0:
        time.sleep(delay)
        signalled = p.poll() is None
    if signalled:
        p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    check(signalled, "%s: the run ended before it could be signalled "
          "(too fast?): %s" % (out, err))
    return p.returncode, err, seen_running[0]


def test_sigint(tmp):
    args = ["--task", "add", "--modulus", "7", "--hidden", "16",
            "--steps", "400", "--log-every", "20", "--round", "sr",
            "--policy", "logits=binary64", "--seed", "5"]
    full = os.path.join(tmp, "full")
    rc, _, err = nfi(*args, "--out", full)
    check(rc == 0, "uninterrupted run: exit %d: %s" % (rc, err))

    part = os.path.join(tmp, "part")
    rc, err, _ = interrupt(args, part, 3)
    check(rc == 1 and state_of(part) == "interrupted" and "--resume" in err,
          "SIGINT: exit %d, status %s: %s" % (rc, state_of(part), err))
    summary = json.load(open(os.path.join(part, "summary.json")))
    step = summary["steps_done"]
    snap = os.path.join(part, "snapshots", "step_%08d" % step)
    check(0 < step < 400 and os.path.isfile(os.path.join(snap, "state.json")),
          "SIGINT: a checkpoint at the step reached, %d" % step)
    st = json.load(open(os.path.join(snap, "state.json")))
    check(st["step"] == step, "SIGINT: state.json step")
    check_crcs(snap, "SIGINT checkpoint")
    shutil.copytree(part, os.path.join(tmp, "interrupted"))

    # Resumed, interrupted again, resumed to the end.
    rc, err, running = interrupt(args, part, rows(part) + 3, resume=True)
    check(rc == 1 and state_of(part) == "interrupted",
          "second SIGINT: exit %d, status %s: %s" % (rc, state_of(part),
                                                     err))
    check(running, "the resumed run's status says running")
    second = json.load(open(os.path.join(part, "summary.json")))
    check(second["steps_done"] > step, "the resumed run went on from %d to "
          "%d" % (step, second["steps_done"]))
    rc, _, err = nfi("--resume", part)
    check(rc == 0, "resume to the end: exit %d: %s" % (rc, err))
    with open(os.path.join(part, "status")) as f:
        f.readline()
        reason = f.readline()
    check("resum" in reason, "status reason says resumed: " + reason)
    same_run(full, part, "SIGINT twice, resumed")

    # A complete run is not resumed.
    before = read(os.path.join(part, "metrics.csv"))
    rc, _, err = nfi("--resume", part)
    check(rc == 2 and "complete" in err, "complete run: exit %d: %s" %
          (rc, err))
    check(read(os.path.join(part, "metrics.csv")) == before,
          "complete run left untouched")

    # A run interrupted after its last step has nothing left to train: the
    # resumption only completes it.
    last = os.path.join(tmp, "last")
    shutil.copytree(full, last)
    with open(os.path.join(last, "status"), "w") as f:
        f.write("interrupted\nSIGINT after step 400 of 400\n")
    rc, _, err = nfi("--resume", last)
    check(rc == 0, "resume after the last step: exit %d: %s" % (rc, err))
    same_run(full, last, "interrupted after the last step, resumed")
    return os.path.join(tmp, "interrupted")


def test_unlogged(tmp):
    """An interruption at a step without a metrics row: its snapshot folder
    goes entirely when the resumed run completes."""
    args = ["--task", "mul", "--modulus", "7", "--hidden", "16",
            "--steps", "400", "--log-every", "1000", "--snapshot-every",
            "150", "--optimizer", "adamw", "--weight-decay", "0.01",
            "--round", "sr", "--seed", "0x10"]
    full = os.path.join(tmp, "ufull")
    rc, _, err = nfi(*args, "--out", full)
    check(rc == 0, "uninterrupted run: exit %d: %s" % (rc, err))
    part = os.path.join(tmp, "upart")
    # after the last file of logged step 1, so that the signal does not
    # land while step 1 still writes its records
    rc, err, _ = interrupt(args, part, 1, delay=0.1,
                           after="snapshots/step_00000001/classifier.json")
    step = json.load(open(os.path.join(part, "summary.json")))["steps_done"]
    check(rc == 1 and 1 < step < 400,
          "SIGINT between logged steps: exit %d at step %d: %s" %
          (rc, step, err))
    rc, _, err = nfi("--resume", part)
    check(rc == 0, "resume: exit %d: %s" % (rc, err))
    same_run(full, part, "SIGINT between logged steps, resumed")


def test_sigkill(tmp):
    args = ["--task", "sub", "--modulus", "7", "--hidden", "16",
            "--layers", "2", "--steps", "600", "--snapshot-every", "100",
            "--log-every", "25", "--optimizer", "sgd", "--lr", "0.1",
            "--momentum", "0.9", "--format", "bfloat16",
            "--policy", "accum=binary32,optim=binary32", "--round", "sr"]
    full = os.path.join(tmp, "kfull")
    rc, _, err = nfi(*args, "--out", full)
    check(rc == 0, "uninterrupted run: exit %d: %s" % (rc, err))

    part = os.path.join(tmp, "kpart")
    p = subprocess.Popen([NFI, "train", *args, "--out", part],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = os.path.join(part, "snapshots", "step_00000100", "state.json")
    killed = wait_for(lambda: os.path.exists(first), p, first)
    if killed:
        p.kill()
    p.wait(timeout=60)
    check(killed and state_of(part) == "running",
          "SIGKILL after the first checkpoint: status %s" % state_of(part))
    check(not os.path.exists(os.path.join(part, "snapshots",
                                          "step_00000600")),
          "SIGKILL: no final snapshot")
    rc, _, err = nfi("--resume", part)
    check(rc == 0, "resume after SIGKILL: exit %d: %s" % (rc, err))
    same_run(full, part, "SIGKILL, resumed")


def test_errors(tmp, interrupted):
    rc, _, err = nfi("--resume", os.path.join(tmp, "missing"))
    check(rc == 2 and "missing" in err, "missing directory: exit %d: %s" %
          (rc, err))
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    rc, _, err = nfi("--resume", empty)
    check(rc == 2 and "not an nfi run directory" in err,
          "not a run directory: exit %d: %s" % (rc, err))
    for extra, word in [(["--force"], "--force"), (["--out", "x"], "--out"),
                        (["--steps", "9"], "--steps"),
                        (["--config", os.path.join(interrupted,
                                                   "config.json")],
                         "--config")]:
        rc, _, err = nfi("--resume", interrupted, *extra)
        check(rc == 2 and word in err, "--resume with %s: exit %d: %s" %
              (word, rc, err))

    snaps = os.path.join(interrupted, "snapshots")
    last = sorted(d for d in os.listdir(snaps)
                  if os.path.isfile(os.path.join(snaps, d, "state.json")))[-1]
    last = os.path.join(snaps, last)
    metrics = read(os.path.join(interrupted, "metrics.csv"))
    status = read(os.path.join(interrupted, "status"))

    def damaged(path, edit, word):
        case = os.path.join(tmp, "damaged")
        shutil.rmtree(case, ignore_errors=True)
        shutil.copytree(interrupted, case)
        target = os.path.join(case, os.path.relpath(path, interrupted))
        data = bytearray(read(target))
        with open(target, "wb") as f:
            f.write(edit(data))
        rc, _, err = nfi("--resume", case)
        name = os.path.basename(path)
        check(rc == 1 and name in err and word in err,
              "damaged %s: exit %d: %s" % (name, rc, err))
        check(read(os.path.join(case, "metrics.csv")) == metrics and
              read(os.path.join(case, "status")) == status,
              "damaged %s: the run directory is left as it was" % name)

    def flip(b):
        b[-3] ^= 0x10
        return b
    damaged(os.path.join(last, "optim_m.npy"), flip, "CRC-32")
    damaged(os.path.join(last, "params.npy"), lambda b: b[:-16],
            "truncated")
    damaged(os.path.join(last, "state.json"), lambda b: b[:len(b) // 2],
            "state.json")

    # Without any checkpoint.
    case = os.path.join(tmp, "none")
    shutil.copytree(interrupted, case)
    for d in os.listdir(os.path.join(case, "snapshots")):
        state = os.path.join(case, "snapshots", d, "state.json")
        if os.path.exists(state):
            os.remove(state)
    rc, _, err = nfi("--resume", case)
    check(rc == 2 and "no checkpoint" in err,
          "no checkpoint: exit %d: %s" % (rc, err))

    # The undamaged copy still resumes.
    rc, _, err = nfi("--resume", interrupted)
    check(rc == 0, "undamaged copy resumes: exit %d: %s" % (rc, err))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        interrupted = test_sigint(tmp)
        test_sigkill(tmp)
        test_unlogged(tmp)
        test_errors(tmp, interrupted)
        rc, out, _ = nfi("--help")
        check(rc == 0 and "--resume" in out, "--help mentions --resume")
    return clitest.finish()


if __name__ == "__main__":
    NFI = clitest.NFI = sys.argv[1]
    sys.exit(main())
