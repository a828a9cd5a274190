#!/usr/bin/env bash
# resume_check.sh CONDENSER PYTHON WORK_DIR CONFIG [key=value ...]
# Kill-and-resume: a job SIGKILLed mid-epoch, half-way through writing a
# checkpoint, and just after a stage's end, then resumed with --resume auto,
# ends with bitwise the same student weights as an uninterrupted run; so does
# one stopped by SIGTERM (exit 0, a checkpoint) and resumed; and a corrupt
# latest checkpoint falls back to the one before it with a warning.
set -euo pipefail
bin=$1; python=$2; work=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"; mkdir -p "$work"
hash_of() { "$python" "$here/weights_sha256.py" "$1/export/student.pt"; }

"$bin" run "$@" --run-dir "$work/reference" > "$work/reference.log" 2>&1
want=$(hash_of "$work/reference")
echo "uninterrupted: $want"

check() {  # NAME: resume the run in WORK/NAME and compare
  "$bin" run "$@" --run-dir "$work/$name" --resume auto > "$work/$name.resume.log" 2>&1 ||
    { echo "resume of $name failed:"; tail -20 "$work/$name.resume.log"; exit 1; }
  grep -q "resume: from" "$work/$name.resume.log" ||
    { echo "$name: the second run did not resume from a checkpoint"; exit 1; }
  got=$(hash_of "$work/$name")
  [ "$got" = "$want" ] || { echo "$name: resumed weights $got differ from $want"; exit 1; }
  # metrics.jsonl reads as one run: no record of a step twice.
  "$python" -c 'import json,sys
seen=set()
for line in open(sys.argv[1]):
    r=json.loads(line); key=(r["stage"], r["step"], "train_loss" in r)
    assert key not in seen, f"metrics.jsonl repeats {key}"; seen.add(key)' "$work/$name/metrics.jsonl"
  echo "$name: $got (same)"
}

# Job steps: the teacher's first, then the control's (in_checkpoint:30 is
# inside the control), distill's, the fine-tune's.
for fault in after_step:9 in_checkpoint:30 after_stage:control after_stage:distill; do
  name=${fault%%:*}; [ "$fault" = after_stage:control ] && name=after_control
  set +e
  (CONDENSER_FAULT=$fault exec "$bin" run "$@" --run-dir "$work/$name" > "$work/$name.log" 2>&1)
  code=$?
  set -e
  [ "$code" = 137 ] || { echo "$fault: expected a SIGKILL (137), got $code"; tail "$work/$name.log"; exit 1; }
  if [ "$name" = after_stage ]; then
    cp -r "$work/$name" "$work/corrupt"  # the killed state, for the corrupt case below
    # Another config is refused, naming the key, and changes nothing.
    "$here/expect_exit.sh" 2 "another config; these keys differ:.*student.alpha" -- \
      "$bin" run "$@" student.alpha=0.5 --run-dir "$work/$name" --resume auto
  fi
  check "$@"
done

# A corrupt latest checkpoint: the resume warns, names the file, uses the previous one.
name=corrupt
latest=$(cat "$work/$name/checkpoints/latest")
truncate -s 100 "$work/$name/checkpoints/$latest/weights.pt"
"$here/expect_exit.sh" 1 "$latest: BAD: .*weights.pt' is missing or fails its SHA-256 check" -- \
  "$bin" inspect checkpoint "$work/$name"
check "$@"
grep -q "skipping checkpoint $latest.*weights.pt" "$work/$name.resume.log" ||
  { echo "corrupt: no warning naming $latest/weights.pt"; exit 1; }

# SIGTERM: finish the step, checkpoint, exit 0 with the resume command.
name=sigterm
"$bin" run "$@" --run-dir "$work/$name" > "$work/$name.log" 2>&1 &
pid=$!
"$here/signal_after_checkpoint.sh" TERM "$pid" "$work/$name"
wait "$pid" || { echo "SIGTERM: exit code $?, expected 0"; tail "$work/$name.log"; exit 1; }
grep -q "Resume with" "$work/$name.log" || { echo "SIGTERM: no resume command printed"; exit 1; }
check "$@"
echo "ok: every interrupted run resumed to the uninterrupted weights"
