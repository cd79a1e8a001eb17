#!/bin/sh
# The main job: the canonical experiment (nfi train's defaults: div mod
# 23, MLP 46-128-23, Adam, 30000 steps) in binary32 and, from the same
# start, its three controls: binary64; binary32 with the logits and loss
# in binary64; binary32 with Adam's eps 1e-5.  The four runs go two at a
# time (this is a 2-core design; NFI_JOBS overrides), then nfi verify
# checks the claims on the binary32 run against the controls and nfi plot
# draws all four.
#
# Usage: scripts/main_job.sh [NFI [OUTDIR]]
#   NFI     the nfi program [build/cli/nfi]
#   OUTDIR  where the run directories go [runs/canonical]
# A run already complete in OUTDIR is kept (delete it to redo it); one
# that was interrupted is resumed.  Each run's progress goes to
# OUTDIR/NAME.log.
set -eu
NFI=${1:-build/cli/nfi}
OUT=${2:-runs/canonical}
JOBS=${NFI_JOBS:-2}
mkdir -p "$OUT"

started=$(date +%s)
elapsed() { echo $(($(date +%s) - started)); }

# run NAME OPTIONS...: one training run, skipped when already complete.
run() {
    name=$1
    shift
    dir="$OUT/$name"
    if [ -f "$dir/status" ]; then
        case $(head -n 1 "$dir/status") in
        complete)
            echo "  $name: complete already ($dir)"
            return 0 ;;
        interrupted|running|failed)
            echo "  $name: resuming ($dir)"
            "$NFI" train --resume "$dir" >"$OUT/$name.log" 2>&1 &&
                echo "  $name: done at $(elapsed) s" && return 0
            echo "  $name: failed, see $OUT/$name.log" >&2
            return 1 ;;
        esac
    fi
    "$NFI" train --log-every 100 --out "$dir" "$@" >"$OUT/$name.log" 2>&1 &&
        echo "  $name: done at $(elapsed) s" && return 0
    echo "  $name: failed, see $OUT/$name.log" >&2
    return 1
}

echo "main job: the canonical experiment and three controls, $JOBS at a time"
# The two slowest (binary64 logits) first, one per worker.
status=0
if [ "$JOBS" -ge 2 ]; then
    { run binary64 --format binary64 && run binary32 --format binary32; } &
    first=$!
    { run logits64 --format binary32 --policy logits=binary64 &&
          run eps1e-5 --format binary32 --eps 1e-5; } &
    second=$!
    wait "$first" || status=1
    wait "$second" || status=1
else
    run binary32 --format binary32 &&
        run binary64 --format binary64 &&
        run logits64 --format binary32 --policy logits=binary64 &&
        run eps1e-5 --format binary32 --eps 1e-5 || status=1
fi
[ "$status" = 0 ] || exit 1

echo
"$NFI" verify "$OUT/binary32" --control "$OUT/binary64" \
    --control "$OUT/logits64" --control "$OUT/eps1e-5"
echo
if "$NFI" plot "$OUT/binary32" "$OUT/binary64" "$OUT/logits64" \
    "$OUT/eps1e-5" -o "$OUT/canonical.png" \
    --title "canonical experiment and controls" >/dev/null 2>"$OUT/plot.log"
then
    plot="$OUT/canonical.png"
else
    plot="(not drawn: see $OUT/plot.log)"
fi
echo "runs:     $OUT/binary32 $OUT/binary64 $OUT/logits64 $OUT/eps1e-5"
echo "verdicts: $OUT/binary32/verify.md and verify.json"
echo "plot:     $plot"
echo "total:    $(elapsed) s"
