# A careless --run-dir or name never deletes, moves or
# writes anything outside a condenser run directory; it gets exit 2 and one
# line before any work starts.
source "$(dirname "$0")/common.sh"
export -f tiny  # expect runs its command in a child bash

# A folder of the user's that is not a run directory: refused, left as it was.
mkdir -p P/checkpoints && echo x > P/checkpoints/epoch-100.ckpt
expect 2 "nonexistent|P' is a non-empty folder that is not a condenser run directory" \
  "$CONDENSER" run "$TINY" data.path=/nonexistent --run-dir P
expect 2 "not a condenser run directory" tiny --run-dir P
[ "$(cat P/checkpoints/epoch-100.ckpt)" = x ] || fail "P/checkpoints/epoch-100.ckpt was touched"
[ "$(ls -A P)" = checkpoints ] || fail "files were created in P: $(ls -A P)"

# An unfinished run's checkpoints survive a --resume none that is refused
# (a typo'd data path): nothing is deleted before every check has passed.
mkdir -p R/checkpoints/step-1 && touch R/.condenser-run
for i in 1 2 3 4; do echo "$i" > "R/checkpoints/step-1/part$i"; done
expect 2 "nonexistent|no such|not found|does not exist" \
  "$CONDENSER" run "$TINY" data.path="$WORK/nonexistent" --run-dir R --resume none
[ "$(ls R/checkpoints/step-1 | wc -l)" = 4 ] || fail "R's checkpoints were deleted"

# The file system root and the home directory are never run directories.
expect 2 "is the file system root" tiny --run-dir /
expect 2 "is the file system root" tiny --run-dir /tmp/..
mkdir -p home/me && echo mine > home/me/notes.txt
HOME="$WORK/home/me" expect 2 "is your home directory" tiny --run-dir "$WORK/home/me"
[ "$(ls -A home/me)" = notes.txt ] || fail "files were created in the home directory"

# A file is not a folder.
echo data > afile
expect 2 "exists and is not a folder" tiny --run-dir afile

# name= is one folder under runs/, never a path out of it.
mkdir -p inner && cd inner
expect 2 "name '../../x' cannot name a run directory" tiny name=../../x
expect 2 "cannot name a run directory" tiny name=a/b
expect 2 "cannot name a run directory" tiny name=..
cd "$WORK"
[ ! -e x ] && [ ! -e inner/runs ] && [ ! -e "$WORK/../x" ] || fail "name= escaped runs/"

# Names that are not valid UTF-8 are refused up front (they would
# end in JSON files), escaped in the message; nothing is created.
expect 2 "run directory '.*run\\\\xFF' is not printable UTF-8" tiny --run-dir $'run\xff'
expect 2 "name 'bad\\\\xFE' cannot name a run directory" tiny name=$'bad\xfe'
expect 2 "not printable UTF-8" tiny --run-dir $'line\nbreak'
mkdir $'cwd\xfe' && cd $'cwd\xfe'
expect 2 "is not printable UTF-8" tiny --run-dir run
[ -z "$(ls -A)" ] || fail "a refused run created files: $(ls -A)"
cd "$WORK"
[ ! -e $'run\xff' ] && [ ! -e runs ] || fail "a refused run created a folder"
echo "careless run directories: all refused, nothing touched"
