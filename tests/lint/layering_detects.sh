#!/usr/bin/env bash
# The layering check must fail on a wrong include, naming the file and line:
# a copy of the tree gets one include that data/ may not use.
set -euo pipefail
src=$1 python=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs"
cp "$src/docs/architecture.md" "$tmp/docs/"
for d in core config protocol cluster data trainers worker report export coordinator bench app; do
  cp -r "$src/$d" "$tmp/$d"
done
"$python" "$src/scripts/check-layering.py" "$tmp" > "$tmp/clean.txt" || {
  cat "$tmp/clean.txt"; echo "FAIL: the copied tree should pass"; exit 1; }
printf '#pragma once\n// deliberately wrong\n#include "coordinator/stages/job.h"\n' > "$tmp/data/wrong_layer.h"
if "$python" "$src/scripts/check-layering.py" "$tmp" > "$tmp/out.txt"; then
  echo "FAIL: a data/ file including coordinator/stages/ passed the check"; exit 1
fi
grep -q '^data/wrong_layer.h:3: includes "coordinator/stages/job.h"' "$tmp/out.txt" || {
  cat "$tmp/out.txt"; echo "FAIL: the message does not name data/wrong_layer.h:3"; exit 1; }
echo "ok: the wrong include was refused: $(head -n1 "$tmp/out.txt")"
