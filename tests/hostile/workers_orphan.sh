# A local worker outlived its job (kill -9 of the job, or two
# Ctrl-Cs) holding the coordinator's ports and reconnecting past its give-up
# time. Now it dies with the job, inherits no port, and gives up on time.
# Also (journal containment): tampered records naming ../../victim.txt or
# a task out of range in the dead job's task journal touch nothing on resume.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/workers_common.sh"

# kill -9 of the job while its worker labels.
"${SLOW_JOB[@]}" --run-dir "$WORK/run" >job1.log 2>&1 &
job=$!
wait_for 180 "the local worker to label" grep -q "worker: labelling" job1.log
worker=$(worker_of "$job")
[ -n "$worker" ] || fail "no local worker under job $job"
read -r control http <<<"$(ports "$WORK/run" | tr '\n' ' ')"
kill -9 "$job"
wait "$job" || true
wait_for 5 "worker $worker to exit after its job was killed" gone "$worker"
wait_for 5 "control port $control to close" port_closed "$control"
wait_for 5 "HTTP port $http to close" port_closed "$http"
echo "ok: worker $worker gone, ports $control and $http closed after kill -9 of the job"

# The dead job's task journal, tampered: records with valid checksums that
# name a task out of range and a path instead of a task.
echo "keep me" >"$WORK/victim.txt"
[ -f "$WORK/run/tasks.journal" ] || fail "no tasks.journal after kill -9 while labelling"
"$PYTHON" - "$WORK/run/tasks.journal" <<'PY'
import sys, zlib
def record(payload):
    return b"%08x %s\n" % (zlib.crc32(payload), payload)
with open(sys.argv[1], "ab") as f:
    f.write(record(b"L 999999 999999 1"))
    f.write(record(b"L 999998 ../../victim.txt 1"))
PY
"${SLOW_JOB[@]}" --run-dir "$WORK/run" --resume auto >resume.log 2>&1 || { cat resume.log; fail "resume failed"; }
[ "$(cat "$WORK/victim.txt" 2>/dev/null)" = "keep me" ] || fail "victim.txt was moved or changed"
grep -q "not understood" resume.log || fail "a tampered journal record was trusted"
labelled_once "$WORK/run"
echo "ok: tampered tasks.journal records not trusted, victim.txt untouched, job finished"

# Two Ctrl-Cs: the job exits at once (130); its worker goes with it.
"${SLOW_JOB[@]}" --run-dir "$WORK/run2" >job2.log 2>&1 &
job=$!
wait_for 120 "the local worker to label" grep -q "worker: labelling" job2.log
worker=$(worker_of "$job")
[ -n "$worker" ] || fail "no local worker under job $job"
read -r control http <<<"$(ports "$WORK/run2" | tr '\n' ' ')"
kill -INT "$job"
sleep 0.3
kill -INT "$job"
code=0
wait "$job" || code=$?
[ "$code" = 130 ] || { cat job2.log; fail "two SIGINTs: exit $code, expected 130"; }
wait_for 5 "worker $worker to exit after two SIGINTs" gone "$worker"
wait_for 5 "control port $control to close" port_closed "$control"
echo "ok: two SIGINTs: exit 130, worker $worker gone, port $control closed"

# A port that accepts and never answers: the worker gives up on time.
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(60)' >mute.port &
mute=$!
wait_for 10 "the mute listener" test -s mute.port
start=$SECONDS
expect 1 "gave up on coordinator" timeout 30 "$CONDENSER" worker --coordinator \
  "127.0.0.1:$(cat mute.port)" --token-file "$WORK/run/job.token" --give-up-after 2
[ $((SECONDS - start)) -le 12 ] || fail "the worker took $((SECONDS - start)) s to give up after 2 s"
echo "ok: gave up within $((SECONDS - start)) s"
