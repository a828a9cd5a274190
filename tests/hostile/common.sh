# Sourced by the hostile test scripts: strict mode, a fresh $WORK, helpers.
set -euo pipefail
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"

# expect CODE REGEX COMMAND...: exit code and one clear line, no stack trace.
expect() { local code=$1 regex=$2; shift 2; bash "$EXPECT" "$code" "$regex" -- "$@"; }

# tiny [ARGS...]: the tiny job on the test data.
tiny() { "$CONDENSER" run "$TINY" data.path="$DATA" "$@"; }
export -f tiny  # so that `expect CODE REGEX tiny ...` can run it

fail() { echo "FAIL: $*"; exit 1; }

# skip_unless_root WHAT: ends the test with a "skipped:" line unless root
# (mounting a tmpfs to fill a disk needs it).
skip_unless_root() { [ "$(id -u)" = 0 ] || { echo "skipped: $1 needs root"; exit 0; }; }

# killed_after_first_step RUN_DIR: the tiny job SIGKILLed after its first
# optimizer step, leaving an unfinished run in RUN_DIR (log: killed.log).
killed_after_first_step() {
  (CONDENSER_FAULT=after_step:1 exec "$CONDENSER" run "$TINY" data.path="$DATA" \
     --run-dir "$1" > killed.log 2>&1) && fail "the fault did not kill the job" || true
  [ -d "$1" ] || { tail killed.log; fail "the first run made no run directory"; }
}

# full_disk_at DIR SIZE: DIR replaced by an empty tmpfs of SIZE (e.g. 16k),
# unmounted when the test exits, so writes there fail with ENOSPC (root only).
full_disk_at() {
  trap "mountpoint -q '$1' && umount '$1' || true" EXIT
  rm -rf "$1" && mkdir -p "$1"
  mount -t tmpfs -o size="$2" tmpfs "$1"
}
