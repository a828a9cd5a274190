#!/usr/bin/env bash
# The GPU check, made for ONE call on a GPU machine whose time is scarce:
# configures condenser against the machine's own LibTorch (PyTorch's, with
# CUDA) with CONDENSER_WITH_CUDA=ON and CONDENSER_WITH_NCCL=ON, builds only
# what the checks need (the app and the GPU test binary) with Ninja on every
# core, then runs `ctest -L gpu`, `condenser bench gpu` and the quick job on
# CUDA (fp32, then a short one with teacher.precision=bf16).
#
# Robust by design: every step has a time limit, and the whole script a
# deadline (GPU_CHECK_DEADLINE_S, default 480 s): a step that would start
# after it is skipped. A failed step is summarised and the next one still
# runs where it can; build errors' first lines are printed. Logs, the bench
# JSON and results-gpu.json go to $OUT. The last lines are a summary: GPU,
# each step's rc and seconds, ctest counts, bench ratios.
#
# Usage (see README "GPU check"): scripts/gpu-check.sh
#   Rehearsal on a CPU machine (every step runs, the GPU ones refuse or
#   skip): GPU_CHECK_WITH_CUDA=OFF GPU_CHECK_WITH_NCCL=OFF, with a fake
#   nvidia-smi and a python3 that imports torch first on PATH.
#   Data: .gpu-data/fashion-mnist (copied beside the checkout) or the
#   Debian package's /usr/share/datasets/fashion-mnist.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
OUT=${OUT:-/tmp/condenser-gpu-out}
mkdir -p "$OUT"
BUILD=${BUILD:-/tmp/condenser-gpu-build}
WORK=${WORK:-/tmp/condenser-gpu-work}
DEADLINE=$(( $(date +%s) + ${GPU_CHECK_DEADLINE_S:-480} ))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
summary=()
failed=0
note() { summary+=("$*"); echo "== $*"; }

# step NAME LIMIT_S CMD...: runs CMD (log: $OUT/NAME.log) under
# min(LIMIT_S, time left); records "NAME rc=R (S s)". Returns CMD's rc.
step() {
  local name=$1 limit=$2; shift 2
  local left=$(( DEADLINE - $(date +%s) ))
  if (( left < 15 )); then
    note "$name: SKIPPED (deadline reached)"; failed=1; return 99
  fi
  (( limit > left )) && limit=$left
  local start
  start=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local took=$(( $(date +%s) - start ))
  local what="rc=$rc"
  (( rc == 124 || rc == 137 )) && what="rc=$rc TIMEOUT after ${limit} s"
  note "$name: $what (${took} s)"
  (( rc != 0 )) && failed=1
  return $rc
}

# ---- the machine
GPU=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)
note "gpu: ${GPU:-none}"
TORCH_PREFIX=$(python3 -c "import torch;print(torch.utils.cmake_prefix_path)" 2>/dev/null)
TORCH_INFO=$(python3 -c "import torch;print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" 2>&1 | tail -1)
note "python3: $TORCH_INFO; cores $(nproc); $(cmake --version | head -1); ninja $(ninja --version 2>/dev/null)"
[ -z "$TORCH_PREFIX" ] && { note "FATAL: python3 cannot import torch: no CUDA LibTorch to build against"; printf '%s\n' "${summary[@]}"; exit 1; }

# NCCL: a system nccl.h, else the one in PyTorch's nvidia-nccl wheel (which
# ships only libnccl.so.2, so the library is named explicitly).
NCCL_ARGS=()
if ! ls /usr/include/nccl.h /usr/local/include/nccl.h /usr/local/cuda/include/nccl.h >/dev/null 2>&1; then
  NCCL_DIR=$(python3 -c "import nvidia.nccl,os;print(os.path.dirname(nvidia.nccl.__file__))" 2>/dev/null \
             || python3 -c "import nvidia.nccl;print(list(nvidia.nccl.__path__)[0])" 2>/dev/null)
  if [ -n "$NCCL_DIR" ] && [ -f "$NCCL_DIR/include/nccl.h" ]; then
    NCCL_LIB=$(ls "$NCCL_DIR"/lib/libnccl.so* 2>/dev/null | head -1)
    NCCL_ARGS=(-DNCCL_INCLUDE_DIR="$NCCL_DIR/include" -DNCCL_LIBRARY="$NCCL_LIB")
  fi
fi
note "nccl: $(ls /usr/include/nccl.h /usr/local/include/nccl.h /usr/local/cuda/include/nccl.h 2>/dev/null | head -1)${NCCL_ARGS[*]:+ ${NCCL_ARGS[*]}}"

# Fashion-MNIST: a copy carried in .gpu-data/, or the Debian package.
DATA=/usr/share/datasets/fashion-mnist
[ -d .gpu-data/fashion-mnist ] && DATA=$ROOT/.gpu-data/fashion-mnist
if ls "$DATA"/train-images-idx3-ubyte* >/dev/null 2>&1; then note "data: $DATA"; else note "data: MISSING at $DATA (tests and bench will fail)"; fi

# ---- configure (CUDA + NCCL; without NCCL if that is what fails)
CONFIG=(-S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX"
        -DCONDENSER_PYTHON="$(command -v python3)" -DCONDENSER_TEST_DATA="$DATA"
        -DCONDENSER_WITH_CUDA="${GPU_CHECK_WITH_CUDA:-ON}")
if ! step configure 120 cmake "${CONFIG[@]}" -DCONDENSER_WITH_NCCL="${GPU_CHECK_WITH_NCCL:-ON}" "${NCCL_ARGS[@]}"; then
  grep -E "CMake Error|FATAL|Could not|not found" -A3 "$OUT/configure.log" | head -25
  rm -rf "$BUILD"
  if step configure_without_nccl 120 cmake "${CONFIG[@]}" -DCONDENSER_WITH_NCCL=OFF; then
    note "configure: NCCL OFF (see configure.log for why it failed with NCCL)"
  else
    tail -30 "$OUT/configure_without_nccl.log"
  fi
fi
grep -h "condenser:" "$OUT"/configure*.log 2>/dev/null | tail -1 | sed 's/^-- /== /'

# ---- build the app and the GPU tests only; keep going past errors
if [ -f "$BUILD/build.ninja" ]; then
  if ! step build 300 cmake --build "$BUILD" -j "$(nproc)" --target condenser condenser_gpu_tests -- -k 0; then
    echo "---- first build errors:"
    grep -m1 -B2 -A12 -E "error:|Error [0-9]|undefined reference" "$OUT/build.log"
    echo "---- every error line (first 30):"
    grep -E "error:|undefined reference|Error [0-9]" "$OUT/build.log" | head -30
  fi
fi
APP=$BUILD/app/condenser

# ---- GPU tests (skips would mean the GPU was not seen: counted below)
if [ -x "$BUILD/tests/gpu/condenser_gpu_tests" ]; then
  step ctest_gpu 240 bash -c "cd '$BUILD' && ctest -L gpu -j 4 --timeout 200 --output-on-failure --output-junit '$OUT/ctest-gpu.xml'"
  grep -E "\*\*\*(Failed|Skipped|Timeout|Exception)|Not Run" "$OUT/ctest_gpu.log" | head -30
  note "ctest -L gpu: $(grep -E 'tests passed|tests failed' "$OUT/ctest_gpu.log" | tail -1); skipped: $(grep -c '\*\*\*Skipped' "$OUT/ctest_gpu.log")"
  grep -E "top-1 agreement|validation accuracy after" "$OUT/ctest_gpu.log" | head -4
  # A backtrace of the first crashing GPU test, if any (one run must teach the most).
  crash=$(grep -m1 -oE "gpu\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+ \.+\*\*\*Exception: (SegFault|Subprocess aborted|Illegal)" "$OUT/ctest_gpu.log" | awk '{print $1}')
  if [ -n "$crash" ] && command -v gdb >/dev/null; then
    note "backtrace of $crash: gdb.log"
    timeout 90 gdb -batch -ex run -ex bt --args "$BUILD/tests/gpu/condenser_gpu_tests" --gtest_filter="${crash#gpu.}" \
      > "$OUT/gdb.log" 2>&1
    grep -E "^#|signal" "$OUT/gdb.log" | head -25
  fi
else
  note "ctest_gpu: NOT RUN (no test binary)"; failed=1
fi

# ---- GPU benchmarks
if [ -x "$APP" ]; then
  mkdir -p "$WORK"
  step bench_gpu 180 env CONDENSER_BENCH_DATA="$DATA" "$APP" bench gpu --repeats 3 --out "$WORK/bench"
  tail -14 "$OUT/bench_gpu.log"
  [ -f "$WORK/bench/gpu.json" ] && cp "$WORK/bench/gpu.json" "$OUT/bench-gpu.json"

  # ---- the quick job on CUDA (run directory outside $OUT: only JSON comes back)
  rm -rf "$WORK/quick-cuda" "$WORK/quick-bf16"
  step quick_job_cuda 150 "$APP" run configs/quick.yaml runtime.device=cuda data.path="$DATA" --run-dir "$WORK/quick-cuda"
  tail -14 "$OUT/quick_job_cuda.log"
  step quick_job_bf16_teacher 90 "$APP" run configs/quick.yaml runtime.device=cuda teacher.precision=bf16 \
    teacher.train.epochs=1 student.train.epochs=1 prune.enabled=false data.path="$DATA" --run-dir "$WORK/quick-bf16"
  tail -4 "$OUT/quick_job_bf16_teacher.log"
  for f in quick-cuda/export/metrics.json quick-cuda/summary.json quick-bf16/summary.json; do
    [ -f "$WORK/$f" ] && cp "$WORK/$f" "$OUT/${f//\//_}"
  done
else
  note "bench_gpu, quick jobs: NOT RUN (no condenser binary)"; failed=1
fi

# ---- bench/results-gpu.json: the machine, every step's result, the bench
STEPS=$(printf '%s\n' "${summary[@]}")
GPU="$GPU" TORCH_INFO="$TORCH_INFO" STEPS="$STEPS" python3 - "$OUT/bench-gpu.json" "$ROOT/bench/results-gpu.json" > "$OUT/bench-summary.txt" <<'EOF'
import json, os, sys, time
bench = None
if os.path.exists(sys.argv[1]):
    with open(sys.argv[1]) as f:
        bench = json.load(f)
doc = {"gpu": os.environ["GPU"], "torch": os.environ["TORCH_INFO"],
       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
       "steps": os.environ["STEPS"].splitlines(), "bench_gpu": bench}
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=2)
if bench:
    for name, r in bench.get("ratios", {}).items():
        print("== ratio %s = %.3f (goal >= %.2f): %s" % (name, r["value"], r["goal"],
              "meets goal" if r["met"] else "MISSES goal"))
    for c in bench.get("results", []):
        print("== %s: ours %.4g, bare %.4g %s; TFLOP/s ours %.3g, bare %.3g" % (c["case"],
              c["ours"], c["baseline"], c["unit"], c.get("ours_tflops", 0), c.get("baseline_tflops", 0)))
else:
    print("== bench gpu: no results")
EOF
cp "$ROOT/bench/results-gpu.json" "$OUT/results-gpu.json" 2>/dev/null

echo
echo "==== gpu-check summary ($(( $(date +%s) - DEADLINE + ${GPU_CHECK_DEADLINE_S:-480} )) s)"
printf '%s\n' "${summary[@]}"
cat "$OUT/bench-summary.txt" 2>/dev/null
exit $failed
