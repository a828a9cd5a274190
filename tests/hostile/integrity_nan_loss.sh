# A learning rate that drives the student's loss to
# NaN stops the job with exit 2 naming the stage and the step, before the
# NaN reaches the weights; every checkpoint kept verifies, nothing is exported
# and summary.json does not say finished.
source "$(dirname "$0")/common.sh"

run="$WORK/run"
expect 2 "condenser: error: distill: the training loss is (NaN|infinite) at step [0-9]+ \(epoch 1, batch [0-9]+\)" \
  "$CONDENSER" run "$TINY" data.path="$DATA" student.train.lr=1e30 checkpoint.every_steps=2 \
  control.enabled=false --run-dir "$run"
# With the control on, the control (trained first, same lr) stops the same way.
expect 2 "condenser: error: control: the training loss is (NaN|infinite) at step [0-9]+" \
  "$CONDENSER" run "$TINY" data.path="$DATA" student.train.lr=1e30 --run-dir "$WORK/with_control"
"$CONDENSER" inspect checkpoint "$run" > inspect.log || { cat inspect.log; fail "a kept checkpoint does not verify"; }
grep -q "stage distill" inspect.log || fail "no distill checkpoint before the NaN step was kept"
[ -d "$run/export" ] && fail "a NaN run was exported"
"$PYTHON" -c "import json,sys; sys.exit(1 if json.load(open('$run/summary.json')).get('finished') else 0)" \
  || fail "summary.json says finished"
echo "NaN loss: stopped naming the stage and step, checkpoints before it kept"
