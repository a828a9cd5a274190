# Helpers of the workers_*.sh tests (sourced after common.sh): a job whose
# labelling lasts a few seconds, and polling with deadlines instead of sleeps.

# The tiny job with a TorchScript teacher that labels for a few seconds in
# shards of 50 rows (teacher training skipped): "${SLOW_JOB[@]}" --run-dir DIR
# (an array, not a function, so `cmd &` gives the job's own pid in $!).
"$PYTHON" "$(dirname "${BASH_SOURCE[0]}")/workers_teacher.py" "$WORK/teacher.pt" 48
SLOW_JOB=("$CONDENSER" run "$TINY" data.path="$DATA" teacher.path="$WORK/teacher.pt"
          soft_labels.shard_rows=50 soft_labels.batch_size=25)

# Nothing this test started outlives it.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local end=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -lt $end ] || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.1
  done
}

# The pid of PARENT's `condenser worker` child ("" if none).
worker_of() { pgrep -P "$1" -f "condenser worker" | head -1 || true; }
has_worker() { [ -n "$(worker_of "$1")" ]; }

# True when PID is gone (a zombie counts as gone: only init may reap it).
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

# True when nothing listens on 127.0.0.1:PORT.
port_closed() { ! ss -ltnH "sport = :$1" | grep -q .; }

# ports RUN_DIR: the coordinator's control and HTTP ports from coordinator.json.
ports() { grep -oE '127\.0\.0\.1:[0-9]+' "$1/coordinator.json" | cut -d: -f2; }

# labelled_once RUN_DIR: every (sample, view) of the manifest in exactly one
# shard and no attempt file left behind.
labelled_once() {
  "$PYTHON" - "$1" <<'PY'
import json, os, sys
import h5py
run = sys.argv[1]
manifest = json.load(open(os.path.join(run, "manifest.json")))
seen = {}
for shard in manifest["shards"]:
    with h5py.File(os.path.join(run, "soft_labels", shard["file"]), "r") as h:
        for s, v in zip(h["sample_index"][:], h["view"][:]):
            seen[(int(s), int(v))] = seen.get((int(s), int(v)), 0) + 1
twice = [k for k, n in seen.items() if n != 1]
if twice or len(seen) != manifest["total_rows"]:
    sys.exit("FAIL: %d pairs labelled, %d expected, %d more than once"
             % (len(seen), manifest["total_rows"], len(twice)))
left = [f for f in os.listdir(os.path.join(run, "soft_labels")) if f.startswith(".attempt")]
if left:
    sys.exit("FAIL: attempt files left behind: %s" % left)
print("ok: %d (sample, view) pairs, each labelled exactly once" % len(seen))
PY
}
