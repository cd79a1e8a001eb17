#!/bin/sh
# The golden traces: scripts/golden.sh run again into a temporary
# directory must give data/golden byte for byte (metrics.csv, the final
# parameters, trace.json).  A difference means results changed: if the
# change is meant, regenerate with scripts/golden.sh build/cli/nfi
# data/golden and commit the new files with it.
#
# Usage: test_golden.sh NFI GOLDEN_SH GOLDEN_DIR
set -eu
NFI=$1
SCRIPT=$2
GOLDEN=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfi-golden-test-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sh "$SCRIPT" "$NFI" "$tmp/golden"
fail=0
for f in $(cd "$GOLDEN" && find . -type f | sort); do
    if ! cmp -s "$GOLDEN/$f" "$tmp/golden/$f"; then
        echo "FAIL: $f differs from data/golden (results changed)"
        fail=1
    fi
done
for f in $(cd "$tmp/golden" && find . -type f | sort); do
    [ -f "$GOLDEN/$f" ] || { echo "FAIL: $f is not in data/golden"; fail=1; }
done
n=$(cd "$GOLDEN" && find . -type f | wc -l)
if [ "$n" -lt 15 ]; then
    echo "FAIL: data/golden holds $n files, expected 15"
    fail=1
fi
if [ $fail -ne 0 ]; then
    for format in bfloat16 binary32 binary64; do
        echo "== nfi diff data/golden/$format (A) and the new run (B):"
        "$NFI" diff "$GOLDEN/$format" "$tmp/golden/$format" | tail -n 1 ||
            true
    done
    exit 1
fi
echo "ok: $n files identical"
