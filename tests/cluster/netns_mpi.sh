#!/usr/bin/env bash
# A data-parallel job on two emulated nodes: mpirun in node 1 starts one rank
# in node 2 and one in node 3 through netns_rsh.sh (Open MPI's remote-shell
# agent: `ip netns exec` instead of ssh), Open MPI's daemons and the ranks'
# collectives over TCP on the nodes' links only (no shared-memory transport).
# Rank 0's coordinator binds every interface and advertises its host name;
# rank 1 reaches it by that name from the other node. Checks that the job
# trained data-parallel over 2 ranks (rank 0 alone wrote the run directory,
# each epoch ceil(train / (2 x batch)) steps), finished and labelled every
# (sample, view) exactly once. Root only; skips where namespaces cannot be
# made or Open MPI is missing.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/netns_common.sh"
command -v mpirun >/dev/null || skip "no mpirun (Open MPI) on PATH"

make_nodes 3
name_nodes
code=0
mpirun_nodes node2:1,node3:1 -x CONDENSER_COLLECTIVE_TIMEOUT_S=60 \
  "$CONDENSER" run "$TINY" data.path="$DATA" --run-dir "$WORK/run" runtime.threads=1 \
  soft_labels.shard_rows=100 >mpi.log 2>&1 || code=$?
[ "$code" = 0 ] || fail "mpirun across nodes 2 and 3 exited $code"
grep -aq "data-parallel over 2 ranks (mpi)" mpi.log || fail "the job did not run data-parallel over 2 ranks"
grep -aq "coordinator: worker [0-9]* (rank-1, pid [0-9]*) joined from $NET.3:" mpi.log ||
  fail "rank 1 (node 3) did not join rank 0's coordinator over its link"
echo "ok: 2 ranks on nodes 2 and 3; rank 1 joined rank 0's coordinator from $NET.3"

"$PYTHON" "$HERE/netns_check_mpi.py" "$WORK/run" 2
"$PYTHON" "$HERE/netns_check.py" "$WORK/run"
