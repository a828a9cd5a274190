#!/usr/bin/env bash
# phased_check.sh MPIRUN CONDENSER PYTHON WORK_DIR CONFIG [key=value ...]
# mpirun -n 3 with phased labelling (every rank labels, then all train),
# then one process with the 3-rank run's teacher file and the same global
# batch (3 x 128): check_labelling.py compares the two.
set -euo pipefail
mpirun=$1; bin=$2; python=$3; work=$4; shift 4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"; mkdir -p "$work"
"$mpirun" -n 3 "$bin" run "$@" student.train.batch_size=128 --run-dir "$work/ranks3" \
  > "$work/ranks3.log" 2>&1 || { tail -30 "$work/ranks3.log"; exit 1; }
"$bin" run "$@" student.train.batch_size=384 teacher.path="$work/ranks3/models/teacher.pt" \
  --run-dir "$work/single" > "$work/single.log" 2>&1 || { tail -30 "$work/single.log"; exit 1; }
"$python" "$here/check_labelling.py" phased "$work/ranks3" "$work/single"
