#!/usr/bin/env bash
# A TorchScript teacher that does not fit the data (Linear(10,3),
# scripted for a fixed batch of 2, 3 classes, NaN logits, batch-dependent
# outputs, a tuple, not TorchScript) is refused by validate and by run before
# the run directory exists, with exit 2 and one line naming the file; a
# fitting one passes.
source "$(dirname "$0")/common.sh"

"$PYTHON" "$(dirname "$0")/preflight_teachers.py" "$WORK/teachers" >/dev/null

refused() {
  local teacher=$WORK/teachers/$1.pt regex=$2
  expect 2 "teacher '$teacher'.*$regex" "$CONDENSER" validate "$TINY" data.path="$DATA" \
    teacher.path="$teacher"
  expect 2 "teacher '$teacher'.*$regex" "$CONDENSER" run "$TINY" data.path="$DATA" \
    teacher.path="$teacher" --run-dir "$WORK/run"
  [ ! -e "$WORK/run" ] || fail "run created $WORK/run before refusing teacher $1"
}

refused linear_10_3 "fails on \[4, 1, 28, 28\] float32 inputs.*mat1 and mat2 shapes cannot be multiplied"
refused fixed_batch "fails on \[4, 1, 28, 28\].*shape '\[2, 784\]' is invalid"
refused batch_of_two "returns shape \[2, 10\] for 4 images; expected \[4, 10\]"
refused three_classes "returns shape \[4, 3\] for 4 images; expected \[4, 10\]"
refused nan "returns NaN or infinite logits"
refused batch_dependent "other logits in a batch of 4 than alone"
refused pair "returns Tuple, not a tensor of logits"
refused not_torchscript "is not a TorchScript file"
expect 2 "teacher.path '/dev/zero' is not a regular file" \
  "$CONDENSER" validate "$TINY" data.path="$DATA" teacher.path=/dev/zero

expect 0 "ok \(job 'tiny'\)" "$CONDENSER" validate "$TINY" data.path="$DATA" \
  teacher.path="$WORK/teachers/good.pt"
echo "every unfit teacher refused up front"
