#!/usr/bin/env bash
# pipelined_stop_check.sh MPIRUN CONDENSER PYTHON WORK_DIR CONFIG [key=value ...]
# SIGUSR1 (what cluster/slurm/*.sbatch send before the time limit) to a
# pipelined mpirun -n 3 job while rank 2 labels and ranks 0-1 train: every
# rank stops (the teacher rank after reporting its shard in flight), the job
# exits 0 naming the resume command, and running it again finishes the job
# with every (sample, view) labelled once, in one recorded order.
set -euo pipefail
mpirun=$1; bin=$2; python=$3; work=$4; shift 4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"; mkdir -p "$work"
"$mpirun" -n 3 "$bin" run "$@" roles.teacher_ranks=1 --run-dir "$work/run" > "$work/stopped.log" 2>&1 &
job=$!
for _ in $(seq 1200); do grep -q "label: pipelined" "$work/stopped.log" && break; sleep 0.1; done
sleep 1
kill -USR1 "$job"
wait "$job" || { echo "SIGUSR1: mpirun exited $?, expected 0"; tail -20 "$work/stopped.log"; exit 1; }
grep -q "Resume with" "$work/stopped.log" || { echo "no checkpoint-and-exit"; tail -20 "$work/stopped.log"; exit 1; }
! grep -q '"finished": true' "$work/run/summary.json" || { echo "the job finished before the signal"; exit 1; }
"$mpirun" -n 3 "$bin" run "$@" roles.teacher_ranks=1 --run-dir "$work/run" > "$work/resumed.log" 2>&1 \
  || { tail -30 "$work/resumed.log"; exit 1; }
grep -q "resume: from" "$work/resumed.log" || { echo "did not resume"; exit 1; }
"$python" "$here/check_labelling.py" resumed "$work/run" -
