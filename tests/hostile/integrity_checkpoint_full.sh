# A checkpoint that cannot be written for a full disk (a 16 KiB
# tmpfs on RUN_DIR/checkpoints; root only) ends the job with one line naming
# the file and the cause, and leaves no half-written checkpoint directory.
source "$(dirname "$0")/common.sh"

skip_unless_root "mounting a tmpfs"
run="$WORK/run"
killed_after_first_step "$run"
mnt="$run/checkpoints"
full_disk_at "$mnt" 16k
expect 1 "cannot write '$mnt/\.step-[0-9]+\.tmp-[0-9]+/[a-z]+\.pt': No space left on device; free space" \
  "$CONDENSER" run "$TINY" data.path="$DATA" checkpoint.every_steps=2 --run-dir "$run" --resume none
leftover=$(ls -A "$mnt")
[ -z "$leftover" ] || fail "a failed checkpoint left: $leftover"
echo "checkpoint on a full disk: the cause named, nothing half-written left"
