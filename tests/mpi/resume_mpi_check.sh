#!/usr/bin/env bash
# resume_mpi_check.sh MPIRUN CONDENSER PYTHON WORK_DIR CONFIG [key=value ...]
# Under mpirun -n 2: a job SIGKILLed mid-epoch of the data-parallel teacher
# (every rank at once, as when a node dies) and resumed with --resume auto
# ends with the uninterrupted run's student weights, bitwise.
set -euo pipefail
mpirun=$1; bin=$2; python=$3; work=$4; shift 4
here=$(cd "$(dirname "$0")/../e2e" && pwd)
rm -rf "$work"; mkdir -p "$work"
"$mpirun" -n 2 "$bin" run "$@" --run-dir "$work/reference" > "$work/reference.log" 2>&1
want=$("$python" "$here/weights_sha256.py" "$work/reference/export/student.pt")
set +e
"$mpirun" -n 2 -x CONDENSER_FAULT=after_step:6 "$bin" run "$@" --run-dir "$work/killed" \
  > "$work/killed.log" 2>&1
code=$?
set -e
[ "$code" != 0 ] || { echo "the fault did not stop the job"; exit 1; }
"$mpirun" -n 2 "$bin" run "$@" --run-dir "$work/killed" --resume auto > "$work/resumed.log" 2>&1
grep -q "resume: from .*step-00000005" "$work/resumed.log" || { echo "did not resume from step 5"; exit 1; }
got=$("$python" "$here/weights_sha256.py" "$work/killed/export/student.pt")
[ "$got" = "$want" ] || { echo "resumed weights $got differ from $want"; exit 1; }
echo "ok: 2 ranks, killed at step 6, resumed from step 5: $got (same)"

# SIGUSR1 to mpirun (what cluster/slurm/*.sbatch send before the time
# limit): it reaches every rank; they checkpoint and the job exits 0.
"$mpirun" -n 2 "$bin" run "$@" --run-dir "$work/usr1" > "$work/usr1.log" 2>&1 &
pid=$!
"$here/signal_after_checkpoint.sh" USR1 "$pid" "$work/usr1"
wait "$pid" || { echo "SIGUSR1: mpirun exited $?, expected 0"; tail "$work/usr1.log"; exit 1; }
grep -q "Resume with" "$work/usr1.log" || { echo "SIGUSR1: no checkpoint-and-exit"; exit 1; }
"$mpirun" -n 2 "$bin" run "$@" --run-dir "$work/usr1" > "$work/usr1.resumed.log" 2>&1
got=$("$python" "$here/weights_sha256.py" "$work/usr1/export/student.pt")
[ "$got" = "$want" ] || { echo "SIGUSR1: resumed weights $got differ from $want"; exit 1; }
echo "ok: SIGUSR1 through mpirun, checkpoint, resumed: $got (same)"
