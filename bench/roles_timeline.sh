#!/usr/bin/env bash
# bench/roles_timeline.sh [CONDENSER] [OUT_DIR] [key=value ...]
# One job (configs/quick.yaml) under mpirun -n 3, phased then pipelined
# (roles.teacher_ranks=1), back to back on this machine: per rank, when it
# labelled and when it started training the student, in seconds from
# mpirun's start (RUN_DIR/timeline/rank-R.json), and each job's wall time.
set -euo pipefail
bin=${1:-build/app/condenser}; out=${2:-runs/roles_timeline}; shift $(( $# > 2 ? 2 : $# ))
here=$(cd "$(dirname "$0")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$out"; mkdir -p "$out"
for mode in phased pipelined; do
  roles=0; [ "$mode" = pipelined ] && roles=1
  t0=$(date +%s.%N)
  mpirun -n 3 "$bin" run "$here/../configs/quick.yaml" --run-dir "$out/$mode" roles.teacher_ranks=$roles \
    runtime.threads=1 "$@" > "$out/$mode.log" 2>&1 || { tail -20 "$out/$mode.log"; exit 1; }
  t1=$(date +%s.%N)
  /usr/bin/python3 "$here/timeline.py" "$mode" "$out/$mode" "$t0" "$t1" | tee -a "$out/timeline.txt"
done
