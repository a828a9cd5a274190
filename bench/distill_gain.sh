#!/usr/bin/env bash
# bench/distill_gain.sh CONFIG SEEDS [CONDENSER] [OUT_DIR] [key=value ...]
# The gain from distillation over seeds: runs CONFIG (its control enabled)
# once per seed in SEEDS (e.g. "1 2 3"), one job after the other, and prints
# per seed the distilled student's and the no-teacher control's test
# accuracy (both before pruning), the gain in points and the job's wall
# time, then their mean and the smallest gain. The Python check reproduces
# both accuracies from models/student_distilled.pt and student_control.pt.
# Table: OUT_DIR/gain.txt.
set -euo pipefail
config=$1; seeds=$2; bin=${3:-build/app/condenser}; out=${4:-runs/distill_gain}
shift $(( $# > 4 ? 4 : $# ))
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
: > "$out/gain.txt"
for seed in $seeds; do
  run="$out/seed-$seed"
  t0=$(date +%s)
  "$bin" run "$config" seed="$seed" control.enabled=true --run-dir "$run" "$@" \
    > "$out/seed-$seed.log" 2>&1 || [ $? -eq 3 ] || { tail -20 "$out/seed-$seed.log"; exit 1; }
  /usr/bin/python3 "$here/distill_gain.py" "$run" "$seed" $(( $(date +%s) - t0 )) | tee -a "$out/gain.txt"
done
/usr/bin/python3 "$here/distill_gain.py" --summary "$out/gain.txt" | tee -a "$out/gain.txt"
