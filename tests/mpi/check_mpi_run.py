"""Checks a `mpirun -n N condenser run` of configs/quick.yaml (1 epoch per
stage): rank 0 alone wrote the run directory (one record per epoch, not N),
each epoch took ceil(train / (N * batch)) steps, and the export is complete."""
import json
import math
import os
import sys

run_dir, ranks, train_samples, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
epochs = [r for r in records if "train_loss" in r]
stages = [r["stage"] for r in epochs]
# The no-teacher control trains data-parallel like the student, same steps.
assert stages == ["teacher", "control", "distill", "prune"], f"epoch records {stages}: written by more than rank 0?"
steps = math.ceil(train_samples / (ranks * batch))
for r in epochs:
    assert r["step"] == steps, f"{r['stage']}: {r['step']} steps, expected {steps} at world {ranks}"
summary = json.load(open(os.path.join(run_dir, "summary.json")))
assert summary["finished"], "summary.json: job not finished"
assert summary["teacher_forward_samples"] == train_samples, summary["teacher_forward_samples"]
metrics = json.load(open(os.path.join(run_dir, "export", "metrics.json")))
for name in ("student.pt", "metrics.json", "README.md", "report.html"):
    assert os.path.getsize(os.path.join(run_dir, "export", name)) > 0, name
final = summary["student_final"]["test_accuracy"]
assert final > 0.5, f"data-parallel student reached only {final:.3f} test accuracy"
print(f"ok: world {ranks}, {steps} steps/epoch, student test accuracy {final:.4f}")
