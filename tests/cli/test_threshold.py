"""nfi threshold through the command line: the table names every row
and scheme, --json parses and carries the exact boundaries (checked
here against values derived from the definition of the formats, with
Python's exact fractions), and bad inputs exit 2 with a message.

Derivation of the checked values (RNE, z_y = 0, one competitor): the
sum 1 + RN(exp(-m)) rounds to 1 exactly when exp(-m) < 2^-p (1 + 2^-p),
so the smallest absorbed margin is p ln 2 - ln(1 + 2^-p) rounded up
into the format: 0x1.0a2b24p+4 in binary32, 0x1.64p+2 (5.5625) in
bfloat16, 0x1.e8p+2 (7.625) in binary16, 0x1.25e4f7b2737fbp+5 in
binary64; the largest margin not absorbed is the value below.

Usage: test_threshold.py NFI_EXECUTABLE"""
import json
import re
import subprocess
from fractions import Fraction
import sys

import clitest
from clitest import check

EXPECTED_ONE = {
    "binary32": ("0x1.0a2b24p+4", "0x1.0a2b22p+4"),
    "bfloat16": ("0x1.64p+2", "0x1.62p+2"),
    "binary16": ("0x1.e8p+2", "0x1.e7cp+2"),
    "binary64": ("0x1.25e4f7b2737fbp+5", "0x1.25e4f7b2737fap+5"),
}


def exact(hexfloat):
    """The exact value of a C99 hexadecimal float, as a fraction."""
    m = re.fullmatch(r"(-?)0x([0-9a-f]+)(?:\.([0-9a-f]*))?p([+-]\d+)",
                     hexfloat)
    digits = m.group(2) + (m.group(3) or "")
    value = Fraction(int(digits, 16), 16 ** len(m.group(3) or ""))
    value *= Fraction(2) ** int(m.group(4))
    return -value if m.group(1) else value


def run(*args):
    p = subprocess.run([clitest.NFI, "threshold", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_table():
    rc, out, err = run("--format", "binary32,bf16", "--classes", "23")
    check(rc == 0, "table exits 0 (%d: %s)" % (rc, err))
    for text in ("logsoftmax", "lse", "softmax", "a absorbed, 1 competitor",
                 "b absorbed, 22 competitors",
                 "c wrong classes 0, subnormals on",
                 "c wrong classes 0, subnormals off", "z_y=1000",
                 "0x1.0a2b24p+4", "0x1.64p+2", "p ln 2", "ln((K-1) 2^p)"):
        check(text in out, "the table shows %r" % text)
    rc, out, _ = run("--help")
    check(rc == 0 and "Rows of the table" in out, "--help teaches")
    rc, out, _ = run("--format", "binary16", "--classes", "5", "--scheme",
                     "lse")
    header = [l for l in out.splitlines() if l.startswith("margin from")]
    check(rc == 0 and len(header) == 1 and "softmax" not in header[0],
          "--scheme lse gives one column")


def test_json():
    rc, out, err = run("--format", "binary32,bfloat16,binary16,binary64",
                       "--classes", "23", "--order", "lanes:8", "--json")
    check(rc == 0, "--json exits 0 (%s)" % err)
    try:
        data = json.loads(out)
    except ValueError as e:
        check(False, "--json parses: %s" % e)
        return
    check(len(data) == 4, "one object per format")
    for obj in data:
        check(obj["classes"] == 23 and obj["order"] == "lanes:8",
              "%s: options echoed" % obj["format"])
        one = [r for r in obj["rows"]
               if r["row"] == "a"]
        check(len(one) == 3, "%s: row a for three schemes" % obj["format"])
        yes, no = EXPECTED_ONE[obj["format"]]
        for r in one:
            check(r["status"] == "found" and r["monotone"],
                  "%s %s: found, monotone" % (obj["format"], r["scheme"]))
            check(r["yes_margin"] == yes and r["no_margin"] == no,
                  "%s %s: boundary %s / %s, expected %s / %s"
                  % (obj["format"], r["scheme"], r["yes_margin"],
                     r["no_margin"], yes, no))
        for r in obj["rows"]:
            if r["status"] == "found":
                check(exact(r["yes_margin"]) > exact(r["no_margin"]),
                      "%s: yes above no" % obj["format"])


def test_bad_inputs():
    cases = [
        (["--format", "binary33", "--classes", "3"], "binary33"),
        (["--format", "binary32", "--classes", "1"], "--classes"),
        (["--format", "binary32", "--classes", "x"], "--classes"),
        (["--format", "binary32"], "--classes"),
        (["--classes", "3"], "--format"),
        (["--format", "binary32", "--classes", "3", "--order", "lanes:3"],
         "lanes:3"),
        (["--format", "binary32", "--classes", "3", "--scheme", "soft"],
         "soft"),
        (["--format", "binary32", "--classes", "3", "--label", "middle"],
         "middle"),
        (["--format", "e4m3", "--classes", "3", "--logit", "1000"],
         "1000"),
        (["--format", "binary32", "--classes", "3", "--round", "sr"],
         "sr"),
        (["--format", "binary32", "--classes", "3", "--bogus"], "--bogus"),
    ]
    for args, needle in cases:
        rc, out, err = run(*args)
        check(rc == 2, "%s exits 2 (got %d)" % (" ".join(args), rc))
        check(needle in err and out == "",
              "%s names %r on stderr: %r" % (" ".join(args), needle, err))


def main():
    clitest.NFI = sys.argv[1]
    test_table()
    test_json()
    test_bad_inputs()
    return clitest.finish()


if __name__ == "__main__":
    sys.exit(main())
