#!/usr/bin/env python3
"""Times nfi's canonical training experiment against PyTorch float32.

Runs, one after the other in one invocation:
  nfi binary32   nfi train --format binary32 (every other option at its
                 default: div mod 23, MLP 46-128-23, Adam, 30000 steps)
  nfi p=20       nfi train --format p=20,emin=-126,emax=127 (20-bit
                 significands in binary32's exponent range, subnormals on)
  torch float32  benchmarks/torch_canonical.py, the same experiment in
                 PyTorch float32 on the CPU, from the same split and
                 initial parameters
and prints for each the wall time of the process, the time of its training
loop, milliseconds per step, CPU time and peak resident memory (getrusage
of the child through os.wait4), then the ratios of PyTorch's time per step
to nfi's against the targets (binary32 at least 3x faster than PyTorch,
p=20 at least 1.5x; under 100 MB per nfi run) and what each run ended with
(loss, accuracies, loss spikes under nfi's definition).

Before the timed runs a 10-step nfi binary32 run is compared with
torch_canonical.py --check (untimed): it shows that both run the same
experiment (same split, same initial parameters, the same losses to
float32 rounding).

The run directories go into a temporary directory removed at the end
(--keep keeps it).  nfi runs on one thread; PyTorch uses its default
number of threads unless --threads is given.  Meant for Debian's python3
(/usr/bin/python3) with python3-torch and python3-numpy; see
benchmarks/README.md.  Exit status 0 when every run completed (whether
the targets are met or not), 1 when a run failed, 2 for a usage error, a
missing nfi binary or a missing PyTorch.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TORCH_SCRIPT = os.path.join(HERE, "torch_canonical.py")

P20 = "p=20,emin=-126,emax=127"
RUNS = {
    "binary32": ("nfi binary32", "binary32"),
    "p20": ("nfi p=20", P20),
    "torch": ("torch float32", None),
}
TARGETS = {"binary32": 3.0, "p20": 1.5}
MEMORY_TARGET_MB = 100.0


def fail(message, status=2):
    print(f"bench_train: {message}", file=sys.stderr)
    sys.exit(status)


def parse_args():
    ap = argparse.ArgumentParser(
        description="Times nfi train (binary32 and p=20) against the same "
        "experiment in PyTorch float32 on the CPU.",
        epilog="See benchmarks/README.md.")
    ap.add_argument("--steps", type=int, default=30000,
                    help="training steps of every run [30000]")
    ap.add_argument("--nfi", default=os.path.join(REPO, "build", "cli",
                                                  "nfi"),
                    help="the nfi program [build/cli/nfi of this "
                    "repository]")
    ap.add_argument("--threads", type=int, default=0,
                    help="PyTorch's intra-op threads (torch."
                    "set_num_threads), and OpenBLAS's when it is the "
                    "BLAS; 0: their defaults [0]")
    ap.add_argument("--python", default=None,
                    help="the Python that has torch [this one if it has "
                    "torch, else /usr/bin/python3]")
    ap.add_argument("--blas", metavar="DIR", default=None,
                    help="a folder with a libblas.so.3 for PyTorch, put "
                    "first on LD_LIBRARY_PATH of the torch run only, e.g. "
                    "/usr/lib/x86_64-linux-gnu/openblas-pthread [none: "
                    "the system's libblas.so.3]")
    ap.add_argument("--runs", default="binary32,p20,torch",
                    help="which runs, comma-separated from binary32, p20, "
                    "torch [all three]")
    ap.add_argument("--seed", type=int, default=0,
                    help="the seed of every run (split, initialisation) "
                    "[0]")
    ap.add_argument("--no-check", action="store_true",
                    help="skip the untimed check that both sides run the "
                    "same experiment")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory of the runs")
    args = ap.parse_args()
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    bad = [r for r in runs if r not in RUNS]
    if bad or not runs:
        ap.error(f"--runs: unknown run(s) {', '.join(bad) or '(none)'}; "
                 f"choose from {', '.join(RUNS)}")
    args.runs = [r for r in RUNS if r in runs]
    if args.steps < 1 or args.threads < 0 or args.seed < 0:
        ap.error("--steps must be >= 1, --threads and --seed >= 0")
    return args


def has_torch(python):
    try:
        out = subprocess.run([python, "-c", "import torch, numpy"],
                             capture_output=True, text=True, timeout=120)
    except OSError:
        return False
    return out.returncode == 0


def find_python(args):
    if args.python is not None:
        if not has_torch(args.python):
            fail(f"--python {args.python}: cannot import torch and numpy "
                 f"there; on Debian: apt-get install python3-torch "
                 f"python3-numpy, and give --python /usr/bin/python3")
        return args.python
    for python in (sys.executable, "/usr/bin/python3"):
        if python and os.path.exists(python) and has_torch(python):
            return python
    fail("PyTorch is not installed: neither this Python "
         f"({sys.executable}) nor /usr/bin/python3 can import torch and "
         "numpy; on Debian: apt-get install python3-torch python3-numpy "
         "(then run this script with /usr/bin/python3), or give --python, "
         "or leave torch out with --runs binary32,p20")


def check_nfi(path):
    if not os.path.isfile(path):
        fail(f"the nfi program {path} does not exist; build it first "
             f"(meson setup build && ninja -C build) or give --nfi PATH")
    if not os.access(path, os.X_OK):
        fail(f"the nfi program {path} is not executable")
    out = subprocess.run([path, "version"], capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"{path} version failed (exit {out.returncode}): "
             f"{out.stderr.strip()}")
    return out.stdout.strip()


def timed(argv, log_path, env=None):
    """Runs argv with its output in log_path; returns (exit status, wall
    seconds, user + system CPU seconds, peak RSS in bytes)."""
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes (KiB) on Linux.
    return (proc.returncode, wall, usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss * 1024)


def tail(path, lines=15):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def run_nfi(args, key, tmp):
    name, fmt = RUNS[key]
    out = os.path.join(tmp, key)
    argv = [args.nfi, "train", "--format", fmt, "--steps", str(args.steps),
            "--seed", str(args.seed), "--out", out]
    log = os.path.join(tmp, key + ".log")
    rc, wall, cpu, rss = timed(argv, log)
    if rc != 0:
        print(f"bench_train: {' '.join(argv)} exited {rc}:\n{tail(log)}",
              file=sys.stderr)
        return None
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    final = summary["final"]
    min_loss = None
    with open(os.path.join(out, "metrics.csv")) as f:
        next(f)
        losses = [float(line.split(",")[1]) for line in f if line.strip()]
        min_loss = min(losses) if losses else None
    spike = summary["first_spike"]
    return {
        "name": name, "steps": summary["steps_done"], "wall": wall,
        "loop": summary["seconds"], "cpu": cpu, "rss": rss,
        "loop_cpu": cpu,  # start-up and final writes are milliseconds
        "engine": config["resolved"]["engine"],
        "format": config["resolved"]["formats"]["params"],
        "loss": final["loss"], "train_acc": final["train_acc"],
        "test_acc": final["test_acc"], "min_loss": min_loss,
        "spikes": summary["spikes"],
        "first_spike": spike["step"] if spike else None,
    }


def run_torch(args, python, tmp):
    argv = [python, TORCH_SCRIPT, "--steps", str(args.steps), "--seed",
            str(args.seed), "--threads", str(args.threads), "--json"]
    log = os.path.join(tmp, "torch.log")
    rc, wall, cpu, rss = timed(argv, log, torch_env(args))
    if rc != 0:
        print(f"bench_train: {' '.join(argv)} exited {rc}:\n{tail(log)}",
              file=sys.stderr)
        return None
    with open(log) as f:
        result = json.loads(f.read().strip().splitlines()[-1])
    final = result["final"]
    return {
        "name": RUNS["torch"][0], "steps": result["steps"], "wall": wall,
        "loop": result["loop_seconds"], "cpu": cpu, "rss": rss,
        "loop_cpu": result["loop_cpu_seconds"],
        "loss": final["loss"], "train_acc": final["train_acc"],
        "test_acc": final["test_acc"], "min_loss": result["min_logged_loss"],
        "spikes": result["spikes"], "first_spike": result["first_spike"],
        "torch": result,
    }


def torch_env(args):
    """The environment of the torch processes: --blas first on
    LD_LIBRARY_PATH, or None (this one)."""
    if args.blas is None:
        return None
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (args.blas, env.get("LD_LIBRARY_PATH")) if p)
    return env


def same_experiment(args, python, tmp):
    """The untimed check: a short nfi binary32 run against
    torch_canonical.py --check.  Returns its last line, or None."""
    out = os.path.join(tmp, "check")
    argv = [args.nfi, "train", "--steps", "10", "--log-every", "5",
            "--seed", str(args.seed), "--out", out]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        return f"FAILED: {' '.join(argv)} exited {done.returncode}"
    done = subprocess.run([python, TORCH_SCRIPT, "--check", out],
                          capture_output=True, text=True,
                          env=torch_env(args))
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[-1] if lines else f"FAILED: exit {done.returncode}"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def git_head():
    try:
        out = subprocess.run(["git", "-C", REPO, "rev-parse", "--short",
                              "HEAD"], capture_output=True, text=True)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def fmt_step(step):
    return "-" if step is None else str(step)


def main():
    args = parse_args()
    args.nfi = os.path.abspath(args.nfi)
    nfi_version = None
    if "binary32" in args.runs or "p20" in args.runs:
        nfi_version = check_nfi(args.nfi)
    python = None
    if "torch" in args.runs:
        python = find_python(args)
        if "binary32" not in args.runs and "p20" not in args.runs:
            args.no_check = True
        elif not args.no_check:
            check_nfi(args.nfi)

    if args.blas is not None and not os.path.isfile(
            os.path.join(args.blas, "libblas.so.3")):
        fail(f"--blas {args.blas}: no libblas.so.3 there (for OpenBLAS: "
             f"apt-get install libopenblas0-pthread, then --blas "
             f"/usr/lib/x86_64-linux-gnu/openblas-pthread)")
    head = git_head()
    print(f"bench_train: {args.steps} steps per run; {os.cpu_count()} "
          f"CPUs; load average {loadavg()} at start")
    if nfi_version:
        print(f"nfi: {args.nfi} ({nfi_version}"
              f"{', commit ' + head if head else ''}), one thread")
    tmp = tempfile.mkdtemp(prefix="nfi-bench-train-")
    results = {}
    try:
        if python and not args.no_check:
            print("same experiment? " + same_experiment(args, python, tmp),
                  flush=True)
        for key in args.runs:
            print(f"running {RUNS[key][0]} ...", file=sys.stderr,
                  flush=True)
            r = (run_torch(args, python, tmp) if key == "torch" else
                 run_nfi(args, key, tmp))
            if r is None:
                return 1
            results[key] = r
    except KeyboardInterrupt:
        print("bench_train: interrupted", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"bench_train: the runs are kept in {tmp}",
                  file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    if "torch" in results:
        t = results["torch"]["torch"]
        blas_threads = ("" if t["blas_threads"] is None else
                        f" with {t['blas_threads']} thread(s)")
        print(f"torch: PyTorch {t['torch_version']} ({t['python']}), "
              f"{t['threads']} intra-op thread(s)"
              f"{' (its default)' if args.threads == 0 else ''}, "
              f"{t['interop_threads']} inter-op; BLAS {t['blas_kind']}"
              f"{blas_threads} ({t['blas']}); import "
              f"{t['import_seconds']:.2f} s, setup {t['setup_seconds']:.2f} s")
        if t["blas_kind"] == "reference":
            print("  note: the reference BLAS (libblas3) makes PyTorch's "
                  "matrix products several times slower\n  than OpenBLAS, "
                  "which Debian's libtorch recommends (libopenblas0); see "
                  "--blas and benchmarks/README.md")
    for key in ("binary32", "p20"):
        if key in results:
            r = results[key]
            print(f"{r['name']}: engine {r['engine']}, format {r['format']}"
                  f", every operation rounded")
    print(f"load average {loadavg()} at end")
    print()
    print("loop s: the training loop (nfi: summary.json seconds; torch: "
          "perf_counter around it),")
    print("  with the metrics of every 100th step on both sides; wall s: "
          "the whole process;")
    print("  ms/step and steps/s from the loop; CPU s: user + system of "
          "the process; CPU ms/step:")
    print("  CPU time of the loop per step (nfi: of the process), less "
          "sensitive to other load;")
    print("  peak MB: maximum resident set, 10^6 bytes")
    print()
    header = (f"{'run':<14} {'steps':>6} {'wall s':>8} {'loop s':>8} "
              f"{'ms/step':>9} {'steps/s':>9} {'CPU s':>8} "
              f"{'CPU ms/step':>11} {'peak MB':>8}")
    print(header)
    print("-" * len(header))
    for r in results.values():
        print(f"{r['name']:<14} {r['steps']:>6} {r['wall']:>8.2f} "
              f"{r['loop']:>8.2f} {1e3 * r['loop'] / r['steps']:>9.4f} "
              f"{r['steps'] / r['loop']:>9.1f} {r['cpu']:>8.2f} "
              f"{1e3 * r['loop_cpu'] / r['steps']:>11.4f} "
              f"{r['rss'] / 1e6:>8.1f}")
    print()

    if "torch" in results:
        t = results["torch"]
        for key, target in TARGETS.items():
            if key not in results:
                continue
            r = results[key]
            ratio = t["loop"] / r["loop"]
            cpu_ratio = t["loop_cpu"] / r["loop_cpu"]
            wall_ratio = t["wall"] / r["wall"]
            print(f"{r['name']:<13} torch/nfi time per step {ratio:6.3f}x "
                  f"(target >= {target:g}x): "
                  f"{'PASS' if ratio >= target else 'MISS'};  CPU "
                  f"{cpu_ratio:.3f}x, whole processes {wall_ratio:.3f}x")
    for key in ("binary32", "p20"):
        if key in results:
            r = results[key]
            mb = r["rss"] / 1e6
            print(f"{r['name']:<13} peak memory {mb:6.1f} MB (target < "
                  f"{MEMORY_TARGET_MB:g} MB): "
                  f"{'PASS' if mb < MEMORY_TARGET_MB else 'MISS'}")
    if "torch" in results:
        print(f"{'torch float32':<13} peak memory "
              f"{results['torch']['rss'] / 1e6:6.1f} MB (for comparison)")
    print()

    header = (f"{'run':<14} {'final loss':>12} {'train acc':>9} "
              f"{'test acc':>9} {'min loss':>12} {'spikes':>6} "
              f"{'first spike':>11}")
    print("what the runs ended with (losses as each computes them; spike: "
          "nfi's summary.json rule")
    print("on the losses of every 100th step)")
    print(header)
    print("-" * len(header))
    for r in results.values():
        print(f"{r['name']:<14} {r['loss']:>12.6g} {r['train_acc']:>9.4f} "
              f"{r['test_acc']:>9.4f} {r['min_loss']:>12.6g} "
              f"{r['spikes']:>6} {fmt_step(r['first_spike']):>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
