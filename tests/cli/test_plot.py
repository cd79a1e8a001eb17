"""nfi plot end to end: two short runs drawn into a PNG and an SVG that
name the runs and mark the onset and the spike; a failed plot leaves an
existing picture as it was; bad input exits 2 naming it.

Usage: test_plot.py NFI_EXECUTABLE
Skipped (exit status 77) when gnuplot is not installed."""
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import clitest
from clitest import check, nfi, read

SHORT = ["--task", "add", "--modulus", "7", "--hidden", "16",
         "--steps", "200", "--log-every", "10"]


def plot(*args, env=None):
    """Runs `nfi plot ARGS`; returns (exit status, stdout, stderr)."""
    p = subprocess.run([clitest.NFI, "plot", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60,
                       env=env)
    return p.returncode, p.stdout, p.stderr


def svg_text(path):
    """All the text of an SVG file, which must parse as XML."""
    root = ET.parse(path).getroot()
    return "\n".join("".join(e.itertext()) for e in root.iter()
                     if e.tag.endswith("text"))


def main():
    if shutil.which("gnuplot") is None:
        print("SKIP: gnuplot is not installed (Debian package "
              "gnuplot-nox)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        scratch = os.path.join(tmp, "scratch")
        os.mkdir(scratch)
        env = dict(os.environ, TMPDIR=scratch)

        a = os.path.join(tmp, "runa")
        b = os.path.join(tmp, "runb")
        rc, _, err = nfi(*SHORT, "--out", a)
        check(rc == 0, "run a: exit %d: %s" % (rc, err))
        # bfloat16 at this rate absorbs from step 30, its loss rounds to
        # 0 at steps 60-70 (which is no spike), and it spikes at 310.
        rc, _, err = nfi(*SHORT, "--steps", "400", "--format", "bf16",
                         "--lr", "0.05", "--out", b)
        check(rc == 0, "run b: exit %d: %s" % (rc, err))

        png = os.path.join(tmp, "p.png")
        rc, _, err = plot(a, b, "-o", png, "--title", "two runs", env=env)
        check(rc == 0, "png: exit %d: %s" % (rc, err))
        check(os.path.isfile(png) and
              read(png)[:8] == b"\x89PNG\r\n\x1a\n", "png: signature")

        svg = os.path.join(tmp, "p.svg")
        keep = os.path.join(tmp, "p.gp")
        rc, _, err = plot(a + "/", b, "-o", svg, "--keep-script", keep,
                          "--size", "800x900", env=env)
        check(rc == 0, "svg: exit %d: %s" % (rc, err))
        try:
            text = svg_text(svg)
        except (OSError, ET.ParseError) as e:
            check(False, "svg: does not parse: %s" % e)
            text = ""
        for want in ["runa (binary32)", "runb (bf16)", "onset runb",
                     "spike runb", "absorption onset", "loss spike",
                     "absorbed fraction"]:
            check(want in text, "svg: no text %r" % want)
        check("onset runa" not in text, "svg: runa has no onset")
        check(b'width="800"' in read(svg), "svg: --size")
        script = read(keep).decode()
        check("$run1 << EOD" in script and svg in script,
              "--keep-script: data and output in the script")

        rc, _, err = plot(b, "-o", png, "--steps", "50:150", env=env)
        check(rc == 0, "--steps: exit %d: %s" % (rc, err))

        # A failed plot leaves the existing picture as it was.
        keepme = os.path.join(tmp, "keep.png")
        with open(keepme, "wb") as f:
            f.write(b"old picture")
        fake = os.path.join(tmp, "fakebin")
        os.mkdir(fake)
        with open(os.path.join(fake, "gnuplot"), "w") as f:
            f.write("#!/bin/sh\necho 'broken gnuplot' >&2\nexit 1\n")
        os.chmod(os.path.join(fake, "gnuplot"), 0o755)
        rc, _, err = plot(a, "-o", keepme, env=dict(env, PATH=fake))
        check(rc == 1 and "broken gnuplot" in err,
              "failing gnuplot: exit %d: %s" % (rc, err))
        check(read(keepme) == b"old picture", "failed plot kept the file")
        check(not [n for n in os.listdir(tmp) if n.startswith(".nfi-tmp")],
              "failed plot left no temporary")

        empty = os.path.join(tmp, "nobin")
        os.mkdir(empty)
        rc, _, err = plot(a, "-o", keepme, env=dict(env, PATH=empty))
        check(rc == 1 and "gnuplot-nox" in err,
              "no gnuplot: exit %d: %s" % (rc, err))
        check(read(keepme) == b"old picture", "no gnuplot kept the file")

        # Usage errors name the input.
        rc, _, err = plot("-o", png, env=env)
        check(rc == 2 and "no run directory" in err,
              "no runs: exit %d: %s" % (rc, err))
        nometrics = os.path.join(tmp, "nometrics")
        os.mkdir(nometrics)
        rc, _, err = plot(a, nometrics, "-o", keepme, env=env)
        check(rc == 2 and os.path.join(nometrics, "metrics.csv") in err,
              "missing metrics.csv: exit %d: %s" % (rc, err))
        bad = os.path.join(tmp, "bad")
        shutil.copytree(a, bad)
        with open(os.path.join(bad, "metrics.csv"), "a") as f:
            f.write("1,2,three\n")
        rc, _, err = plot(bad, "-o", keepme, env=env)
        check(rc == 2 and os.path.join(bad, "metrics.csv") in err,
              "corrupt metrics.csv: exit %d: %s" % (rc, err))
        check(read(keepme) == b"old picture", "bad input kept the file")
        rc, _, err = plot(a, "-o", os.path.join(tmp, "p.pdf"), env=env)
        check(rc == 2 and "p.pdf" in err,
              "unknown extension: exit %d: %s" % (rc, err))
        rc, _, err = plot(a, "-o", png, "--size", "10x10", env=env)
        check(rc == 2 and "--size" in err, "bad size: exit %d" % rc)
        rc, _, err = plot(a, "-o", png, "--steps", "500:600", env=env)
        check(rc == 2 and "--steps" in err,
              "empty step range: exit %d: %s" % (rc, err))

        check(os.listdir(scratch) == [],
              "temporary directories left: %s" % os.listdir(scratch))
        p = subprocess.run([clitest.NFI, "help", "plot"],
                           stdout=subprocess.PIPE, text=True)
        check(p.returncode == 0 and "gnuplot-nox" in p.stdout and
              "Example" in p.stdout, "nfi help plot")
    return clitest.finish()


if __name__ == "__main__":
    clitest.NFI = sys.argv[1]
    sys.exit(main())
