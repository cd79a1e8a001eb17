#!/bin/sh
# Golden traces: the first 300 steps of the canonical experiment (nfi
# train's defaults: div mod 23, MLP 46-128-23, Adam, seed 0) in bfloat16,
# binary32 and binary64, logged every 10 steps.  Each goes into
# OUTDIR/FORMAT/ as a trace in the format of docs/traces.md:
#   trace.json                       what it is, the options it follows
#   metrics.csv                      the 31 logged rows, exact
#   snapshots/step_00000300/W1.npy   the final parameters (also b1, W2)
# The test suite (meson test golden) runs this script into a temporary
# directory and compares every file with data/golden byte for byte, so
# that no change of results goes unnoticed; a change that is meant
# (a fix of the arithmetic) regenerates them with
#     scripts/golden.sh build/cli/nfi data/golden
# and the diff of data/golden goes into the same commit.
#
# Usage: scripts/golden.sh [NFI [OUTDIR]]
#   NFI     the nfi program [build/cli/nfi]
#   OUTDIR  where the traces go [data/golden]
set -eu
NFI=${1:-build/cli/nfi}
OUT=${2:-data/golden}
STEPS=300
LOG=10
work=$(mktemp -d "${TMPDIR:-/tmp}/nfi-golden-XXXXXX")
trap 'rm -rf "$work"' EXIT

for format in bfloat16 binary32 binary64; do
    "$NFI" train --steps $STEPS --log-every $LOG --format $format \
        --out "$work/$format" 2>"$work/$format.log" || {
        cat "$work/$format.log" >&2
        exit 1
    }
    dest="$OUT/$format"
    snap="snapshots/step_$(printf %08d $STEPS)"
    rm -rf "$dest"
    mkdir -p "$dest/$snap"
    cp "$work/$format/metrics.csv" "$dest/metrics.csv"
    for t in W1 b1 W2; do
        cp "$work/$format/$snap/$t.npy" "$dest/$snap/$t.npy"
    done
    cat >"$dest/trace.json" <<JSON
{
  "nfi_trace": 1,
  "producer": "nfi train (scripts/golden.sh)",
  "format": "$format",
  "config": {
    "task": "div",
    "modulus": 23,
    "train_frac": 0.5,
    "model": "mlp",
    "hidden": 128,
    "layers": 1,
    "classifier_bias": "off",
    "optimizer": "adam",
    "lr": 0.01,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-08,
    "weight_decay": 0,
    "steps": $STEPS,
    "format": "$format",
    "round": "rne",
    "scheme": "logsoftmax",
    "order": "sequential",
    "seed": 0,
    "log_every": $LOG
  }
}
JSON
done
