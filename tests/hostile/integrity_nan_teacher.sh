# A teacher whose logits are NaN for a few samples (not those the
# up-front probe runs). No shard holding a NaN is committed, the job stops
# with exit 2 naming a sample, nothing is distilled or exported and
# summary.json does not say finished.
source "$(dirname "$0")/common.sh"

# The tiny job's split: seed 3, 200 validation and 800 training samples.
"$PYTHON" "$(dirname "$0")/integrity_nan_teacher.py" "$WORK/nan.pt" "$DATA" 3 200 800
run="$WORK/run"
expect 2 "condenser: error: the teacher's output for training sample [0-9]+ is not finite" \
  "$CONDENSER" run "$TINY" data.path="$DATA" teacher.path="$WORK/nan.pt" --run-dir "$run"
[ -d "$run/export" ] && fail "a NaN teacher's run was exported"
[ -f "$run/models/student_final.pt" ] && fail "a NaN teacher's student was saved"
if [ -f "$run/summary.json" ]; then
  "$PYTHON" -c "import json,sys; sys.exit(1 if json.load(open('$run/summary.json')).get('finished') else 0)" \
    || fail "summary.json says finished"
fi
# Every committed shard holds finite logits only.
if [ -f "$run/manifest.json" ]; then
  "$PYTHON" - "$run" <<'PY'
import json, sys, h5py, numpy as np
run = sys.argv[1]
for shard in json.load(open(run + "/manifest.json")).get("shards", []):
    with h5py.File(run + "/soft_labels/" + shard["file"], "r") as f:
        for name, d in f.items():
            if isinstance(d, h5py.Dataset) and d.dtype.kind == "f":
                assert np.isfinite(d[()]).all(), f"{shard['file']}/{name} holds NaN"
PY
fi
echo "NaN teacher: refused during labelling, nothing committed, distilled or exported"
