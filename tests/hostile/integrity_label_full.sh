# A full disk while workers write soft-label shards (an 8 KiB tmpfs on
# RUN_DIR/soft_labels; root only): each failed write names its cause in one
# line and leaves no temporary file, no worker crashes (HDF5 used to
# segfault at exit over a file it could not flush), nothing is committed,
# and the job ends with exit 1 once the restarts are used up.
source "$(dirname "$0")/common.sh"

skip_unless_root "mounting a tmpfs"
run="$WORK/run"
killed_after_first_step "$run"
mnt="$run/soft_labels"
full_disk_at "$mnt" 8k
code=0
"$CONDENSER" run "$TINY" data.path="$DATA" --run-dir "$run" --resume none > full.log 2>&1 || code=$?
[ "$code" = 1 ] || { tail -5 full.log; fail "expected exit 1, got $code"; }
grep -Eq "condenser: error: worker: writing .* failed: cannot write '$mnt/\.attempt-[0-9]+-shard-[0-9]+\.h5\.tmp': No space left on device; free space" full.log \
  || { grep error full.log; fail "no one-line cause for the failed shard write"; }
grep -q "condenser: error: labelling stopped: " full.log || fail "no final error line"
grep -q "signal 11" full.log && fail "a worker crashed on the full disk"
grep -q "HDF5 error" full.log && fail "an HDF5 error stack instead of the cause"
ls -A "$mnt" | grep -q '\.tmp$' && fail "a .tmp was left in soft_labels/"
"$PYTHON" -c "import json,sys; sys.exit(1 if json.load(open('$run/manifest.json')).get('shards') else 0)" \
  || fail "a shard was committed"
echo "full disk while labelling: the cause named, no crash, nothing committed"
