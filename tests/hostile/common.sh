# Sourced by the hostile test scripts: strict mode, a fresh $WORK, helpers.
set -euo pipefail
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"

# expect CODE REGEX COMMAND...: exit code and one clear line, no stack trace.
expect() { local code=$1 regex=$2; shift 2; bash "$EXPECT" "$code" "$regex" -- "$@"; }

# tiny [ARGS...]: the tiny job on the test data.
tiny() { "$CONDENSER" run "$TINY" data.path="$DATA" "$@"; }
export -f tiny  # so that `expect CODE REGEX tiny ...` can run it

fail() { echo "FAIL: $*"; exit 1; }
