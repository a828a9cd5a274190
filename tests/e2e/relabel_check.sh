#!/usr/bin/env bash
# Soft-label reuse, integrity and provenance across runs in one directory:
#  1. a run with a Python-made teacher labels top-k shards with 2 views;
#  2. one shard gets a flipped byte: the next run quarantines it, relabels only
#     it, and finishes;
#  2b. the same teacher saved again to another file reuses every shard;
#  3. a different teacher is refused (exit 2, both hashes named);
#  4. --relabel accepts it;
#  5. the same teacher in bf16 relabels (the manifest records the precision);
#  6. views without flips relabel (the manifest records it).
# Usage: relabel_check.sh CONDENSER PYTHON E2E_SOURCE_DIR WORK_DIR QUICK_CONFIG DATA_DIR
set -u
bin=$1; py=$2; src=$3; work=$4; quick=$5; data=$6
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
"$py" "$src/make_python_teacher.py" "$work/t1.pt" 10 1 >/dev/null || fail "teacher 1"
"$py" "$src/make_python_teacher.py" "$work/t2.pt" 10 2 >/dev/null || fail "teacher 2"
run() {
  "$bin" run "$quick" data.path="$data" runtime.threads=1 soft_labels.format=topk \
    soft_labels.top_k=3 soft_labels.views_per_sample=2 student.train.epochs=1 \
    prune.finetune.epochs=1 --run-dir "$work/run" "$@" > "$work/last.log" 2>&1
}
run teacher.path="$work/t1.pt" || { cat "$work/last.log"; fail "first run"; }
"$py" "$src/check_run.py" "$work/run" "$bin" 0.0 || fail "check_run after the first run"

shard="$work/run/soft_labels/shard-000001.h5"
printf '\xff' | dd of="$shard" bs=1 seek=5000 conv=notrunc status=none
run teacher.path="$work/t1.pt" || { cat "$work/last.log"; fail "run after corruption"; }
grep -q "quarantined" "$work/last.log" || { cat "$work/last.log"; fail "no quarantine logged"; }
grep -q "reusing 2 verified shard(s), labelling 1" "$work/last.log" ||
  { cat "$work/last.log"; fail "did not relabel exactly the bad shard"; }
ls "$work/run/soft_labels/quarantine/" | grep -q "shard-000001.h5" || fail "shard not in quarantine/"
"$py" "$src/check_run.py" "$work/run" "$bin" 0.0 || fail "check_run after relabelling"

# The same teacher saved again (torch.jit.save writes other bytes each time)
# keeps its identity: every shard is reused.
"$py" "$src/make_python_teacher.py" "$work/t1_again.pt" 10 1 >/dev/null || fail "teacher 1 again"
run teacher.path="$work/t1_again.pt" || { cat "$work/last.log"; fail "run with teacher 1 saved again"; }
grep -q "reusing 3 verified shard(s), labelling 0" "$work/last.log" ||
  { cat "$work/last.log"; fail "the same teacher saved again was not recognised"; }

run teacher.path="$work/t2.pt"; code=$?
[ "$code" = 2 ] || { cat "$work/last.log"; fail "another teacher: exit $code, wanted 2"; }
grep -q "were made by teacher .* but this job's teacher is" "$work/last.log" ||
  { cat "$work/last.log"; fail "refusal does not name both teachers"; }
run teacher.path="$work/t2.pt" --relabel || { cat "$work/last.log"; fail "--relabel run"; }
"$py" "$src/check_run.py" "$work/run" "$bin" 0.0 || fail "check_run after --relabel"
# Logits from a bf16 teacher are not the fp32 ones: the shards are relabelled.
run teacher.path="$work/t2.pt" teacher.precision=bf16 || { cat "$work/last.log"; fail "bf16 run"; }
grep -q "layout changed .*teacher precision); relabelling" "$work/last.log" ||
  { cat "$work/last.log"; fail "fp32 shards reused by a bf16 teacher"; }
grep -q '"teacher_precision": "bf16"' "$work/run/manifest.json" || fail "manifest does not record bf16"
# Views without mirror images are other views: relabelled, and recorded.
run teacher.path="$work/t2.pt" teacher.precision=bf16 soft_labels.flip=false ||
  { cat "$work/last.log"; fail "run without flips"; }
grep -q "layout changed .*flips" "$work/last.log" || { cat "$work/last.log"; fail "flipped views reused"; }
grep -q '"flip": false' "$work/run/manifest.json" || fail "manifest does not record flip: false"
echo "ok: quarantine + partial relabel, the same teacher saved again reused, refusal of another teacher, --relabel, precision and flip changes relabel"
