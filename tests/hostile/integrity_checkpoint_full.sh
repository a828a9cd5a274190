# Defect 16: a checkpoint that cannot be written for a full disk (a 16 KiB
# tmpfs on RUN_DIR/checkpoints; root only) ends the job with one line naming
# the file and the cause, and leaves no half-written checkpoint directory.
source "$(dirname "$0")/common.sh"

if [ "$(id -u)" != 0 ]; then
  echo "skipped: mounting a tmpfs needs root"
  exit 0
fi
run="$WORK/run"
(CONDENSER_FAULT=after_step:1 exec "$CONDENSER" run "$TINY" data.path="$DATA" \
   --run-dir "$run" > killed.log 2>&1) && fail "the fault did not kill the job" || true
[ -d "$run" ] || { tail killed.log; fail "the first run made no run directory"; }
mnt="$run/checkpoints"
trap 'mountpoint -q "$mnt" && umount "$mnt" || true' EXIT
rm -rf "$mnt" && mkdir -p "$mnt"
mount -t tmpfs -o size=16k tmpfs "$mnt"
expect 1 "cannot write '$mnt/\.step-[0-9]+\.tmp-[0-9]+/[a-z]+\.pt': No space left on device; free space" \
  "$CONDENSER" run "$TINY" data.path="$DATA" checkpoint.every_steps=2 --run-dir "$run" --resume none
leftover=$(ls -A "$mnt")
[ -z "$leftover" ] || fail "a failed checkpoint left: $leftover"
echo "checkpoint on a full disk: the cause named, nothing half-written left"
