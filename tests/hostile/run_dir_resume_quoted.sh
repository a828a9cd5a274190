# The resume command printed after a graceful stop is shell-quoted;
# pasted back as is, it resumes a run directory with spaces and quotes.
source "$(dirname "$0")/common.sh"
export -f tiny  # expect runs its command in a child bash

run="$WORK/my run's \"dir\""
"$CONDENSER" run "$TINY" data.path="$DATA" 'name=tiny job' --run-dir "$run" > stopped.log 2>&1 &
job=$!
bash "$(dirname "$0")/../e2e/signal_after_checkpoint.sh" TERM "$job" "$run"
wait "$job" || { cat stopped.log; fail "the stopped job did not exit 0"; }
cmd=$(grep -A1 "Resume with:" stopped.log | tail -1)
[ -n "$cmd" ] || { cat stopped.log; fail "no resume command printed"; }
echo "printed: $cmd"
condenser() { "$CONDENSER" "$@"; }
eval "$cmd" > resumed.log 2>&1 || { cat resumed.log; fail "the pasted resume command failed"; }
grep -q "resume: from" resumed.log || fail "the pasted command did not resume"
grep -q '"finished": true' "$run/summary.json" || fail "the resumed run did not finish"
echo "resume command: pasted back, it resumed"
