"""The command line of nfi_torch: train, init, split."""
import argparse
import json
import math
import os
import platform
import sys

import numpy as np

from nfi_torch import __version__, files, nfi_rules
from nfi_torch.files import InputError

# nfi train's defaults for the options the companion follows.
DEFAULTS = {
    "task": "div", "modulus": 23, "train_frac": 0.5, "model": "mlp",
    "hidden": 128, "layers": 1, "classifier_bias": "off",
    "optimizer": "adam", "lr": 1e-2, "beta1": 0.9, "beta2": 0.999,
    "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "steps": 30000,
    "format": "binary32", "policy": "", "round": "rne",
    "scheme": "logsoftmax", "order": "sequential", "seed": 0,
    "log_every": 100, "snapshot_every": 0,
}
# (flag, config key, type) of the options given like nfi train's.
FLAGS = [
    ("task", "task", str), ("modulus", "modulus", int),
    ("train-frac", "train_frac", float), ("model", "model", str),
    ("hidden", "hidden", int), ("layers", "layers", int),
    ("classifier-bias", "classifier_bias", str),
    ("optimizer", "optimizer", str), ("lr", "lr", float),
    ("beta1", "beta1", float), ("beta2", "beta2", float),
    ("eps", "eps", float), ("weight-decay", "weight_decay", float),
    ("momentum", "momentum", float), ("steps", "steps", int),
    ("format", "format", str), ("policy", "policy", str),
    ("round", "round", str), ("scheme", "scheme", str),
    ("order", "order", str), ("seed", "seed", int),
    ("log-every", "log_every", int),
    ("snapshot-every", "snapshot_every", int),
]
DTYPES = {"float32": "binary32", "float64": "binary64"}

DESCRIPTION = """\
The PyTorch companion of nfi: nfi's training experiment (the mlp on a
modular task, full batch, mean cross-entropy, SGD/Adam/AdamW) run with
PyTorch's own nn.Linear, F.cross_entropy and torch.optim, from an
initialisation and a split given as files, written as an nfi trace that
`nfi diff` compares with an nfi run.  Not supported: the ufm model, the
gaussian, idx and fashion-mnist tasks, per-role policies, rounding modes
other than rne, cross-entropy schemes other than logsoftmax (PyTorch's).
"""

TRAIN_EPILOG = """\
Options are nfi train's, with its defaults; --config takes them from an
nfi run's config.json (options given on the command line win).  Options
the companion cannot follow are refused (exit status 2).  --order is
recorded by nfi, not followed: PyTorch sums in its own orders (see
docs/companion.md).

The trace OUT: metrics.csv (step and nfi's metric columns, numbers as
shortest round-trip decimals), trace.json (producer, format, the options
followed, the PyTorch version, its threads and BLAS, the inputs' SHA-256)
and snapshots/step_NNNNNNNN/NAME.npy (float64 parameters after N updates:
step 0, every --snapshot-every steps and the last step; with
--save-logits, logits.npy at every logged step).

Example:
  python3 -m nfi_torch train --config run/config.json --init init.npz \\
      --split split.npz --dtype float64 --steps 1000 --log-every 10 \\
      --out torch64
"""


def _import_torch():
    try:
        import torch
    except ImportError as e:
        raise InputError(
            f"PyTorch cannot be imported by {sys.executable} ({e}); on "
            f"Debian: apt-get install python3-torch python3-numpy, and run "
            f"with /usr/bin/python3")
    return torch


def _setup_torch(torch, threads):
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def _loaded_blas():
    """The BLAS/LAPACK libraries mapped into this process."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 6:
                    continue
                name = os.path.basename(parts[-1]).lower()
                if any(k in name for k in ("blas", "blis", "mkl",
                                           "lapack")) \
                        and parts[-1] not in found:
                    found.append(parts[-1])
    except OSError:
        pass
    return found


def _environment(torch, threads):
    show = torch.__config__.show()
    info = {}
    for key in ("BLAS_INFO", "LAPACK_INFO"):
        at = show.find(key + "=")
        if at >= 0:
            info[key.lower()] = show[at + len(key) + 1:].split(",")[0]
    cap = [ln.split(":", 1)[1].strip() for ln in show.splitlines()
           if "CPU capability usage" in ln]
    return {
        "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "threads_asked": threads,
        "deterministic_algorithms":
            torch.are_deterministic_algorithms_enabled(),
        "cpu_capability": cap[0] if cap else None,
        "blas_info": info.get("blas_info"),
        "lapack_info": info.get("lapack_info"),
        "blas_loaded": _loaded_blas(),
    }


def _model_flags(ap, keys):
    for flag, key, kind in FLAGS:
        if key in keys:
            ap.add_argument("--" + flag, dest=key, type=kind, default=None,
                            metavar={int: "N", float: "X"}.get(kind, "S"),
                            help=f"as nfi train's --{flag} "
                            f"[{DEFAULTS[key]!r}]")


def _resolve(args, keys):
    """nfi's defaults, then --config's options, then the flags given."""
    cfg = {k: DEFAULTS[k] for k in keys}
    given = set()
    if getattr(args, "config", None):
        try:
            with open(args.config) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise InputError(f"--config {args.config}: cannot read it "
                             f"({e}); expected an nfi config.json")
        opts = doc.get("options", doc.get("config", doc))
        if not isinstance(opts, dict):
            raise InputError(f"--config {args.config}: no options object")
        for k in keys:
            if k in opts:
                cfg[k] = opts[k]
    for k in keys:
        v = getattr(args, k, None)
        if v is not None:
            cfg[k] = v
            given.add(k)
    return cfg, given


def _check_model(cfg):
    """Refuses what the companion cannot run, naming the option."""
    if cfg["model"] != "mlp":
        raise InputError(f"model {cfg['model']!r} is not supported; the "
                         f"companion runs the mlp only (not the ufm)")
    if cfg["task"] not in nfi_rules.OPS:
        raise InputError(f"task {cfg['task']!r} is not supported; the "
                         f"companion runs the modular tasks add, sub, mul "
                         f"and div")
    p = cfg["modulus"]
    if not 2 <= p <= 65521:
        raise InputError(f"modulus {p}: expected 2 to 65521")
    if cfg["task"] == "div" and any(p % d == 0 for d in
                                    range(2, math.isqrt(p) + 1)):
        raise InputError(f"modulus {p}: div needs a prime modulus")
    if cfg["hidden"] < 1 or not 1 <= cfg["layers"] <= 8:
        raise InputError("hidden must be >= 1 and layers 1 to 8")
    if cfg["classifier_bias"] not in ("on", "off"):
        raise InputError(f"classifier-bias {cfg['classifier_bias']!r}: "
                         f"write on or off")


def _check_train(cfg, dtype_given):
    _check_model(cfg)
    if cfg["optimizer"] not in ("sgd", "adam", "adamw"):
        raise InputError(f"optimizer {cfg['optimizer']!r}: expected sgd, "
                         f"adam or adamw")
    if cfg["optimizer"] != "sgd" and cfg["momentum"] != 0:
        raise InputError("momentum is an option of sgd only")
    for key in ("round", "scheme", "policy"):
        want = DEFAULTS[key]
        if cfg[key] != want:
            raise InputError(
                f"{key} {cfg[key]!r} is not supported; PyTorch runs "
                f"{key} {want or 'none'} only")
    if not dtype_given and cfg["format"] not in DTYPES.values():
        raise InputError(f"format {cfg['format']!r} has no PyTorch dtype; "
                         f"give --dtype float32 or float64")
    if cfg["steps"] < 1 or cfg["log_every"] < 1 or \
            cfg["snapshot_every"] < 0:
        raise InputError("steps and log-every must be >= 1, "
                         "snapshot-every >= 0")


TRACE_KEYS = ("task", "modulus", "model", "hidden", "layers",
              "classifier_bias", "optimizer", "lr", "beta1", "beta2", "eps",
              "weight_decay", "momentum", "steps", "format", "policy",
              "round", "scheme", "log_every")


TRAIN_KEYS = [k for _, k, _ in FLAGS if k not in ("train_frac", "seed")]


def cmd_train(args):
    keys = TRAIN_KEYS
    cfg, _ = _resolve(args, keys)
    _check_train(cfg, args.dtype is not None)
    dtype = args.dtype or {v: k for k, v in DTYPES.items()}[cfg["format"]]
    cfg["format"] = DTYPES[dtype]
    if args.threads < 1:
        raise InputError("--threads must be >= 1")
    if os.path.lexists(args.out) and not args.force:
        raise InputError(f"--out {args.out}: exists; give --force to "
                         f"replace it")
    from nfi_torch import train
    p, layers = cfg["modulus"], cfg["layers"]
    bias = cfg["classifier_bias"] == "on"
    shapes = train.param_shapes(2 * p, cfg["hidden"], p, layers, bias)
    params = files.read_init(args.init, shapes, layers + 1)
    tr, te = files.read_split(args.split, cfg["task"], p, nfi_rules.label)
    torch = _import_torch()
    _setup_torch(torch, args.threads)
    run = train.Run(torch, cfg, params, tr, te, dtype)
    rows, snaps = [], {}

    def on_row(step, m):
        rows.append((step, [m[c] for c in train.COLUMNS]))
        if args.save_logits:
            snaps.setdefault(step, {})["logits"] = run.last_logits
        if args.verbose:
            print(f"step {step}: loss {m['loss']!r} train_acc "
                  f"{m['train_acc']:.4f} test_acc {m['test_acc']:.4f}",
                  file=sys.stderr)

    seconds = run.train(cfg["steps"], cfg["log_every"], on_row,
                        cfg["snapshot_every"],
                        lambda s, ps: snaps.setdefault(s, {}).update(ps))
    trace = {
        "nfi_trace": 1,
        "producer": f"nfi_torch {__version__} (PyTorch {torch.__version__})",
        "format": cfg["format"],
        "config": {k: cfg[k] for k in TRACE_KEYS},
        "status": "failed" if run.failed else "complete",
        "steps_done": run.steps_done,
        "n_train": int(tr.shape[0]), "n_test": int(te.shape[0]),
        "inputs": {"init": os.path.abspath(args.init),
                   "init_sha256": files.sha256(args.init),
                   "split": os.path.abspath(args.split),
                   "split_sha256": files.sha256(args.split)},
        "environment": _environment(torch, args.threads),
        "not_followed": {"order": cfg["order"],
                         "note": "PyTorch sums in its own orders"},
        "seconds": seconds,
    }
    if run.failed:
        trace["failure"] = f"the loss is NaN at step {run.failed}"
    files.write_trace(args.out, args.force, trace,
                      ["step"] + list(train.COLUMNS), rows, snaps)
    print(f"{args.out}: {run.steps_done} steps at {dtype}, "
          f"{len(rows)} rows, final loss {rows[-1][1][0]!r}" +
          (f"; FAILED: {trace['failure']}" if run.failed else ""))
    return 1 if run.failed else 0


def cmd_init(args):
    keys = ["task", "modulus", "model", "hidden", "layers",
            "classifier_bias", "seed"]
    cfg, _ = _resolve(args, keys)
    _check_model(cfg)
    from nfi_torch import train
    p, layers, hidden = cfg["modulus"], cfg["layers"], cfg["hidden"]
    bias = cfg["classifier_bias"] == "on"
    shapes = train.param_shapes(2 * p, hidden, p, layers, bias)
    names = train.param_names(layers, bias)
    if args.source == "nfi":
        fan = {n: shapes[n][1] if n.startswith("W") else
               shapes["W" + n[1:]][1] for n in names}
        draws = nfi_rules.mlp_init(cfg["seed"], [(n, shapes[n], fan[n])
                                                 for n in names])
        out = {n: np.asarray(draws[n], dtype=np.float64).reshape(shapes[n])
               for n in names}
    else:
        torch = _import_torch()
        _setup_torch(torch, 1)
        dt = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
        torch.manual_seed(cfg["seed"])
        out = {}
        width = 2 * p
        for l in range(1, layers + 2):
            last = l == layers + 1
            lin = torch.nn.Linear(width, p if last else hidden,
                                  bias=bias or not last, dtype=dt)
            out[f"W{l}"] = lin.weight.detach().to(torch.float64).numpy()
            if lin.bias is not None:
                out[f"b{l}"] = lin.bias.detach().to(torch.float64).numpy()
            width = hidden
    files.write_npz(args.to, out)
    print(f"{args.to}: " + ", ".join(f"{n} {out[n].shape}" for n in names) +
          f" ({args.source} initialisation, seed {cfg['seed']})")
    return 0


def cmd_split(args):
    keys = ["task", "modulus", "train_frac", "seed"]
    cfg, _ = _resolve(args, keys)
    op, p = cfg["task"], cfg["modulus"]
    if op not in nfi_rules.OPS:
        raise InputError(f"task {op!r}: the companion splits the modular "
                         f"tasks add, sub, mul and div")
    if not 2 <= p <= 65521:
        raise InputError(f"modulus {p}: expected 2 to 65521")
    if not 0 < cfg["train_frac"] < 1:
        raise InputError(f"train-frac {cfg['train_frac']}: expected "
                         f"0 < F < 1")
    try:
        if args.source == "nfi":
            train, test = nfi_rules.modular_split(op, p, cfg["train_frac"],
                                                  cfg["seed"])
        else:
            pairs = nfi_rules.pairs(op, p)
            n_train = nfi_rules.split_size(len(pairs), cfg["train_frac"])
            perm = np.random.default_rng(cfg["seed"]).permutation(len(pairs))
            rows = [(pairs[k][0], pairs[k][1],
                     nfi_rules.label(op, p, *pairs[k])) for k in perm]
            train, test = rows[:n_train], rows[n_train:]
    except ValueError as e:
        raise InputError(str(e))
    out = {"train": np.asarray(train, dtype=np.int64).reshape(-1, 3),
           "test": np.asarray(test, dtype=np.int64).reshape(-1, 3)}
    files.write_npz(args.to, out)
    print(f"{args.to}: {len(train)} training and {len(test)} test rows of "
          f"{op} mod {p} ({args.source} shuffle, seed {cfg['seed']})")
    return 0


def parser():
    ap = argparse.ArgumentParser(
        prog="python3 -m nfi_torch", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version",
                    version=f"nfi_torch {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser(
        "train", help="run the experiment in PyTorch, write a trace",
        description="Runs nfi's mlp experiment in PyTorch from --init and "
        "--split and writes the nfi trace --out.", epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--config", metavar="FILE",
                   help="an nfi run's config.json: its options")
    _model_flags(t, TRAIN_KEYS)
    t.add_argument("--init", required=True, metavar="FILE",
                   help="initial parameters, .npz or .safetensors: W1 b1 "
                   "... W{L+1} [b{L+1}] (Wc, bc accepted), nn.Linear "
                   "layout; rounded to nearest into --dtype")
    t.add_argument("--split", required=True, metavar="FILE",
                   help=".npz with integer arrays train (n, 3), test "
                   "(m, 3), rows (a, b, label); training order = row order")
    t.add_argument("--dtype", choices=sorted(DTYPES),
                   help="PyTorch dtype of every tensor [the --format of "
                   "--config: binary32 float32, binary64 float64; else "
                   "float32]")
    t.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads [1]")
    t.add_argument("--out", required=True, metavar="TRACEDIR",
                   help="the trace directory to write")
    t.add_argument("--force", action="store_true",
                   help="replace an existing --out")
    t.add_argument("--save-logits", action="store_true",
                   help="also write snapshots/step_N/logits.npy, the "
                   "training logits of each logged step's forward pass "
                   "(as nfi does), for nfi diff")
    t.add_argument("-v", "--verbose", action="store_true",
                   help="print each logged row on stderr")

    i = sub.add_parser(
        "init", help="write initial parameters (.npz) for nfi train --init",
        description="Writes the mlp's initial parameters as float64 arrays "
        "W1 b1 ... W{L+1} [b{L+1}] in an .npz file that nfi train --init "
        "and the companion's train --init read.")
    i.add_argument("--config", metavar="FILE",
                   help="take the model options from an nfi config.json")
    _model_flags(i, ["task", "modulus", "model", "hidden", "layers",
                     "classifier_bias", "seed"])
    i.add_argument("--source", choices=("torch", "nfi"), default="torch",
                   help="torch: PyTorch's own nn.Linear initialisation "
                   "after torch.manual_seed(SEED); nfi: the draws of "
                   "`nfi train --seed SEED` (nfi's written rule) [torch]")
    i.add_argument("--dtype", choices=sorted(DTYPES), default="float32",
                   help="torch source: dtype of the nn.Linear layers "
                   "drawn (values stored exactly as float64) [float32]")
    i.add_argument("--to", required=True, metavar="FILE")

    s = sub.add_parser(
        "split", help="write a train/test split (.npz) for --split",
        description="Writes a split of a modular task as .npz arrays train "
        "and test (rows a, b, label) for nfi train --split and the "
        "companion.  Size: floor(train_frac * pairs), as nfi.")
    s.add_argument("--config", metavar="FILE",
                   help="take the task options from an nfi config.json")
    _model_flags(s, ["task", "modulus", "train_frac", "seed"])
    s.add_argument("--source", choices=("numpy", "nfi"), default="numpy",
                   help="numpy: numpy.random.default_rng(SEED)."
                   "permutation of the pairs; nfi: the split of `nfi "
                   "train --seed SEED` (nfi's written rule) [numpy]")
    s.add_argument("--to", required=True, metavar="FILE")
    return ap


def main(argv):
    ap = parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 2
    try:
        return {"train": cmd_train, "init": cmd_init,
                "split": cmd_split}[args.command](args)
    except InputError as e:
        print(f"nfi_torch {args.command}: {e}", file=sys.stderr)
        return 2
