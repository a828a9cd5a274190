#!/usr/bin/env bash
# prune_budget_check.sh CONDENSER PYTHON WORK_DIR CONFIG [key=value ...]
# The staged prune schedule under an accuracy budget (issue 6):
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
echo "ok: budget back-off, rollback, resume and exit 3"
