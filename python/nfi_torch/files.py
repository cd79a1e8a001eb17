"""Reading inits and splits, writing .npz files and traces atomically."""
import hashlib
import json
import os
import shutil
import struct
import tempfile

import numpy as np


class InputError(Exception):
    """Bad input from the user: the message names the input and what
    would be valid; the command exits with status 2."""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_safetensors(path):
    """{name: float64 array} of a .safetensors file (F16, BF16, F32, F64
    tensors)."""
    kinds = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise InputError(f"{path}: not a safetensors file (too short)")
    (size,) = struct.unpack("<Q", raw[:8])
    try:
        header = json.loads(raw[8:8 + size])
    except ValueError as e:
        raise InputError(f"{path}: not a safetensors file ({e})")
    data = raw[8 + size:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        buf = data[start:end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(buf, "<u2").astype(np.uint32) << 16
            arr = bits.view("<f4")
        elif info["dtype"] in kinds:
            arr = np.frombuffer(buf, kinds[info["dtype"]])
        else:
            raise InputError(f"{path}: tensor {name} has dtype "
                             f"{info['dtype']}; expected F64, F32, F16 or "
                             f"BF16")
        out[name] = arr.astype(np.float64).reshape(info["shape"])
    return out


def read_init(path, shapes, last):
    """The parameters of an init file (.npz or .safetensors) as
    {name: float64 array}, checked against shapes ({name: shape}); the
    classifier may also be named Wc, bc (nfi's snapshot names) instead of
    W{last}, b{last}."""
    try:
        with open(path, "rb") as f:
            zipped = f.read(2) == b"PK"   # .npz is a zip archive
        if not zipped:
            try:
                raw = _read_safetensors(path)
            except InputError as e:
                raise InputError(f"--init {e}; expected a .npz or "
                                 f".safetensors file")
            except (KeyError, TypeError, AttributeError, IndexError,
                    struct.error) as e:
                raise InputError(f"--init {path}: a damaged safetensors "
                                 f"file ({e!r})")
        else:
            with np.load(path, allow_pickle=False) as z:
                raw = {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError) as e:
        raise InputError(f"--init {path}: cannot read it ({e}); expected "
                         f"a .npz or .safetensors file")
    alias = {"Wc": f"W{last}", "bc": f"b{last}"}
    params = {}
    for name, arr in raw.items():
        key = alias.get(name, name)
        if key not in shapes:
            raise InputError(f"--init {path}: unexpected tensor {name!r}; "
                             f"this model has {', '.join(shapes)}")
        if key in params:
            raise InputError(f"--init {path}: {key} given twice")
        if arr.dtype.kind != "f":
            raise InputError(f"--init {path}: {name} has dtype "
                             f"{arr.dtype}; expected floating point")
        if tuple(arr.shape) != tuple(shapes[key]):
            raise InputError(f"--init {path}: {name} has shape "
                             f"{tuple(arr.shape)}; this model needs "
                             f"{tuple(shapes[key])}")
        params[key] = arr.astype(np.float64)
    missing = [n for n in shapes if n not in params]
    if missing:
        raise InputError(f"--init {path}: missing {', '.join(missing)} "
                         f"(the model has {', '.join(shapes)})")
    return params


def read_split(path, op, p, label_of):
    """(train, test) int64 arrays (n, 3) of a split file, checked: a and
    b in [0, p) (b != 0 for div) and every label (a op b) mod p."""
    try:
        with np.load(path, allow_pickle=False) as z:
            sets = {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError) as e:
        raise InputError(f"--split {path}: cannot read it ({e}); expected "
                         f"a .npz file with integer arrays train and test")
    out = []
    for name in ("train", "test"):
        if name not in sets:
            raise InputError(f"--split {path}: no array {name!r}; expected "
                             f"train (n, 3) and test (m, 3), rows "
                             f"(a, b, label)")
        a = sets[name]
        if a.dtype.kind not in "iu" or a.ndim != 2 or a.shape[1] != 3:
            raise InputError(f"--split {path}: {name} is {a.dtype} "
                             f"{a.shape}; expected integers of shape (n, 3)")
        a = a.astype(np.int64)
        for i, (x, y, lab) in enumerate(a.tolist()):
            if not (0 <= x < p and 0 <= y < p) or (op == "div" and y == 0):
                raise InputError(f"--split {path}: {name} row {i} "
                                 f"({x}, {y}, {lab}): operands out of "
                                 f"range for {op} mod {p}")
            if lab != label_of(op, p, x, y):
                raise InputError(f"--split {path}: {name} row {i} "
                                 f"({x}, {y}, {lab}): the label of "
                                 f"{op} mod {p} is {label_of(op, p, x, y)}")
        out.append(a)
    if out[0].shape[0] == 0:
        raise InputError(f"--split {path}: the training set is empty")
    return out[0], out[1]


def write_npz(path, arrays):
    """An .npz file written atomically (temporary file, then rename)."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _hex_or_repr(x):
    return repr(float(x))


def write_trace(out, force, trace, header, rows, snapshots):
    """The trace directory out: metrics.csv (header, rows of numbers:
    shortest round-trip decimals, nan, inf), trace.json and
    snapshots/step_NNNNNNNN/NAME.npy (snapshots: {step: {name: array}});
    built in a temporary directory
    beside out and renamed into place when complete."""
    out = os.path.abspath(out)
    if os.path.lexists(out) and not force:
        raise InputError(f"--out {out}: exists; give --force to replace it")
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-trace-", dir=parent)
    try:
        with open(os.path.join(tmp, "metrics.csv"), "w") as f:
            f.write(",".join(header) + "\n")
            for step, values in rows:
                f.write(",".join([str(step)] +
                                 [_hex_or_repr(v) for v in values]) + "\n")
        with open(os.path.join(tmp, "trace.json"), "w") as f:
            json.dump(trace, f, indent=2)
            f.write("\n")
        for step, params in sorted(snapshots.items()):
            d = os.path.join(tmp, "snapshots", f"step_{step:08d}")
            os.makedirs(d)
            for name, arr in params.items():
                np.save(os.path.join(d, name + ".npy"), arr)
        if os.path.lexists(out):
            old = tempfile.mkdtemp(prefix=".old-trace-", dir=parent)
            os.rename(out, os.path.join(old, "t"))
            os.rename(tmp, out)
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
