# One Ctrl-C in the terminal (SIGINT to the job's whole process
# group) killed the local worker and the job ended with exit 1. Now the
# worker leaves the Ctrl-C to the job, which stops gracefully as a SIGINT
# to it alone does: checkpoint, the resume command, exit 0; and the resumed
# job finishes.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/workers_common.sh"

set -m  # the job gets its own process group, as in a terminal
"${SLOW_JOB[@]}" --run-dir "$WORK/run" >job.log 2>&1 &
job=$!
set +m
wait_for 180 "the local worker to label" grep -q "worker: labelling" job.log
worker=$(worker_of "$job")
[ -n "$worker" ] || fail "no local worker under job $job"
[ "$(ps -o pgid= -p "$worker" | tr -d ' ')" = "$job" ] || fail "the worker is not in the job's group"
kill -INT -- "-$job"
code=0
wait "$job" || code=$?
[ "$code" = 0 ] || { cat job.log; fail "Ctrl-C: exit $code, expected 0"; }
grep -q "Resume with:" job.log || { cat job.log; fail "no resume command"; }
grep -q "killed by signal" job.log && { cat job.log; fail "the worker died of the Ctrl-C"; }
gone "$worker" || fail "worker $worker still runs"
echo "ok: Ctrl-C to the group: exit 0 with the resume command"
"${SLOW_JOB[@]}" --run-dir "$WORK/run" --resume auto >resume.log 2>&1 || { cat resume.log; fail "resume failed"; }
grep -q "results:" resume.log || { cat resume.log; fail "the resumed job did not finish"; }
labelled_once "$WORK/run"
echo "ok: resumed and finished"
