#!/usr/bin/env bash
# Builds condenser against the GPU machine's own LibTorch (PyTorch's, with
# CUDA) and runs the GPU checks: the quick job on CUDA, then the unit tests.
# Prints a short summary at the end; copies logs to $OUT when set.
# Usage: scripts/gpu-check.sh   (on a machine with nvidia-smi, python3 -c 'import torch')
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/condenser-gpu-out}; mkdir -p "$OUT"
BUILD=${BUILD:-/tmp/condenser-gpu-build}
summary=()
note() { summary+=("$*"); echo "== $*"; }

nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | head -2
TORCH_PREFIX=$(python3 -c "import torch;print(torch.utils.cmake_prefix_path)")
python3 -c "import torch;print('torch', torch.__version__, 'cuda', torch.version.cuda)"
for h in yaml-cpp/yaml.h CLI/CLI.hpp nlohmann/json.hpp gtest/gtest.h hdf5.h zlib.h; do
  found=$(find /usr/include /usr/local/include -path "*/$h" 2>/dev/null | head -1)
  note "header $h: ${found:-MISSING}"
done
python3 -c "import h5py" 2>/dev/null && note "python h5py: ok" || note "python h5py: MISSING"

# Fashion-MNIST: the Debian package's folder, or a copy carried in .gpu-data/.
DATA=/usr/share/datasets/fashion-mnist
[ -d .gpu-data/fashion-mnist ] && DATA=$PWD/.gpu-data/fashion-mnist
note "data: $DATA"

start=$(date +%s)
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
  -DCONDENSER_PYTHON="$(command -v python3)" -DCONDENSER_TEST_DATA="$DATA" > "$OUT/configure.log" 2>&1
rc=$?; note "configure rc=$rc ($(( $(date +%s) - start )) s): $(grep 'condenser:' "$OUT/configure.log")"
if [ $rc -ne 0 ]; then tail -30 "$OUT/configure.log"; printf '%s\n' "${summary[@]}"; exit 1; fi

start=$(date +%s)
cmake --build "$BUILD" -j "$(nproc)" -- -k 0 > "$OUT/build.log" 2>&1
rc=$?; note "build rc=$rc ($(( $(date +%s) - start )) s)"
if [ $rc -ne 0 ]; then grep -E "error|Error" "$OUT/build.log" | head -40; printf '%s\n' "${summary[@]}"; exit 1; fi

start=$(date +%s)
timeout 240 "$BUILD/app/condenser" run configs/quick.yaml runtime.device=cuda data.path="$DATA" --run-dir "$OUT/quick-cuda" \
  > "$OUT/quick-cuda.log" 2>&1
rc=$?; note "quick job on cuda rc=$rc ($(( $(date +%s) - start )) s)"
tail -12 "$OUT/quick-cuda.log"

start=$(date +%s)
(cd "$BUILD" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
  timeout 240 ctest -j 8 --timeout 200 --output-on-failure > "$OUT/ctest.log" 2>&1)
rc=$?; note "ctest rc=$rc ($(( $(date +%s) - start )) s): $(grep -E 'tests passed|tests failed' "$OUT/ctest.log")"
grep -E "\*\*\*Failed|Timeout" "$OUT/ctest.log" | head -20

# A backtrace for the first crashing unit test, if any.
crash=$(grep -m1 -oE "Test +#[0-9]+: [A-Za-z0-9_.]+ \.+\*\*\*Exception: SegFault" "$OUT/ctest.log" | awk '{print $3}')
if [ -n "$crash" ] && command -v gdb >/dev/null; then
  exe=""
  for t in "$BUILD"/tests/condenser_*_tests; do
    "$t" --gtest_list_tests 2>/dev/null | grep -q "^  ${crash#*.}" && exe=$t && break
  done
  note "backtrace of $crash in $exe"
  gdb -batch -ex run -ex bt --args "$exe" --gtest_filter="$crash" 2>&1 | grep -E "^#|signal" | head -25
fi

echo; echo "==== gpu-check summary"; printf '%s\n' "${summary[@]}"
