# A manifest entry naming a path outside
# the run directory ('..', absolute, or a symlink leading out) never makes a
# resume read, move or delete that file; the entry is dropped and relabelled.
# `inspect shards` names such entries and says what quarantine/ holds.
source "$(dirname "$0")/common.sh"
export -f tiny  # expect runs its command in a child bash

run="$WORK/run"
# An unfinished run with its soft labels: killed just after distillation.
(CONDENSER_FAULT=after_stage:distill exec "$CONDENSER" run "$TINY" data.path="$DATA" \
   --run-dir "$run" > killed.log 2>&1) && fail "the fault did not kill the job" || true
[ -f "$run/manifest.json" ] || { cat killed.log; fail "no manifest after labelling"; }

echo "the user's own file" > victim.txt
echo "another file of the user's" > victim2.h5
"$PYTHON" - "$run" "$WORK" <<'PY'
import json, os, sys
run, work = sys.argv[1], sys.argv[2]
path = os.path.join(run, "manifest.json")
m = json.load(open(path))
first = m["shards"][0]
# Entries of a tampered manifest: '..', absolute, and a symlink leading out.
for name in ["../../victim.txt", os.path.join(work, "victim.txt"), "link.h5"]:
    m["shards"].append(dict(first, file=name, sha256="0" * 64))
os.symlink(os.path.join(work, "victim2.h5"), os.path.join(run, "soft_labels", "link.h5"))
# And one real shard damaged, so that the resume quarantines it.
shard = os.path.join(run, "soft_labels", first["file"])
with open(shard, "r+b") as f:
    f.seek(200); b = f.read(1); f.seek(200); f.write(bytes([b[0] ^ 0xFF]))
json.dump(m, open(path, "w"), indent=2)
PY

# inspect shards reports the entries without opening them.
out=$("$CONDENSER" inspect shards "$run" 2>&1) && fail "inspect shards passed a tampered manifest"
grep -q "\.\./\.\./victim.txt: not a shard inside" <<<"$out" || { echo "$out"; fail "no containment problem"; }
grep -q "link.h5: not a shard inside" <<<"$out" || { echo "$out"; fail "symlink not reported"; }
grep -q "quarantine: none" <<<"$out" || { echo "$out"; fail "quarantine not described"; }

# The resume finishes; the user's files stay where they were, unchanged.
tiny --run-dir "$run" > resumed.log 2>&1 || { tail -20 resumed.log; fail "resume failed"; }
[ "$(cat victim.txt)" = "the user's own file" ] || fail "victim.txt was moved or changed"
[ "$(cat victim2.h5)" = "another file of the user's" ] || fail "victim2.h5 was moved or changed"
grep -q "victim.txt' is not a shard inside" resumed.log || { cat resumed.log; fail "no warning"; }
[ -z "$(ls "$run/soft_labels/quarantine" | grep -i victim)" ] || fail "a victim reached quarantine/"
grep -q '"finished": true' "$run/summary.json" || fail "the resumed run did not finish"

# The damaged shard went to quarantine/, and inspect shards says so.
out=$("$CONDENSER" inspect shards "$run" 2>&1) || { echo "$out"; fail "inspect after resume"; }
grep -Eq "quarantine: 1 file\(s\) in .*/quarantine" <<<"$out" || { echo "$out"; fail "quarantine not listed"; }
grep -Eq "shard-[0-9]+\.h5 \([0-9]+ bytes\): sha256 mismatch" <<<"$out" || { echo "$out"; fail "no reason"; }
echo "tampered manifest: nothing outside touched; quarantine listed"
