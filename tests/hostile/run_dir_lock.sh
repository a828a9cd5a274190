# One job per run directory. A second job gets exit 2 naming the
# holder's pid; a run refused because its config differs from the
# checkpoint's does not rewrite config.resolved.yaml, so the first job's
# model card states its own alpha.
source "$(dirname "$0")/common.sh"
export -f tiny  # expect runs its command in a child bash

run="$WORK/run"
(CONDENSER_FAULT=after_stage:teacher exec "$CONDENSER" run "$TINY" data.path="$DATA" \
   student.alpha=0.7 --run-dir "$run" > killed.log 2>&1) && fail "the fault did not kill the job" || true
before=$(cat "$run/config.resolved.yaml")

expect 2 "was made with another config; these keys differ: student.alpha" \
  tiny student.alpha=0.25 --run-dir "$run"
[ "$(cat "$run/config.resolved.yaml")" = "$before" ] || fail "a refused run rewrote config.resolved.yaml"

# The resume holds the lock for its whole life; a second job is refused.
"$CONDENSER" run "$TINY" data.path="$DATA" student.alpha=0.7 --run-dir "$run" > resumed.log 2>&1 &
first=$!
for _ in $(seq 1 600); do
  [ "$(cat "$run/job.lock" 2>/dev/null)" = "$first" ] && break
  sleep 0.05
done
[ "$(cat "$run/job.lock")" = "$first" ] || fail "the job did not take job.lock"
expect 2 "in use by another condenser job \(pid $first\)" tiny student.alpha=0.7 --run-dir "$run"
expect 2 "in use by another condenser job \(pid $first\)" tiny student.alpha=0.25 --run-dir "$run" \
  --resume none
wait "$first" || { tail -20 resumed.log; fail "the first job failed"; }
[ "$(cat "$run/config.resolved.yaml")" = "$before" ] || fail "config.resolved.yaml was rewritten"
grep -q "alpha = 0.7" "$run/export/README.md" || fail "the model card lost the job's alpha"
grep -q "alpha = 0.25" "$run/export/README.md" && fail "the model card states a refused run's alpha"
echo "run directory lock: second job refused with the holder's pid"
