#!/usr/bin/env bash
# pipelined_check.sh MPIRUN CONDENSER PYTHON WORK_DIR CONFIG [key=value ...]
# mpirun -n 3 with roles.teacher_ranks=1 (rank 2 labels, ranks 0-1 train on
# committed shards), and an external `condenser worker` that joins while it
# labels, with the address and token from the run directory. A stale
# shard_order.json (another shard layout) is dropped, not waited on.
set -euo pipefail
mpirun=$1; bin=$2; python=$3; work=$4; shift 4
here=$(cd "$(dirname "$0")" && pwd)
run=$work/run
rm -rf "$work"; mkdir -p "$run"
touch "$run/.condenser-run"  # a condenser run directory that an earlier job left
echo '{"order": ["shard-000001.h5", "shard-999999.h5"]}' > "$run/shard_order.json"
"$mpirun" -n 3 "$bin" run "$@" roles.teacher_ranks=1 --run-dir "$run" > "$work/run.log" 2>&1 &
job=$!
# coordinator.json names the job's HTTP side from the start, "control" once it labels.
for _ in $(seq 600); do grep -qs '"control"' "$run/coordinator.json" && break; sleep 0.1; done
grep -qs '"control"' "$run/coordinator.json" || { echo "no coordinator.json"; kill "$job"; tail -30 "$work/run.log"; exit 1; }
address=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"])' "$run/coordinator.json")
"$bin" worker --coordinator "$address" --token-file "$run/job.token" --threads 1 --name external \
  > "$work/external.log" 2>&1 || { echo "external worker failed"; cat "$work/external.log"; }
wait "$job" || { echo "mpirun failed"; tail -30 "$work/run.log"; exit 1; }
grep -q "shard-999999.h5, not (or twice) in this job's" "$work/run.log" \
  || { echo "the stale order was not dropped"; exit 1; }
grep -q "labelling shard" "$work/external.log" || { echo "the external worker got no task"; cat "$work/external.log"; exit 1; }
"$python" "$here/check_labelling.py" pipelined "$run" external
