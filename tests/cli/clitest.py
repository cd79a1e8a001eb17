"""Helpers shared by the command-line tests: counted checks, running
`nfi train`, reading a run directory's files.

A test sets clitest.NFI to the executable before calling nfi(), makes
its checks with check(), and exits with finish()."""
import os
import subprocess

NFI = None
failures = 0


def check(cond, what):
    """Counts a failure, printing what failed, when cond is false."""
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


def nfi(*args):
    """Runs `nfi train ARGS`; returns (exit status, stdout, stderr)."""
    p = subprocess.run([NFI, "train", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tree(root):
    """Relative paths of the files under root."""
    out = set()
    for d, _, files in os.walk(root):
        for name in files:
            out.add(os.path.relpath(os.path.join(d, name), root))
    return out


def finish():
    """Prints the verdict; returns the exit status."""
    if failures:
        print("%d failures" % failures)
        return 1
    print("ok")
    return 0
