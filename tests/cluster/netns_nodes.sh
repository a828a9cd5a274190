#!/usr/bin/env bash
# A labelling job across three emulated nodes (network namespaces on one
# bridge): `condenser coordinator` in node 1 listens on 10.77.0.1, workers in
# nodes 2 and 3 join over their links with the job token. Mid-labelling node
# 3's link is cut: its lease must expire and its task go to node 2's worker;
# when the link returns, node 3's late completion of that lease must be
# refused and its attempt file removed; the job must finish with every
# (sample, view) in exactly one shard. Root only; skips (exit 0, "skipped:")
# where namespaces cannot be made.
#
# Node 2 is a node without the shared file system: its worker runs in its
# own mount namespace with the run directory hidden under an empty tmpfs,
# its own copies of the token and the teacher, and sends each shard over its
# connection (--upload); the task taken from node 3 is committed from it.
#
# Timing does not decide the outcome: a stand-in worker (netns_lease_holder.py)
# holds one lease until the test releases it, so labelling cannot end before
# node 3 is back, however fast or slow this machine is.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/netns_common.sh"

make_nodes 3
CONTROL=$NET.1:7000
HTTP=$NET.1:7001

# A teacher slow enough (~0.3 s a task) that node 3 is mid-task when cut.
"$PYTHON" "$HERE/../hostile/workers_teacher.py" "$WORK/teacher.pt" 128
on_node 1 "$CONDENSER" coordinator "$TINY" data.path="$DATA" teacher.path="$WORK/teacher.pt" \
  soft_labels.shard_rows=50 soft_labels.batch_size=25 soft_labels.views_per_sample=2 \
  --run-dir "$WORK/run" --listen "$CONTROL" --http "$HTTP" --local-workers 0 \
  --lease-ms 2000 --read-timeout-ms 3000 >coord.log 2>&1 &
coord=$!
wait_for 90 "the coordinator to serve" grep -qs "coordinator: control $CONTROL" coord.log
grep -q "\"control\":\"$CONTROL\"" run/coordinator.json || fail "coordinator.json: $(cat run/coordinator.json)"

# The holder first, so it holds a lease before the workers take the rest.
on_node 2 "$PYTHON" "$HERE/netns_lease_holder.py" "$CONTROL" run/job.token "$WORK/release" \
  >holder.log 2>&1 &
holder=$!
wait_for 20 "the lease holder to hold a lease" grep -qs "holding lease" holder.log
worker() { # worker I: a `condenser worker` in node I, log wI.log
  on_node "$1" "$CONDENSER" worker --coordinator "$CONTROL" --token-file run/job.token \
    --threads 1 --name "node$1" --give-up-after 120 >"w$1.log" 2>&1
}
# upload_worker: node 2's worker, which cannot see run/ (checked before it starts).
upload_worker() {
  mkdir -p node2 && cp run/job.token "$WORK/teacher.pt" node2/
  on_node 2 unshare --mount sh -c 'mount -t tmpfs none "$1/run" && [ ! -e "$1/run/job.token" ] &&
    exec "$2" worker --coordinator "$3" --token-file "$1/node2/job.token" --threads 1 \
      --name node2 --give-up-after 120 --upload "$1/node2/shards" --teacher "$1/node2/teacher.pt"' \
    sh "$WORK" "$CONDENSER" "$CONTROL" >w2.log 2>&1
}
# Node 3's worker first, so it surely labels twice before the cut.
worker 3 &
w3=$!
wait_for 60 "node 3's worker to label" grep -qs "worker: labelling" w3.log
grep -q "(node3, pid .*) joined from $NET.3:" coord.log || fail "node 3 did not join from $NET.3"
upload_worker &
w2=$!
wait_for 60 "node 2's worker to join" grep -q "(node2, pid .*) joined from $NET.2:" coord.log
w2_id=$(sed -n 's/.*coordinator: worker \([0-9]*\) (node2, pid .*/\1/p' coord.log | head -1)

# Cut node 3 while it labels (its second task, so the link has carried a commit).
labelled_twice() { [ "$(grep -c 'worker: labelling' w3.log)" -ge 2 ]; }
wait_for 60 "node 3 to label twice" labelled_twice
link_down 3
cut=$(date +%s.%N)
reaches 3 "$NET.1" && fail "node 3 still reaches node 1 with its link down"
echo "ok: node 3's link cut while it labels"

# Its lease expires: the last lease node 3 took (it can take no other now).
wait_for 30 "a lease to expire" grep -q "coordinator: lease [0-9]* of task [0-9]* expired" coord.log
line=$(grep "worker: labelling" w3.log | tail -1)
lease=$(sed -n 's/.*(lease \([0-9]*\)).*/\1/p' <<<"$line")
file=$(sed -n 's/.*labelling \([^ ]*\) .*/\1/p' <<<"$line")
wait_for 30 "node 3's lease $lease to expire" grep -q "coordinator: lease $lease of task [0-9]* expired" coord.log
echo "ok: node 3's lease $lease ($file) expired ($(since "$cut") s after the cut)"

# ... and its task is labelled again by node 2's worker and committed.
wait_for 60 "$file to be committed by node 2" grep -q "committed $file from worker $w2_id " coord.log
grep -q "labelling $file .*(lease [0-9]*)" w2.log || fail "node 2's worker did not label $file"
grep -q "(node2, pid .*) joined from $NET.2:.*uploading its shards" coord.log ||
  fail "node 2's worker did not say it uploads"
echo "ok: $file reassigned to node 2 (worker $w2_id) and committed ($(since "$cut") s after the cut)"

# The coordinator's HTTP side answers over the links: /metrics from node 2.
metrics=$(http_get 2 "http://$HTTP/metrics") || fail "GET /metrics from node 2 failed"
expired=$(sed -n 's/^condenser_leases_expired_total \([0-9]*\)$/\1/p' <<<"$metrics")
[ "${expired:-0}" -ge 1 ] || fail "/metrics shows ${expired:-no} expired leases"
http_get 1 "http://$HTTP/status" | grep -q '"workers"' ||
  fail "GET /status from node 1 failed"
echo "ok: /metrics from node 2 counts $expired expired lease(s); /status answers in node 1"

# The link returns: node 3's late completion of lease $lease is refused.
link_up 3
back=$(date +%s.%N)
wait_for 60 "the late completion of lease $lease to be refused" \
  grep -q "discarded a late completion of lease $lease " coord.log
wait_for 10 "node 3 to hear the refusal" grep -q "task not committed: lease expired" w3.log
[ "$(grep -c "committed $file from worker" coord.log)" = 1 ] || fail "$file was committed twice"
metrics=$(http_get 3 "http://$HTTP/metrics") || fail "GET /metrics from node 3 failed"
stale=$(sed -n 's/^condenser_completions_stale_total \([0-9]*\)$/\1/p' <<<"$metrics")
[ "${stale:-0}" -ge 1 ] || fail "/metrics shows ${stale:-no} stale completions"
echo "ok: node 3's late commit of lease $lease refused $(since "$back") s after its link returned ($stale stale)"

# Let the job finish: the held task goes back to pending for a real worker.
touch "$WORK/release"
wait_for 30 "the lease holder to let go" gone "$holder"
wait "$holder" || fail "the lease holder failed"
finished() { # finished PID NAME: PID exited 0
  local code=0
  wait_for 120 "$2 to finish" gone "$1"
  wait "$1" || code=$?
  [ "$code" = 0 ] || fail "$2 exited $code"
}
finished "$coord" "the coordinator's job"
finished "$w2" "node 2's worker"
finished "$w3" "node 3's worker"
for w in 2 3; do
  grep -q "no more work; exiting" "w$w.log" || fail "node $w's worker did not hear the job was labelled"
done
echo "ok: job finished; both workers exited 0"
uploaded=$(grep -c "worker: uploaded .attempt-" w2.log || true)
[ "$uploaded" -ge 1 ] || fail "node 2's worker uploaded nothing"
[ -z "$(ls -A node2/shards)" ] || fail "node 2 kept shard files: $(ls -A node2/shards)"
echo "ok: node 2, without the run directory, uploaded $uploaded shard(s) over its link"

"$PYTHON" "$HERE/netns_check.py" "$WORK/run" "$file" node2
