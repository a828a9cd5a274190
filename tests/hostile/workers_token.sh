# A pre-existing empty job.token (mode 0644) was kept and a hello
# with an empty token got a lease. Now an empty, short or group/world
# readable token file is refused with exit 2 naming it and the fix, and left
# as it is; a deleted one is created again, private and random. (The empty
# hello itself: tests/coordinator/control/control_handler_test.cpp.)
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/workers_common.sh"

# An unfinished run directory: a job killed while it labels.
"${SLOW_JOB[@]}" --run-dir "$WORK/run" >job.log 2>&1 &
job=$!
wait_for 180 "the local worker to label" grep -q "worker: labelling" job.log
kill -9 "$job"
wait "$job" || true
token="$WORK/run/job.token"

: >"$token" && chmod 644 "$token"
expect 2 "job token '.*job.token' is empty; delete it" "${SLOW_JOB[@]}" --run-dir "$WORK/run" --resume auto
[ ! -s "$token" ] && [ "$(stat -c %a "$token")" = 644 ] || fail "the empty token file was changed"
expect 2 "job token '.*' is empty" "$CONDENSER" worker --coordinator 127.0.0.1:9 --token-file "$token"

echo abc >"$token" && chmod 600 "$token"
expect 2 "job token '.*job.token' is not a token \(32 or more hex digits\)" \
  "${SLOW_JOB[@]}" --run-dir "$WORK/run" --resume auto

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token" && chmod 644 "$token"
expect 2 "job token '.*job.token' is readable by others \(mode 0644\); run chmod 600" \
  "${SLOW_JOB[@]}" --run-dir "$WORK/run" --resume auto

rm "$token"
"${SLOW_JOB[@]}" --run-dir "$WORK/run" --resume auto >resume.log 2>&1 || { cat resume.log; fail "resume failed"; }
[ "$(stat -c %a "$token")" = 600 ] || fail "new token mode $(stat -c %a "$token")"
grep -Eq '^[0-9a-f]{64}$' "$token" || fail "new token is not 64 hex digits"
echo "ok: a deleted token is created again, 0600, 256 bits"
