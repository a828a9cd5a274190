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
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
code=0
on_node 1 timeout 150 mpirun -n 2 --host node2:1,node3:1 --mca plm_rsh_agent "$HERE/netns_rsh.sh" \
  --mca oob_tcp_if_include "$NET.0/24" --mca btl tcp,self --mca btl_tcp_if_include "$NET.0/24" \
  -x CONDENSER_COLLECTIVE_TIMEOUT_S=60 \
  "$CONDENSER" run "$TINY" data.path="$DATA" --run-dir "$WORK/run" runtime.threads=1 \
  soft_labels.shard_rows=100 >mpi.log 2>&1 || code=$?
[ "$code" = 0 ] || fail "mpirun across nodes 2 and 3 exited $code"
grep -aq "data-parallel over 2 ranks (mpi)" mpi.log || fail "the job did not run data-parallel over 2 ranks"
grep -aq "coordinator: worker [0-9]* (rank-1, pid [0-9]*) joined from $NET.3:" mpi.log ||
  fail "rank 1 (node 3) did not join rank 0's coordinator over its link"
echo "ok: 2 ranks on nodes 2 and 3; rank 1 joined rank 0's coordinator from $NET.3"

"$PYTHON" - "$WORK/run" <<'PY'
import json, math, os, sys
import yaml
run = sys.argv[1]
config = yaml.safe_load(open(os.path.join(run, "config.resolved.yaml")))
train = config["data"]["train_subset"]
epochs = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if '"train_loss"' in l]
stages = [r["stage"] for r in epochs]
if stages != ["teacher", "control", "distill", "prune"]:
    sys.exit("FAIL: epoch records %s: written by more than rank 0?" % stages)
for r in epochs:
    section = config["prune"]["finetune"] if r["stage"] == "prune" else config[
        "student" if r["stage"] in ("control", "distill") else "teacher"]["train"]
    steps = math.ceil(train / (2 * section["batch_size"]))
    if r["step"] != steps:
        sys.exit("FAIL: %s: %d steps, expected %d at world 2" % (r["stage"], r["step"], steps))
summary = json.load(open(os.path.join(run, "summary.json")))
if not summary["finished"] or summary["teacher_forward_samples"] != train:
    sys.exit("FAIL: summary.json: finished %s, %s teacher forward samples"
             % (summary["finished"], summary["teacher_forward_samples"]))
for name in ("student.pt", "metrics.json", "README.md", "report.html"):
    if os.path.getsize(os.path.join(run, "export", name)) == 0:
        sys.exit("FAIL: export/%s is empty" % name)
print("ok: world 2, steps per epoch %s, job finished and exported"
      % [r["step"] for r in epochs])
PY
"$PYTHON" "$HERE/netns_check.py" "$WORK/run"
