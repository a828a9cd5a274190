#!/usr/bin/env bash
# bench/heap.sh [CONDENSER] [ROUNDS] [OUT_DIR] [key=value ...]
# The heap setting condenser makes at start (core/heap_tuning.h) against
# glibc's defaults (CONDENSER_HEAP=system), on the same work: the default
# job's teacher stage (one epoch unless overridden, no student, no pruning),
# ROUNDS times each way, alternating which goes first. Prints each run's
# teacher seconds, the medians and their ratio (system / condenser: above 1
# means condenser's setting is faster). Table: OUT_DIR/heap.txt.
set -euo pipefail
bin=${1:-build/app/condenser}; rounds=${2:-3}; out=${3:-runs/heap}
shift $(( $# > 3 ? 3 : $# ))
mkdir -p "$out"
: > "$out/heap.txt"
teacher_seconds() {  # RUN_DIR -> the teacher stage's seconds from summary.json
  /usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]+"/summary.json"))
print([x["seconds"] for x in s["stages"] if x["name"]=="teacher"][0])' "$1"
}
one() {  # HEAP ROUND [key=value ...]
  local name=$1 round=$2 heap=""; shift 2
  local run="$out/$name-$round"
  rm -rf "$run"
  [ "$name" = system ] && heap=system
  CONDENSER_HEAP=$heap \
    "$bin" run configs/fashion_mnist.yaml teacher.train.epochs=1 student.train.epochs=0 \
    control.enabled=false prune.enabled=false --run-dir "$run" "$@" > "$run.log" 2>&1
  echo "$name round $round: teacher $(teacher_seconds "$run") s" | tee -a "$out/heap.txt"
}
for r in $(seq 1 "$rounds"); do
  if (( r % 2 )); then one condenser "$r" "$@"; one system "$r" "$@";
  else one system "$r" "$@"; one condenser "$r" "$@"; fi
done
/usr/bin/python3 - "$out/heap.txt" <<'PY' | tee -a "$out/heap.txt"
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if " round " in l]
t = {k: statistics.median(float(r[4]) for r in rows if r[0] == k) for k in ("condenser", "system")}
print(f"median teacher seconds: condenser {t['condenser']:.1f}, glibc defaults {t['system']:.1f}; "
      f"speed-up {t['system'] / t['condenser']:.2f}x")
PY
