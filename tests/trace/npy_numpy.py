#!/usr/bin/env python3
"""The .npy files of nfi against NumPy itself.

nfi writes arrays of every dtype and several shapes (0-d, empty, up to 4
dimensions); np.load must read each with the same dtype, shape and bytes
(NaN payloads and -0 included), np.save of the loaded array must give the
same file byte for byte (where NumPy pads headers for growth, as 1.24
does), and np.load with mmap_mode must map it.  Then NumPy writes arrays
(format versions 1.0, 2.0 and 3.0, slices, Fortran-ordered and
big-endian arrays) and nfi must read the C-ordered little-endian ones
exactly and refuse the others with a message.

Usage: npy_numpy.py TRACE_TOOL.  Exit status 77 (skipped) when NumPy is
missing (Debian: python3-numpy)."""
import io
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("npy_numpy: skipped, NumPy is not installed for this Python "
          "(Debian: apt-get install python3-numpy)")
    sys.exit(77)

TOOL = sys.argv[1]
checks = 0
failures = 0


def check(ok, message):
    global checks, failures
    checks += 1
    if not ok:
        failures += 1
        print("FAIL npy_numpy:", message)
    return ok


def nfi_writes(folder):
    subprocess.run([TOOL, "npy-write", folder], check=True)
    pads_for_growth = getattr(np.lib.format, "GROWTH_AXIS_MAX_DIGITS",
                              None) == 21
    if not pads_for_growth:
        print("npy_numpy: this NumPy pads headers differently; files are "
              "compared by content only")
    with open(os.path.join(folder, "manifest.txt")) as manifest:
        for line in manifest:
            head, hexdata = line.rstrip("\n").split(" : ")
            name, descr, ndim, *dims = head.split()
            shape = tuple(int(d) for d in dims)
            path = os.path.join(folder, name)
            a = np.load(path)
            check(a.dtype == np.dtype(descr) and a.shape == shape and
                  int(ndim) == a.ndim,
                  f"{name}: np.load gives {a.dtype} {a.shape}, nfi wrote "
                  f"{descr} {shape}")
            check(a.tobytes() == bytes.fromhex(hexdata),
                  f"{name}: the elements differ from those nfi wrote")
            if pads_for_growth:
                saved = io.BytesIO()
                np.save(saved, a)
                with open(path, "rb") as f:
                    check(saved.getvalue() == f.read(),
                          f"{name}: np.save writes other bytes")
            if a.size > 0:
                m = np.load(path, mmap_mode="r")
                check(m.tobytes() == a.tobytes(),
                      f"{name}: the memory-mapped array differs")
                del m


def nfi_reads(folder):
    rng = np.random.default_rng(5)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, 5e-324, 1e308, 0.1])
    nan_payload = np.array([0x7ff8000000000abc], dtype="<u8").view("<f8")
    arrays = {
        "f8_specials": np.concatenate([specials, nan_payload]),
        "f8_matrix": rng.standard_normal((7, 5)),
        "f4_cube": rng.standard_normal((2, 3, 4)).astype("<f4"),
        "i8": rng.integers(-2**63, 2**63 - 1, size=33, dtype="<i8"),
        "i4_scalar": np.array(-123456, dtype="<i4"),
        "u1": rng.integers(0, 256, size=(4, 4), dtype="u1"),
        "f8_empty": np.zeros((3, 0, 2)),
        "f8_slice": rng.standard_normal((6, 6))[::2, 1::2],
        "f4_transposed": rng.standard_normal((3, 5)).astype("<f4").T,
    }
    for name, a in arrays.items():
        for version in [(1, 0), (2, 0), (3, 0)]:
            path = os.path.join(folder, f"{name}_{version[0]}.npy")
            c = np.ascontiguousarray(a)
            with open(path, "wb") as f:
                np.lib.format.write_array(f, c, version=version)
            out = subprocess.run([TOOL, "npy-dump", path],
                                 capture_output=True, text=True)
            if not check(out.returncode == 0, f"{path}: nfi cannot read "
                         f"it: {out.stderr.strip()}"):
                continue
            head, hexdata = out.stdout.split("\n")[:2]
            descr, ndim, *dims = head.split()
            shape = tuple(int(d) for d in dims)
            expected_descr = c.dtype.str if c.dtype.itemsize > 1 else "|u1"
            check(descr == expected_descr and shape == c.shape,
                  f"{path}: nfi reads {descr} {shape}, NumPy wrote "
                  f"{c.dtype.str} {c.shape}")
            check(bytes.fromhex(hexdata) == c.tobytes(),
                  f"{path}: nfi reads other elements")

    # What nfi refuses: Fortran order and big-endian elements.
    refused = {
        "fortran": (np.asfortranarray(rng.standard_normal((3, 4))),
                    "Fortran"),
        "big_endian": (np.arange(5, dtype=">f8"), "'>f8'"),
        "complex": (np.zeros(2, dtype="<c16"), "'<c16'"),
    }
    for name, (a, needle) in refused.items():
        path = os.path.join(folder, name + ".npy")
        np.save(path, a)
        out = subprocess.run([TOOL, "npy-dump", path], capture_output=True,
                             text=True)
        check(out.returncode == 1 and needle in out.stderr and
              path in out.stderr,
              f"{name}: nfi should refuse it naming the file and "
              f"{needle}: status {out.returncode}, {out.stderr.strip()}")


with tempfile.TemporaryDirectory(prefix="nfi-npy-numpy-") as folder:
    nfi_writes(folder)
    nfi_reads(folder)

print(f"npy_numpy: {checks} checks, {failures} failures (NumPy "
      f"{np.__version__})")
sys.exit(1 if failures or not checks else 0)
