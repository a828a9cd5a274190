#!/usr/bin/env bash
# Peak memory of an HDF5 dataset read in chunks, measured on a job.
#   bench/hdf5_memory.sh [ROWS] [CONDENSER] [WORK_DIR]
# Writes ROWS (default 300000) random 3x32x32 uint8 images to WORK_DIR/big.h5
# (h5py), runs a job on it with tiny linear models (the data dominates), and
# samples the resident memory of the coordinator and its local worker every
# 0.2 s. The float32 train tensor is rows x 3072 x 4 bytes; a chunked read
# adds at most one 64 MiB chunk to it, not the file.
set -euo pipefail
rows=${1:-300000}; bin=${2:-build/app/condenser}; work=${3:-runs/hdf5_memory}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"; rm -rf "$work/run"
/usr/bin/python3 - "$work/big.h5" "$rows" <<'PY'
import sys, h5py, numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
with h5py.File(path, "w") as f:
    x = f.create_dataset("train/inputs", shape=(n, 3, 32, 32), dtype=np.uint8, chunks=(256, 3, 32, 32))
    for i in range(0, n, 20000):
        x[i:i + 20000] = rng.integers(0, 256, size=(min(20000, n - i), 3, 32, 32), dtype=np.uint8)
    f["train/labels"] = rng.integers(0, 10, size=n).astype(np.int64)
    f["test/inputs"] = rng.integers(0, 256, size=(1000, 3, 32, 32), dtype=np.uint8)
    f["test/labels"] = rng.integers(0, 10, size=1000).astype(np.int64)
    f.attrs["num_classes"] = 10
    f.attrs["scale"] = 1 / 255
PY
"$bin" run "$here/configs/own_hdf5.yaml" data.path="$work/big.h5" teacher.path= \
  "teacher.layers=[flatten, {linear: 10}]" "student.layers=[flatten, {linear: 10}]" \
  teacher.train.epochs=1 student.train.epochs=1 control.enabled=false prune.enabled=false \
  soft_labels.views_per_sample=1 runtime.threads=1 --run-dir "$work/run" > "$work/run.log" 2>&1 &
pid=$!
declare -A peak
while kill -0 "$pid" 2>/dev/null; do
  for p in $(pgrep -f "condenser (run|worker)"); do
    r=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    [ -n "$r" ] && [ "${peak[$p]:-0}" -lt "$r" ] && peak[$p]=$r
  done
  sleep 0.2
done
wait "$pid" || { tail "$work/run.log"; exit 1; }
echo "train tensor: $(( (rows - 5000) * 3072 * 4 / 1048576 )) MiB float32 ($(( rows - 5000 )) rows after the validation carve); file $(( $(stat -c %s "$work/big.h5") / 1048576 )) MiB"
for p in "${!peak[@]}"; do
  [ "${peak[$p]}" -gt 100000 ] && echo "process $p peak RSS $(( peak[$p] / 1024 )) MiB"
done
