#!/usr/bin/env python3
"""nfi's canonical training experiment in PyTorch float32 on the CPU.

The experiment of `nfi train` with its defaults: (a * b^-1) mod 23 with
b != 0 (23 * 22 = 506 pairs), half of them for training as one full
batch; input one-hot(a) ++ one-hot(b) (width 46) -> nn.Linear(46, 128)
-> ReLU -> nn.Linear(128, 23, bias=False); F.cross_entropy (mean over
the batch); torch.optim.Adam(lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
weight_decay=0), everything else at PyTorch's defaults; float32; 30000
steps.  This is the comparison point of benchmarks/bench_train.py.

Split and initial parameters.  nfi writes neither the split nor a step-0
snapshot into a run directory, but both are pure functions of the seed,
written down as rules: the split in data/modular.h and data/draw.h, the
initialisation (PyTorch's uniform on +-1/sqrt(fan_in), drawn in binary64
from nfi_sr_bits of sim/round.h, rounded to nearest into the format) in
models/mlp.c.  This script reproduces both (--init nfi, the default), so
that it starts from the same float32 point as `nfi train --seed S
--format binary32`.  --init torch uses PyTorch's own initialisation
instead (same shapes, torch.manual_seed(S)).  --check RUNDIR verifies the
reproduction against a short nfi run (see below).

Each step computes the loss as PyTorch does.  At every --log-every-th
step (and steps 1 and N, as nfi logs them) the loss, the training and
test accuracy are recorded; a logged loss at least 10 times the minimum of
the earlier logged losses (and above it) starts a spike, the definition
of nfi's summary.json.  --print-every N prints the logged rows whose step
is a multiple of N.  The time of the loop (perf_counter) excludes the
import of torch and the setup.

--check RUNDIR: RUNDIR is a run directory of `nfi train` with the
default experiment at --format binary32 and few steps (say --steps 1).
The script runs as many steps from the reproduced split and
initialisation and compares the logged losses of metrics.csv and the
final snapshot's parameters with its own; it then exits without timing.

--json prints one JSON object (the figures) as the last line of standard
output.  Exit status 0; 1 for a failed check; 2 for a usage error or
when PyTorch is missing.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

MASK = (1 << 64) - 1

# The canonical experiment (the defaults of nfi train).
P = 23
TRAIN_FRAC = 0.5
HIDDEN = 128
LR, BETA1, BETA2, EPS, WEIGHT_DECAY = 1e-2, 0.9, 0.999, 1e-8, 0.0


# ---- The split and the initialisation ----
# nfi's written rules (data/modular.h, data/draw.h, models/mlp.c,
# sim/round.h) as the PyTorch companion restates them.

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "python"))
from nfi_torch import nfi_rules  # noqa: E402


def nfi_split(p, frac, seed):
    """(train, test), lists of (a, b, label) for div modulo the prime p."""
    return nfi_rules.modular_split("div", p, frac, seed)


def nfi_init(seed, sizes):
    """The binary64 draws of nfi_mlp_init_params for the layers sizes, a
    list of (out, in, bias), in the order W1, b1, ..., W{L+1}: one flat
    list per tensor (weights row-major)."""
    layers = []
    for number, (out, fan_in, bias) in enumerate(sizes, 1):
        layers.append(("W%d" % number, (out, fan_in), fan_in))
        if bias:
            layers.append(("b%d" % number, (out,), fan_in))
    return list(nfi_rules.mlp_init(seed, layers).values())


# ---- The experiment ----

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="nfi's canonical training experiment (div mod 23, "
        "MLP 46-128-23, Adam, full batch) in PyTorch float32 on the CPU.",
        epilog="See the docstring at the top of this file and "
        "benchmarks/README.md.")
    ap.add_argument("--steps", type=int, default=30000,
                    help="updates [30000]")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads(T), and OpenBLAS's own "
                    "threads when it is the BLAS; 0: the defaults [0]")
    ap.add_argument("--seed", type=int, default=0,
                    help="nfi's --seed: the split and, with --init nfi, "
                    "the initialisation [0]")
    ap.add_argument("--init", choices=("nfi", "torch"), default="nfi",
                    help="initial parameters: nfi's for --seed, or "
                    "PyTorch's own [nfi]")
    ap.add_argument("--log-every", type=int, default=100,
                    help="steps between recorded losses and accuracies, "
                    "as nfi's --log-every [100]")
    ap.add_argument("--print-every", type=int, default=0,
                    help="print the logged rows whose step is a multiple "
                    "of N (and step 1); 0: none [0]")
    ap.add_argument("--check", metavar="RUNDIR",
                    help="compare with a short nfi binary32 run and exit")
    ap.add_argument("--json", action="store_true",
                    help="print the figures as one JSON object last")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.log_every < 1 or args.print_every < 0 or \
            args.threads < 0 or not 0 <= args.seed <= MASK:
        ap.error("--steps and --log-every must be >= 1, --print-every and "
                 "--threads >= 0, --seed in [0, 2^64)")
    return args


def import_torch():
    """torch, or exit 2 naming the package when it (or numpy) is
    missing."""
    try:
        import torch
        import torch.nn.functional  # noqa: F401
        import numpy  # noqa: F401 (--check reads .npy files)
    except ImportError as e:
        print(f"torch_canonical.py: PyTorch is not installed for "
              f"{sys.executable} ({e}); on Debian: apt-get install "
              f"python3-torch, and run this script with /usr/bin/python3",
              file=sys.stderr)
        sys.exit(2)
    return torch


def loaded_blas():
    """The BLAS libraries mapped into this process (Debian's libblas.so.3
    is whichever its alternatives or LD_LIBRARY_PATH pick: the reference
    BLAS, OpenBLAS, BLIS...), or "?"."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path).lower()
                if any(k in name for k in ("blas", "blis", "mkl")) and \
                        path not in found:
                    found.append(path)
    except OSError:
        pass
    return ", ".join(found) or "?"


def blas_kind(paths):
    """A name for the BLAS in the paths of loaded_blas()."""
    low = paths.lower()
    for key, name in (("openblas", "OpenBLAS"), ("blis", "BLIS"),
                      ("mkl", "MKL"), ("atlas", "ATLAS")):
        if key in low:
            return name
    if "/blas/libblas.so" in low:
        return "reference"  # Debian's libblas3 (netlib)
    return "?"


def openblas_threads(set_to=0):
    """OpenBLAS's own thread count (its pthread build keeps a pool apart
    from PyTorch's threads), after setting it to set_to if > 0; None
    when OpenBLAS is not loaded."""
    import ctypes
    for path in loaded_blas().split(", "):
        if "openblas" not in path.lower():
            continue
        try:
            lib = ctypes.CDLL(path)
            if set_to > 0:
                lib.openblas_set_num_threads(ctypes.c_int(set_to))
            return int(lib.openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return None


class Experiment:
    def __init__(self, torch, seed, init):
        self.torch = torch
        train, test = nfi_split(P, TRAIN_FRAC, seed)
        self.n_train, self.n_test = len(train), len(test)
        self.x_train, self.y_train = self._tensors(train)
        self.x_test, self.y_test = self._tensors(test)
        nn = torch.nn
        if init == "torch":
            torch.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(2 * P, HIDDEN), nn.ReLU(),
                                   nn.Linear(HIDDEN, P, bias=False))
        if init == "nfi":
            w1, b1, wc = nfi_init(seed, [(HIDDEN, 2 * P, True),
                                         (P, HIDDEN, False)])
            with torch.no_grad():
                # float64 -> float32 rounds to nearest, as nfi does.
                for param, values in ((self.model[0].weight, w1),
                                      (self.model[0].bias, b1),
                                      (self.model[2].weight, wc)):
                    param.copy_(torch.tensor(values, dtype=torch.float64)
                                .reshape(param.shape).to(torch.float32))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR,
                                    betas=(BETA1, BETA2), eps=EPS,
                                    weight_decay=WEIGHT_DECAY)

    def _tensors(self, rows):
        torch = self.torch
        a = torch.tensor([r[0] for r in rows])
        b = torch.tensor([r[1] for r in rows])
        y = torch.tensor([r[2] for r in rows])
        x = torch.cat([torch.nn.functional.one_hot(a, P),
                       torch.nn.functional.one_hot(b, P)], dim=1)
        return x.to(torch.float32).contiguous(), y

    def run(self, steps, log_every, on_log=None):
        """steps updates; returns (loop seconds, logged rows): each row
        (step, loss, train_acc, test_acc), the loss and train accuracy
        those of the step's own forward pass (before its update)."""
        torch = self.torch
        F = torch.nn.functional
        model, opt = self.model, self.opt
        x, y = self.x_train, self.y_train
        rows = []
        cpu_start = time.process_time()
        start = time.perf_counter()
        for step in range(1, steps + 1):
            opt.zero_grad(set_to_none=True)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            logged = step == 1 or step % log_every == 0 or step == steps
            if logged:
                # nfi's row of step N: the parameters before its update.
                with torch.no_grad():
                    train_hits = (logits.argmax(1) == y).sum()
                    test_hits = (model(self.x_test).argmax(1) ==
                                 self.y_test).sum()
            opt.step()
            if logged:
                row = (step, loss.item(), train_hits.item() / self.n_train,
                       test_hits.item() / self.n_test)
                rows.append(row)
                if on_log is not None:
                    on_log(row)
        seconds = time.perf_counter() - start
        self.loop_cpu_seconds = time.process_time() - cpu_start
        return seconds, rows

    def params(self):
        return {"W1": self.model[0].weight, "b1": self.model[0].bias,
                "W2": self.model[2].weight}


def spikes_of(rows):
    """nfi's summary.json rule on the logged losses: (first spike step or
    None, number of spikes, minimum logged loss)."""
    running_min, in_spike, first, count = math.inf, False, None, 0
    for step, loss, _, _ in rows:
        spike = loss > running_min and loss >= 10 * max(running_min, 0.0)
        if spike and not in_spike:
            count += 1
            if first is None:
                first = step
        in_spike = spike
        running_min = min(running_min, loss)
    return first, count, running_min


def check(torch, rundir):
    """Compares the reproduction with a short nfi binary32 run."""
    import numpy as np
    with open(os.path.join(rundir, "config.json")) as f:
        config = json.load(f)
    opts = config["options"]
    canonical = {"task": "div", "modulus": P, "train_frac": TRAIN_FRAC,
                 "hidden": HIDDEN, "layers": 1, "classifier_bias": "off",
                 "optimizer": "adam", "lr": LR, "beta1": BETA1,
                 "beta2": BETA2, "eps": EPS, "weight_decay": WEIGHT_DECAY,
                 "format": "binary32", "policy": "", "round": "rne",
                 "scheme": "logsoftmax"}
    wrong = [f"{k}={opts.get(k)!r} (expected {v!r})"
             for k, v in canonical.items() if opts.get(k) != v]
    if wrong:
        print("check: the run is not the canonical binary32 experiment: " +
              ", ".join(wrong), file=sys.stderr)
        return 1
    with open(os.path.join(rundir, "summary.json")) as f:
        steps = json.load(f)["steps_done"]
    if not 1 <= steps <= 1000:
        print(f"check: the run has {steps} steps; give a short one "
              f"(nfi train --steps 1)", file=sys.stderr)
        return 1
    with open(os.path.join(rundir, "metrics.csv")) as f:
        nfi_rows = {int(r["step"]): r for r in csv.DictReader(f)}

    exp = Experiment(torch, int(opts["seed"]), "nfi")
    _, rows = exp.run(steps, int(opts["log_every"]))
    failures = 0
    for step, loss, train_acc, test_acc in rows:
        r = nfi_rows.get(step)
        if r is None:
            print(f"check: step {step} missing from metrics.csv")
            failures += 1
            continue
        rel = abs(loss - float(r["loss"])) / abs(float(r["loss"]))
        ok = rel < 1e-5 and train_acc == float(r["train_acc"]) and \
            test_acc == float(r["test_acc"])
        failures += not ok
        print(f"check: step {step}: loss torch {loss:.9g} nfi "
              f"{float(r['loss']):.9g} (relative difference {rel:.2g}); "
              f"train acc {train_acc:.4f} / {float(r['train_acc']):.4f}, "
              f"test acc {test_acc:.4f} / {float(r['test_acc']):.4f}"
              f"{'' if ok else '  MISMATCH'}")
    snap = os.path.join(rundir, "snapshots", f"step_{steps:08d}")
    for name, param in exp.params().items():
        ours = param.detach().to(torch.float64).numpy()
        theirs = np.load(os.path.join(snap, name + ".npy"))
        diff = np.abs(ours - theirs)
        # After a few Adam steps of size about lr, the same start and
        # batch leave float32 rounding differences only (a gradient
        # component near 0 may flip its update, hence the count).
        far = int(np.count_nonzero(diff > 1e-5))
        ok = ours.shape == theirs.shape and far <= ours.size // 100
        failures += not ok
        print(f"check: {name} {tuple(ours.shape)} after {steps} "
              f"update(s): max |torch - nfi| {diff.max():.3g}, "
              f"{far} of {ours.size} differ by more than 1e-5"
              f"{'' if ok else '  MISMATCH'}")
    if failures:
        print(f"check: FAILED: {failures} mismatch(es); the split or the "
              f"initialisation of nfi (seed {opts['seed']}) is not "
              f"reproduced")
    else:
        print(f"check: the same experiment: split and initialisation of "
              f"seed {opts['seed']} reproduced, {steps} step(s) agree to "
              f"float32 rounding")
    return 1 if failures else 0


def main(argv):
    args = parse_args(argv)
    t0 = time.perf_counter()
    torch = import_torch()
    import_seconds = time.perf_counter() - t0
    if args.threads:
        torch.set_num_threads(args.threads)
    # The BLAS is loaded with libtorch: its threads can be set now.
    blas_threads = openblas_threads(args.threads)
    if args.check:
        return check(torch, args.check)

    t1 = time.perf_counter()
    exp = Experiment(torch, args.seed, args.init)
    setup_seconds = time.perf_counter() - t1

    def on_log(row):
        step, loss, train_acc, test_acc = row
        if args.print_every and (step == 1 or step % args.print_every == 0
                                 or step == args.steps):
            print(f"step {step:6d}  loss {loss:.6g}  train acc "
                  f"{train_acc:.4f}  test acc {test_acc:.4f}", flush=True)

    seconds, rows = exp.run(args.steps, args.log_every, on_log)
    first, count, min_loss = spikes_of(rows)
    final = rows[-1]
    result = {
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "python": sys.executable,
        "blas": loaded_blas(),
        "blas_kind": blas_kind(loaded_blas()),
        "blas_threads": blas_threads,
        "init": args.init,
        "seed": args.seed,
        "n_train": exp.n_train,
        "n_test": exp.n_test,
        "steps": args.steps,
        "import_seconds": import_seconds,
        "setup_seconds": setup_seconds,
        "loop_seconds": seconds,
        "ms_per_step": 1e3 * seconds / args.steps,
        "loop_cpu_seconds": exp.loop_cpu_seconds,
        "final": {"step": final[0], "loss": final[1],
                  "train_acc": final[2], "test_acc": final[3]},
        "min_logged_loss": min_loss,
        "first_spike": first,
        "spikes": count,
    }
    blas = result["blas_kind"] + ("" if blas_threads is None else
                                  f" with {blas_threads} thread(s)")
    print(f"PyTorch {result['torch_version']}, {result['threads']} "
          f"thread(s), BLAS {blas} ({result['blas']}); init {args.init}, seed "
          f"{args.seed}, {exp.n_train} train / {exp.n_test} test samples")
    print(f"{args.steps} steps in {seconds:.3f} s: "
          f"{result['ms_per_step']:.4f} ms/step, CPU "
          f"{1e3 * exp.loop_cpu_seconds / args.steps:.4f} ms/step "
          f"(import torch "
          f"{import_seconds:.2f} s, setup {setup_seconds:.2f} s)")
    print(f"final loss {final[1]:.6g}, train acc {final[2]:.4f}, test acc "
          f"{final[3]:.4f}; minimum logged loss {min_loss:.6g}; spikes "
          f"{count}" + (f", first at step {first}" if first else ""))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
