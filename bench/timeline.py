"""timeline.py MODE RUN_DIR T0 T1: RUN_DIR/timeline/rank-R.json as seconds
from T0 (mpirun's start); T1 is when mpirun returned."""
import glob
import json
import os
import sys

mode, run_dir, t0, t1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
print(f"{mode}: job {t1 - t0:.1f} s (mpirun start to end)")
for path in sorted(glob.glob(os.path.join(run_dir, "timeline", "rank-*.json"))):
    t = json.load(open(path))
    at = lambda key: f"{t[key] - t0:6.1f}" if t[key] > 0 else "     -"
    print(f"  rank {t['rank']} ({t['role']:7s}) labelling {at('label_start')} .. {at('label_end')} s, "
          f"student training from {at('train_start')} s")
summary = json.load(open(os.path.join(run_dir, "summary.json")))
print("  stages: " + ", ".join(f"{s['name']} {s['seconds']:.1f} s" for s in summary["stages"]))
