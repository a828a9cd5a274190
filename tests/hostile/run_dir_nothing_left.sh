# A refused run leaves the disk as it found it: no run directory,
# parents, config.resolved.yaml, job.token or metrics.jsonl.
source "$(dirname "$0")/common.sh"
export -f tiny  # expect runs its command in a child bash

expect 2 "--resume $WORK/nonexistent: not a checkpoint directory" \
  tiny --run-dir new --resume "$WORK/nonexistent"
[ ! -e new ] || fail "--resume /nonexistent created the run directory: $(ls -A new)"

expect 2 "not a checkpoint directory" tiny --run-dir "$WORK/a/b/c" --resume "$WORK/nonexistent"
[ ! -e a ] || fail "the run directory's parents were left: $(find a)"

expect 2 "nodata" "$CONDENSER" run "$TINY" data.path="$WORK/nodata" --run-dir bad_data
[ ! -e bad_data ] || fail "a run refused for its data left files: $(ls -A bad_data)"

# An empty folder the user made stays, empty.
mkdir empty
expect 2 "not a checkpoint directory" tiny --run-dir empty --resume "$WORK/nonexistent"
[ -d empty ] && [ -z "$(ls -A empty)" ] || fail "a refused run left files in empty/: $(ls -A empty)"
# A run refused for a bad token file the user left (empty, world-readable)
# has written nothing either: no config.resolved.yaml, metrics.jsonl, models/.
mkdir tok && touch tok/.condenser-run && : > tok/job.token && chmod 644 tok/job.token
expect 2 "job.token" tiny --run-dir tok
[ "$(ls -A tok | sort | tr '\n' ' ')" = ".condenser-run job.token " ] ||
  fail "a run refused for its token left files: $(ls -A tok)"
echo "refused runs: nothing left behind"
