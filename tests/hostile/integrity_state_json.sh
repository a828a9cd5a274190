# state.json is covered by its own checksum. A one-digit change to
# cursor.epoch, a state that is `[]` or lacks its cursor: `inspect
# checkpoint` names the file as BAD (exit 1, no JSON exception), and the
# resume skips that checkpoint with a warning and carries on from the
# previous one to a finished run.
source "$(dirname "$0")/common.sh"

run="$WORK/run"
# Killed in the distill stage: checkpoints at the teacher's end and at steps.
(CONDENSER_FAULT=after_stage:distill exec "$CONDENSER" run "$TINY" data.path="$DATA" \
   checkpoint.every_steps=5 checkpoint.keep_last=10 --run-dir "$run" > killed.log 2>&1) && fail "the fault did not kill the job" || true
mapfile -t steps < <(ls -1 "$run/checkpoints" | grep '^step-' | sort -r)
[ "${#steps[@]}" -ge 4 ] || fail "expected at least 4 checkpoints, got: ${steps[*]}"
newest="$run/checkpoints/${steps[0]}" second="$run/checkpoints/${steps[1]}"
third="$run/checkpoints/${steps[2]}"
"$CONDENSER" inspect checkpoint "$run" > inspect_ok.log || fail "untouched checkpoints are not ok"

# A one-digit edit of the cursor (the file stays valid JSON).
"$PYTHON" - "$newest/state.json" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
s["cursor"]["epoch"] = s["cursor"]["epoch"] + 1
json.dump(s, open(p, "w"), indent=1)
PY
echo '[]' > "$second/state.json"
"$PYTHON" - "$third/state.json" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
del s["cursor"]
json.dump(s, open(p, "w"), indent=1)
PY

expect 1 "${steps[0]}: BAD: checkpoint file '.*state.json' fails its SHA-256 check" \
  "$CONDENSER" inspect checkpoint "$run"
expect 1 "${steps[1]}: BAD: checkpoint file '.*state.json' has no checksum" \
  "$CONDENSER" inspect checkpoint "$run"
expect 1 "${steps[2]}: BAD: checkpoint file '.*state.json' fails its SHA-256 check" \
  "$CONDENSER" inspect checkpoint "$run"
expect 1 "BAD: checkpoint file '.*state.json' fails its SHA-256 check" \
  "$CONDENSER" inspect checkpoint "$newest"

# The resume warns about each and carries on from the newest good one.
tiny checkpoint.every_steps=5 checkpoint.keep_last=10 --run-dir "$run" > resumed.log 2>&1 || { tail -20 resumed.log; fail "the resume failed"; }
for s in "${steps[@]:0:3}"; do
  grep -q "resume: skipping checkpoint $s: checkpoint file .*state.json" resumed.log \
    || { grep -i "resume" resumed.log; fail "no warning for $s"; }
done
grep -q "resume: from $run/checkpoints/${steps[3]}" resumed.log \
  || { grep "resume" resumed.log; fail "did not resume from ${steps[3]}"; }
grep -Eq "terminate called|json.exception" resumed.log && fail "a raw exception in the log"
"$PYTHON" -c "import json,sys; sys.exit(0 if json.load(open('$run/summary.json'))['finished'] else 1)" \
  || fail "the resumed run did not finish"
echo "state.json: tampered, [] and cursor-less states refused, resumed from ${steps[3]}"
