#!/usr/bin/env bash
# Builds the protocol fuzzer with clang (CMake option CONDENSER_FUZZ) and runs
# it for RUNS executions (default 1,000,000) from a small seed corpus of valid
# conversations. Usage: scripts/fuzz-protocol.sh [RUNS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
build=${2:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCONDENSER_FUZZ=ON -DCONDENSER_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target condenser_fuzz_protocol
corpus="$build/fuzz-corpus"
mkdir -p "$corpus"
# Seeds: control byte + frame(s): hello, get_task, heartbeat, task_done, ...
/usr/bin/python3 - "$corpus" <<'PY'
import json, os, struct, sys
def frame(kind, body, version=1):
    p = json.dumps(body).encode()
    return struct.pack(">IBB", len(p) + 2, version, kind) + p
hello = frame(1, {"token": "0123456789abcdef0123456789abcdef", "name": "w", "pid": 1})
seeds = {
    "hello": b"\x00" + hello,
    "work": b"\x00" + hello + b"\x00" + frame(4, {}) + b"\x00" + frame(8, {"leases": [1]})
            + b"\x00" + frame(9, {"lease": 1, "rows": 4, "attempt_file": ".attempt-000001-shard-000000.h5"})
            + b"\x00" + frame(4, {}),
    "two": b"\x00" + hello + b"\x80" + hello + b"\x00" + frame(4, {}) + b"\x80" + frame(4, {})
           + b"\x40" + b"\x9f" + frame(4, {}) + b"\x00" + frame(9, {"lease": 1, "rows": 13}),
    "wrong_token": b"\x00" + frame(1, {"token": "0123456789abcdef0123456789abcdef0"}),
    "bad_version": b"\x00" + frame(1, {}, version=2),
}
for name, data in seeds.items():
    open(os.path.join(sys.argv[1], name), "wb").write(data)
PY
"$build/tests/fuzz/condenser_fuzz_protocol" -runs="$runs" -max_len=4096 -print_final_stats=1 \
  "$corpus" 2>&1 | grep -E "^#|stat::|ERROR|SUMMARY|Done" | tail -8
