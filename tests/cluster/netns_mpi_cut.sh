#!/usr/bin/env bash
# A node lost mid-training, and the job resumed: the data-parallel job of
# netns_mpi.sh (one rank in node 2, one in node 3), node 3's link cut while
# the teacher trains. mpirun must notice the lost node (its daemons'
# keepalives) and end the job, non-zero, within seconds, leaving the
# checkpoints of the epochs done; with the link back, the same command must
# resume from the newest checkpoint and finish with every epoch recorded
# once. Root only; skips where namespaces cannot be made or Open MPI is
# missing.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/netns_common.sh"
command -v mpirun >/dev/null || skip "no mpirun (Open MPI) on PATH"

make_nodes 3
name_nodes
# The collective timeout is longer than mpirun's detection: the node's loss,
# not a rank's timeout, ends the job.
job() {
  mpirun_nodes node2:1,node3:1 -x CONDENSER_COLLECTIVE_TIMEOUT_S=60 \
    "$CONDENSER" run "$TINY" data.path="$DATA" --run-dir "$WORK/run" runtime.threads=1 \
    teacher.train.epochs=8
}
job >cut.log 2>&1 &
mpi=$!
wait_for 120 "the teacher's second epoch" grep -aqs "teacher epoch 2:" cut.log
link_down 3
cut=$(date +%s.%N)
wait_for 60 "mpirun to end the job after node 3 was cut off" gone "$mpi"
code=0
wait "$mpi" || code=$?
[ "$code" != 0 ] || fail "mpirun exited 0 with node 3 cut off"
grep -aq "lost communication with a remote daemon" cut.log || fail "mpirun did not say it lost a node"
grep -aq "Remote daemon: .* on node node3" cut.log || fail "mpirun did not name node3"
[ ! -e "$WORK/run/summary.json" ] || fail "the job finished before the cut"
compgen -G "$WORK/run/checkpoints/step-*" >/dev/null || fail "no checkpoint left by the cut job"
echo "ok: node 3 cut off mid-training; mpirun ended the job (exit $code) $(since "$cut") s later"
node_idle() { [ -z "$(ip netns pids "$(node_ns "$1")")" ]; }
wait_for 15 "rank 0 and its daemon on node 2 to end with the job" node_idle 2

# The node comes back (what ran on it is gone, as after a reboot).
link_up 3
for pid in $(ip netns pids "$(node_ns 3)"); do kill -9 "$pid" 2>/dev/null || true; done
wait_for 10 "node 3 to reach node 1 again" reaches 3 "$NET.1"
code=0
job >resume.log 2>&1 || code=$?
[ "$code" = 0 ] || fail "the resumed job exited $code"
grep -aq "resume: from .*checkpoints/step-" resume.log || fail "the job did not resume from a checkpoint"
echo "ok: $(grep -ao 'resume: from .*checkpoints/step-[0-9]*' resume.log | sed 's|from .*/|from |')"
"$PYTHON" "$HERE/netns_check_mpi.py" "$WORK/run" 2
"$PYTHON" "$HERE/netns_check.py" "$WORK/run"
