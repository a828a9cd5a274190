#!/usr/bin/env bash
# prune_budget_check.sh CONDENSER PYTHON WORK_DIR CONFIG [key=value ...]
# The staged prune schedule under an accuracy budget:
# 1. stages 50% -> 98%: the 98% cut must miss a 5-point budget, be rolled
#    back and retried at half the step; the exported student is the last
#    attempt within the budget (check_prune_budget.py);
# 2. killed right after the missed stage's end, and inside the retry, the
#    resumed job ends with the uninterrupted job's weights;
# 3. a first stage that cannot meet the budget: exit 3, the dense student
#    exported.
set -euo pipefail
bin=$1; python=$2; work=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"; mkdir -p "$work"
hash_of() { "$python" "$here/weights_sha256.py" "$1"; }
stages='prune.stages=[{sparsity: 0.5, epochs: 1}, {sparsity: 0.98, epochs: 1}]'
budget=(budget.enabled=true budget.max_drop=5 budget.max_retries=1 checkpoint.every_steps=5)

"$bin" run "$@" "$stages" "${budget[@]}" --run-dir "$work/reference" > "$work/reference.log" 2>&1 ||
  { echo "the reference run failed:"; tail -30 "$work/reference.log"; exit 1; }
"$python" "$here/check_prune_budget.py" "$work/reference" 5
want=$(hash_of "$work/reference/export/student.pt")

# The job step 2 steps into the retry prune.2.1 (a checkpoint is 5 steps in).
inside=$("$python" -c 'import json,sys
s=json.load(open(sys.argv[1]))["stages"]
names=[r["name"] for r in s]
assert "prune.2.1" in names, names
print(sum(r["steps"] for r in s[:names.index("prune.2.1")] if r["name"] != "label") + 7)' \
  "$work/reference/summary.json")
for fault in after_stage:prune.2 "after_step:$inside"; do
  name=${fault%%:*}
  set +e
  (CONDENSER_FAULT=$fault exec "$bin" run "$@" "$stages" "${budget[@]}" --run-dir "$work/$name" \
     > "$work/$name.log" 2>&1)
  code=$?
  set -e
  [ "$code" = 137 ] || { echo "$fault: expected a SIGKILL (137), got $code"; tail "$work/$name.log"; exit 1; }
  "$bin" run "$@" "$stages" "${budget[@]}" --run-dir "$work/$name" --resume auto \
    > "$work/$name.resume.log" 2>&1 || { echo "resume after $fault failed:"; tail -20 "$work/$name.resume.log"; exit 1; }
  grep -q "resume: from" "$work/$name.resume.log" || { echo "$fault: did not resume"; exit 1; }
  got=$(hash_of "$work/$name/export/student.pt")
  [ "$got" = "$want" ] || { echo "$fault: resumed weights $got differ from $want"; exit 1; }
  echo "$fault: resumed to the same weights $got"
done

# Not even the first stage meets the budget: exit 3, the dense student exported.
"$here/expect_exit.sh" 3 "accuracy budget missed: kept the dense student" -- \
  "$bin" run "$@" prune.stages=[0.98] budget.enabled=true budget.max_retries=0 --run-dir "$work/missed"
[ "$(hash_of "$work/missed/export/student.pt")" = "$(hash_of "$work/missed/models/student_distilled.pt")" ] ||
  { echo "missed: the exported student is not the dense distilled student"; exit 1; }
# Gradual: masks follow the cubic every 3 steps over the first 75 % of the
# stage's 32 steps (n = 8 updates), then the exact target.
"$bin" run "$@" 'prune.stages=[{sparsity: 0.6, epochs: 2}]' prune.schedule=gradual \
  prune.gradual_every_steps=3 prune.gradual_fraction=0.75 --run-dir "$work/gradual" > "$work/gradual.log" 2>&1 ||
  { echo "gradual run failed:"; tail -20 "$work/gradual.log"; exit 1; }
"$python" -c 'import json,sys
recs=[json.loads(l) for l in open(sys.argv[1]+"/metrics.jsonl")]
ups=[(r["step"],r["prune_sparsity"]) for r in recs if "prune_sparsity" in r]
want=[(t, 0.6+(0-0.6)*(1-t/24)**3) for t in range(3,25,3)]
assert len(ups)==len(want) and all(a==b and abs(x-y)<1e-12 for (a,x),(b,y) in zip(ups,want)), ups
s=json.load(open(sys.argv[1]+"/summary.json"))
a=s["prune_schedule"]["attempts"][-1]
assert abs(a["model"]["sparsity"]-0.6)<1e-3, a["model"]
print("gradual: mask updates at", [t for t,_ in ups], "sparsity", [round(x,4) for _,x in ups])' "$work/gradual"
echo "ok: budget back-off, rollback, resume, exit 3 and the gradual ramp"
