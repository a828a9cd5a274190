#!/usr/bin/env bash
# pipelined_resume_check.sh MPIRUN CONDENSER PYTHON WORK_DIR CONFIG [key=value ...]
# Pipelined mode (mpirun -n 3, roles.teacher_ranks=1) killed in the first
# distill epoch and resumed consumes the shards in the recorded order and
# ends with the weights of an uninterrupted run that followed the same
# order. Both runs start from a recorded order that is not the task order
# (the commit order is a race between workers, so a test pins it; with one
# teacher rank it would be the task order): run A uninterrupted; run B
# SIGKILLed after job step 7 and resumed from its checkpoint of step 6.
set -euo pipefail
mpirun=$1; bin=$2; python=$3; work=$4; shift 4
weights=$(cd "$(dirname "$0")/../e2e" && pwd)/weights_sha256.py
rm -rf "$work"; mkdir -p "$work/a" "$work/b"
order='{"order": ["shard-000003.h5", "shard-000001.h5", "shard-000005.h5", "shard-000000.h5", "shard-000004.h5", "shard-000002.h5"]}'
for d in a b; do  # condenser run directories holding a recorded shard order
  touch "$work/$d/.condenser-run"
  echo "$order" > "$work/$d/shard_order.json"
done
run() { "$mpirun" -n 3 "$@"; }
run "$bin" run "$@" roles.teacher_ranks=1 --run-dir "$work/a" > "$work/a.log" 2>&1 \
  || { tail -30 "$work/a.log"; exit 1; }
want=$("$python" "$weights" "$work/a/export/student.pt")
set +e
run -x CONDENSER_FAULT=after_step:7 "$bin" run "$@" roles.teacher_ranks=1 checkpoint.every_steps=3 \
  --run-dir "$work/b" > "$work/b.killed.log" 2>&1
code=$?
set -e
[ "$code" != 0 ] || { echo "the fault did not stop the job"; exit 1; }
run "$bin" run "$@" roles.teacher_ranks=1 checkpoint.every_steps=3 --run-dir "$work/b" \
  > "$work/b.resumed.log" 2>&1 || { tail -30 "$work/b.resumed.log"; exit 1; }
grep -q "resume: from .*step-00000006 (stage distill" "$work/b.resumed.log" \
  || { echo "did not resume inside distill from step 6"; grep resume "$work/b.resumed.log"; exit 1; }
for d in a b; do
  "$python" -c 'import json,sys; assert json.load(open(sys.argv[1])) == json.loads(sys.argv[2]), "order changed"' \
    "$work/$d/shard_order.json" "$order"
done
got=$("$python" "$weights" "$work/b/export/student.pt")
[ "$got" = "$want" ] || { echo "resumed weights $got differ from $want"; exit 1; }
echo "ok: pipelined, killed at step 7, resumed from step 6 in the recorded order: $got (same)"
