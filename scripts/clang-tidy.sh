#!/usr/bin/env bash
# Runs the checks of .clang-tidy over condenser's sources (not tests/) with the
# build's compile_commands.json. Usage: scripts/clang-tidy.sh [BUILD_DIR] [FILE...]
# (default: build, every source). LibTorch sources take ~20 s each on 2 cores;
# pass files to check a change only. Exit 0 when every check passes.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
[ -f "$build/compile_commands.json" ] || {
  echo "clang-tidy.sh: no $build/compile_commands.json; run make build first" >&2; exit 2; }
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.cpp' | grep -vE '^(tests|cmake)/')
fi
# GCC's precompiled header is unreadable to clang: drop it from a copy of the
# database (every source includes what it uses; the header only saves time).
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
python3 - "$build/compile_commands.json" "$db/compile_commands.json" <<'PY'
import json, re, sys
entries = json.load(open(sys.argv[1]))
for e in entries:
    e["command"] = re.sub(r"\s-include\s+\S*cmake_pch\.hxx|\s-Winvalid-pch", "", e["command"])
json.dump(entries, open(sys.argv[2], "w"))
PY
run-clang-tidy -quiet -p "$db" -j "$(nproc)" "${files[@]/#/$PWD/}" > "$db/out.txt" 2>&1 && rc=0 || rc=$?
grep -vE '^(clang-tidy-14|clang-apply|[0-9]+ warnings? (and [0-9]+ errors? )?generated|Suppressed|Use -header-filter|Running clang-tidy)' "$db/out.txt" || true
echo "clang-tidy.sh: ${#files[@]} file(s), exit $rc"
exit $rc
