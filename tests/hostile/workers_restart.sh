# With the default single local worker, a SIGKILL to it ended the
# job ("no local worker is left", exit 1). Now a crashed local worker is
# started again (logged), the job finishes with every sample labelled
# exactly once; restarts are bounded (3), then the job fails with exit 1.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/workers_common.sh"

"${SLOW_JOB[@]}" --run-dir "$WORK/run" >job.log 2>&1 &
job=$!
wait_for 180 "the local worker to label" grep -q "worker: labelling" job.log
worker=$(worker_of "$job")
[ -n "$worker" ] || fail "no local worker under job $job"
kill -9 "$worker"
code=0
wait "$job" || code=$?
[ "$code" = 0 ] || { cat job.log; fail "job exited $code after its worker was killed"; }
grep -q "local worker local-0 (pid $worker) killed by signal 9; starting it again (restart 1 of 3)" \
  job.log || { cat job.log; fail "the restart is not logged"; }
labelled_once "$WORK/run"
echo "ok: worker $worker killed, restarted, job finished"

# Bounded: a worker killed four times ends the job with one clear line.
"${SLOW_JOB[@]}" --run-dir "$WORK/run2" >job2.log 2>&1 &
job=$!
last=""
for kill_no in 1 2 3 4; do
  wait_for 120 "a new local worker (kill $kill_no)" \
    bash -c "w=\$(pgrep -P $job -f 'condenser worker' | head -1); [ -n \"\$w\" ] && [ \"\$w\" != '$last' ]"
  last=$(worker_of "$job")
  kill -9 "$last"
done
code=0
wait "$job" || code=$?
[ "$code" = 1 ] || { cat job2.log; fail "job exited $code after 4 worker kills, expected 1"; }
grep -q "no local worker is left (restarts used up" job2.log || { cat job2.log; fail "no clear line"; }
grep -Eq "terminate called|frame #" job2.log && fail "stack trace"
echo "ok: four kills: exit 1, $(grep -o 'labelling stopped.*' job2.log | head -1)"
