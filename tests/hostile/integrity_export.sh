# The export. A job killed during its export is not taken
# for a finished run: the next run only exports again (no training). A full
# disk during the export (a small tmpfs on RUN_DIR/export; root only) ends
# with one line naming the cause, no *.tmp left, summary.json not finished;
# freeing the space and running again finishes. `condenser export --out` onto
# a full or read-only disk fails the same way; a student with a NaN weight is
# not exported (exit 2).
source "$(dirname "$0")/common.sh"

run="$WORK/run"
finished() { "$PYTHON" -c "import json,sys; sys.exit(0 if json.load(open('$run/summary.json')).get('finished') else 1)"; }

(CONDENSER_FAULT=in_export:student.pt exec "$CONDENSER" run "$TINY" data.path="$DATA" \
   --run-dir "$run" > killed.log 2>&1) && fail "the fault did not kill the export" || true
finished && fail "a job killed during its export says finished"

mnt="$run/export"
if [ "$(id -u)" = 0 ]; then
  cleanup() { mountpoint -q "$mnt" && umount "$mnt" || true; mountpoint -q "$WORK/full" && umount "$WORK/full" || true; }
  trap cleanup EXIT
  rm -rf "$mnt" && mkdir -p "$mnt" "$WORK/full"
  # Room for student.pt (173 KB), not for student_int8.pt (60 KB): the write
  # that used to abort the process (exit 134) from inside LibTorch.
  mount -t tmpfs -o size=200k tmpfs "$mnt"
  expect 1 "cannot write '$mnt/student_int8.pt.tmp': No space left on device; free space" \
    "$CONDENSER" run "$TINY" data.path="$DATA" --run-dir "$run"
  ls -A "$mnt" | grep -q '\.tmp$' && { ls -la "$mnt"; fail "the failed export left a .tmp"; }
  finished && fail "a failed export says finished"
  umount "$mnt"

  # `condenser export` onto a full disk: the same one line, nothing left.
  mount -t tmpfs -o size=32k tmpfs "$WORK/full"
  tiny --run-dir "$run" > resumed.log 2>&1 || { tail -20 resumed.log; fail "the resume failed"; }
  expect 1 "No space left on device" "$CONDENSER" export "$run" --out "$WORK/full"
  [ -z "$(ls -A "$WORK/full" | grep '\.tmp$')" ] || fail "condenser export left a .tmp"
  umount "$WORK/full"
  # A read-only file system: the cause and what to do, nothing written.
  mount -t tmpfs -o size=1m,ro tmpfs "$WORK/full"
  expect 1 "Read-only file system; the file system is read-only" \
    "$CONDENSER" export "$run" --out "$WORK/full"
else
  echo "skipped the full-disk part: mounting a tmpfs needs root"
  tiny --run-dir "$run" > resumed.log 2>&1 || { tail -20 resumed.log; fail "the resume failed"; }
fi

# The resume only exported: no training step, no labelling.
grep -q "resume: from .*(stage prune, done" resumed.log || { grep resume resumed.log; fail "not resumed from the last stage end"; }
grep -Eq "(teacher|distill|prune) epoch [0-9]+:" resumed.log && fail "the resume trained again"
grep -q "label: reusing 2 verified shard(s), labelling 0" resumed.log || fail "the resume labelled again"
finished || fail "the resumed run is not finished"
for f in student.pt metrics.json README.md report.html; do
  [ -s "$run/export/$f" ] || fail "export/$f missing"
done
ls "$run/export" | grep -q '\.tmp$' && fail "a .tmp is left in export/"
# A student whose weights went NaN is not exported (exit 2, one line).
"$PYTHON" - "$run/models/student_final.pt" "$WORK/nan_student.pt" <<'PY'
import sys, torch
m = torch.jit.load(sys.argv[1])
with torch.no_grad():
    next(iter(m.parameters())).view(-1)[0] = float("nan")
torch.jit.save(m, sys.argv[2])
PY
cp "$WORK/nan_student.pt" "$run/models/student_final.pt"
expect 2 "condenser: error: the student '.*student_final.pt' has non-finite weights" \
  "$CONDENSER" export "$run" --out "$WORK/nan_export"
[ -e "$WORK/nan_export/student.pt" ] && fail "a NaN student was exported"
echo "export: killed or out of space, never finished; the next run only exports"
