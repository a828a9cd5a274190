"""check_prune_budget.py RUN_DIR MAX_DROP
Checks a staged prune run against the budget rules: every attempt's verdict
follows its drop, a retry halves the step from the last kept sparsity, the
exported student is the last attempt within the budget (its nonzeros, its
per-layer sparsity), excluded first/last weights stay dense, and the
per-stage numbers (FLOPs, per-layer sparsity, accuracies) are in metrics.json."""
import json
import sys

import torch

run, max_drop = sys.argv[1], float(sys.argv[2])
metrics = json.load(open(f"{run}/export/metrics.json"))
schedule = metrics["prune_schedule"]
attempts = schedule["attempts"]
reference = schedule["budget_reference_accuracy"]
assert attempts, "no prune attempts recorded"
assert reference == metrics["student_dense"]["val_accuracy"], (reference, metrics["student_dense"])

kept, kept_nonzeros, kept_layers = 0.0, None, None
plan = {1: 0.5, 2: 0.98}
for a in attempts:
    drop = 100 * (reference - a["model"]["val_accuracy"])
    assert abs(drop - a["drop_points"]) < 1e-9, a
    assert a["passed"] == (drop <= max_drop + 1e-9), f"{a['name']}: drop {drop:.2f} vs passed {a['passed']}"
    want = kept + (plan[a["stage"]] - kept) / 2 ** a["retry"]
    assert abs(a["target_sparsity"] - want) < 1e-12, (a["name"], a["target_sparsity"], want)
    # The whole model reaches the target (to one weight), excluded weights included.
    assert abs(a["model"]["sparsity"] - a["target_sparsity"]) < 1e-3, a
    assert 0 < a["flops"] < a["dense_flops"], a
    layers = a["layer_sparsity"]
    names = sorted(layers, key=lambda n: int(n[1:].split("_")[0]))  # l0_w, l4_w, l9_w, l11_w
    assert layers[names[0]] == 0 and layers[names[-1]] == 0, f"first/last weights pruned: {layers}"
    if a["passed"]:
        kept, kept_nonzeros, kept_layers = a["target_sparsity"], a["model"]["nonzeros"], layers
names = [a["name"] for a in attempts]
assert names[:2] == ["prune.1", "prune.2"], names
assert not attempts[1]["passed"], "the 98% cut met a 5-point budget?"
assert "prune.2.1" in names, names

student = torch.jit.load(f"{run}/export/student.pt")
nonzeros = sum(int(p.count_nonzero()) for p in student.parameters())
assert nonzeros == kept_nonzeros, f"exported {nonzeros} nonzeros, last kept attempt {kept_nonzeros}"
params = dict(student.named_parameters())
for name, s in kept_layers.items():
    got = 1 - int(params[name].count_nonzero()) / params[name].numel()
    assert abs(got - s) < 1e-9, (name, got, s)
assert metrics["student_final"]["nonzeros"] == kept_nonzeros
print(f"ok: {len(attempts)} attempts {names}, kept {kept:.4f} sparsity; {schedule['outcome']}")
