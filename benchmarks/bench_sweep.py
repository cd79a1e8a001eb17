#!/usr/bin/env python3
"""Times a precision sweep of the canonical experiment.

Runs
  nfi sweep --mantissa 8:32 --jobs 2 --steps 30000 --out DIR
(every other nfi train option at its default: div mod 23, MLP 46-128-23,
Adam, binary32's exponent range, p = 8 to 32: 25 runs) and prints the
wall time, the CPU time of the sweep and its workers (user + sys, from
os.wait4), the runs per hour and the target (the whole sweep within 10
minutes on a 2-core machine), then the sweep's threshold figures: which
p spiked, the onset range.

--steps N shortens every run (a smoke test: --steps 2000); --mantissa,
--jobs change the sweep.  The sweep directory goes into a temporary
directory removed at the end (--keep keeps it and prints its path).
Exit status 0 when the sweep finished (whether the target is met or not),
1 when it failed, 2 for a usage error or a missing nfi binary.
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time

TARGET_SECONDS = 600


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nfi", default=os.path.join(here, "..", "build", "cli",
                                                  "nfi"))
    ap.add_argument("--steps", type=int, default=30000)
    ap.add_argument("--mantissa", default="8:32")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not os.access(a.nfi, os.X_OK):
        print("bench_sweep: no nfi at %s (build it: meson setup build && "
              "ninja -C build, or give --nfi)" % a.nfi, file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="nfi-bench-sweep-")
    out = os.path.join(tmp, "sweep")
    cmd = [a.nfi, "sweep", "--steps", str(a.steps), "--mantissa", a.mantissa,
           "--jobs", str(a.jobs), "--out", out]
    print("$ " + " ".join(cmd), flush=True)
    try:
        with open(os.devnull) as null:
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdin=null)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.monotonic() - t0
        rc = os.waitstatus_to_exitcode(status)
        if rc != 0:
            print("bench_sweep: nfi sweep exited with status %d" % rc,
                  file=sys.stderr)
            return 1
        with open(os.path.join(out, "summary.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        cpu = ru.ru_utime + ru.ru_stime
        n = len(rows)
        print()
        print("runs            %d (p = %s, %d steps each, --jobs %d)" %
              (n, a.mantissa, a.steps, a.jobs))
        print("wall time       %.1f s" % wall)
        print("CPU time        %.1f s (user + sys of the sweep and its "
              "workers)" % cpu)
        print("runs per hour   %.1f" % (n * 3600.0 / wall))
        print("CPU s per run   %.2f" % (cpu / n))
        load = os.getloadavg()[0]
        print("load average    %.2f (other work on the machine slows "
              "the wall time)" % load)
        if a.steps == 30000 and a.mantissa == "8:32":
            print("target          the sweep within %d s: %s" %
                  (TARGET_SECONDS, "met" if wall <= TARGET_SECONDS else
                   "NOT met"))
        else:
            print("target          (for the full sweep only; this one "
                  "would take about %.0f s at 30000 steps)" %
                  (wall * 30000.0 / a.steps))
        spiked = [r["p"] for r in rows if r["spike"] == "yes"]
        failed = [r["p"] for r in rows if r["status"] == "failed"]
        onsets = [int(r["onset_step"]) for r in rows if r["onset_step"]]
        print("spikes at p     %s" % (", ".join(spiked) or "none"))
        print("failed at p     %s" % (", ".join(failed) or "none"))
        if onsets:
            print("onsets          steps %d to %d" % (min(onsets),
                                                      max(onsets)))
        return 0
    finally:
        if a.keep:
            print("kept %s" % out)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
