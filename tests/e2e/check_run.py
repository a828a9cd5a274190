#!/usr/bin/env python3
"""Checks a finished `condenser run` directory the way a user would look at it.

Usage: check_run.py RUN_DIR CONDENSER_BIN [MIN_STUDENT_ACCURACY]
(needs a Python with torch and h5py; the accuracy bar defaults to 0.5, chance is 0.1)
Exits non-zero with a message on the first broken promise.
"""
import gzip
import hashlib
import json
import os
import re
import stat
import sys

import h5py
import numpy as np
import torch


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


run = sys.argv[1]
min_student = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
for rel in ["config.resolved.yaml", "job.token", "manifest.json", "metrics.jsonl", "summary.json",
            "models/student_distilled.pt", "models/student_final.pt", "progress.json",
            "export/student.pt", "export/metrics.json", "export/README.md", "export/report.html"]:
    check(os.path.isfile(os.path.join(run, rel)), f"missing {rel}")

token_path = os.path.join(run, "job.token")
check(stat.S_IMODE(os.stat(token_path).st_mode) == 0o600, "job.token is not mode 0600")
check(len(open(token_path).read().strip()) == 64, "job.token is not 32 random bytes in hex")

# Soft labels: every labelled sample exactly once, checksums as committed.
manifest = json.load(open(os.path.join(run, "manifest.json")))
seen = []
for entry in manifest["shards"]:
    path = os.path.join(run, "soft_labels", entry["file"])
    check(hashlib.sha256(open(path, "rb").read()).hexdigest() == entry["sha256"],
          f"{entry['file']}: checksum differs from the manifest")
    with h5py.File(path, "r") as f:
        check(f.attrs["teacher_sha256"] == manifest["teacher_sha256"], "teacher hash attribute")
        if manifest.get("format", "full") == "topk":
            k = manifest["top_k"]
            check(f["topk_values"].shape == (entry["rows"], k), "topk_values shape")
            check(f["topk_values"].dtype == np.float16, "topk_values are not float16")
            values = f["topk_values"][:].astype(np.float32)
            check(np.all(np.diff(values, axis=1) <= 0), "top-k values are not descending")
            lse = f["logsumexp"][:]
            # The tempered logsumexp bounds every kept value: exp(v/T - lse) <= 1.
            check(np.all(values[:, 0] / manifest["temperature"] <= lse + 1e-3), "logsumexp")
        else:
            check(f["logits"].shape == (entry["rows"], manifest["num_classes"]), "logits shape")
            check(np.all(np.isfinite(f["logits"][:])), "non-finite logits")
        seen.extend(zip(f["sample_index"][:].tolist(), f["view"][:].tolist()))
check(len(seen) == manifest["total_rows"], f"{len(seen)} rows, manifest says {manifest['total_rows']}")
check(len(set(seen)) == len(seen), "a (sample, view) was labelled twice")
views = manifest.get("views", 1)
check({v for _, v in seen} == set(range(views)), f"views {sorted({v for _, v in seen})}")
metrics = json.load(open(os.path.join(run, "export", "metrics.json")))
trained_teacher = metrics["teacher_source"].startswith("built-in")
teacher_file = (os.path.join(run, "models", "teacher.pt") if trained_teacher
                else metrics["teacher_source"])
# The teacher's identity hashes its parameters, buffers and code, not the file.
check(re.fullmatch("[0-9a-f]{64}", manifest["teacher_sha256"]) is not None, "teacher identity")
check(metrics["teacher_sha256"] == manifest["teacher_sha256"],
      "manifest teacher_sha256 is not the job's teacher identity")

# Metrics: accuracy well above chance (10 classes), a student under 10 % of the teacher.
teacher, student = metrics["teacher"], metrics["student_final"]
check(not trained_teacher or teacher["test_accuracy"] > 0.6,
      f"teacher test accuracy {teacher['test_accuracy']}")
check(student["test_accuracy"] > min_student, f"student test accuracy {student['test_accuracy']}")
check(not trained_teacher or student["parameters"] * 10 <= teacher["parameters"],
      "student is not <= 10 % of the built-in teacher")
check(abs(student["sparsity"] - metrics["target_sparsity"]) < 0.01, "sparsity missed its target")
check(student["nonzeros"] < student["parameters"], "pruning left no zeros")
# The teacher ran exactly once per row this run labelled: all rows when it
# labelled every shard, fewer when shards of an earlier run were reused.
labelled_shards = [st["steps"] for st in metrics["stages"] if st["name"] == "label"][0]
labelled_rows = sum(e["rows"] for e in manifest["shards"][len(manifest["shards"]) - labelled_shards:])
check(metrics["teacher_forward_samples"] == labelled_rows,
      f"teacher ran on {metrics['teacher_forward_samples']} rows, labelled {labelled_rows}")
stages = [s["name"] for s in metrics["stages"]]
with_control = metrics["recipe"]["control"]["enabled"]
expected = ["teacher", "label"] + (["control"] if with_control else []) + ["distill", "prune"]
check(stages[:len(expected)] == expected, f"stages {stages}, expected {expected}")

records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
for stage in (["teacher"] if trained_teacher else []) + ["distill", "prune"]:
    check(any(r.get("stage") == stage and "val_accuracy" in r for r in records),
          f"metrics.jsonl has no epoch record for {stage}")

# The exported student, loaded by Python alone, reproduces the reported test accuracy.
model = torch.jit.load(os.path.join(run, "export", "student.pt"))
cfg_text = open(os.path.join(run, "config.resolved.yaml")).read()
# data.path is the first "path:" key (the data section precedes teacher.path).
data_dir = [l.split(":", 1)[1].split("#")[0].strip().strip('"') for l in cfg_text.splitlines()
            if l.strip().startswith("path:")][0]
with gzip.open(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
with gzip.open(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")) as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)
n = int([l.split(":", 1)[1].split("#")[0] for l in cfg_text.splitlines()
         if l.strip().startswith("test_subset:")][0]) or len(labels)
x = torch.from_numpy(images[:n].astype(np.float32) / 255.0)
with torch.no_grad():
    pred = model(x).argmax(1).numpy()
acc = float((pred == labels[:n]).mean())
# Within 0.1 point (and within one sample of the test subset).
check(abs(acc - student["test_accuracy"]) <= min(0.001, 1.0 / n) + 1e-9,
      f"Python test accuracy {acc} differs from the reported {student['test_accuracy']}")
if trained_teacher:
    with torch.no_grad():
        teacher_pred = torch.jit.load(teacher_file)(x).argmax(1).numpy()
    teacher_acc = float((teacher_pred == labels[:n]).mean())
    check(abs(teacher_acc - teacher["test_accuracy"]) <= min(0.001, 1.0 / n) + 1e-9,
          f"Python teacher accuracy {teacher_acc} differs from the reported {teacher['test_accuracy']}")
# The no-teacher control: the same steps as distill, its accuracy reproduced
# by Python from models/student_control.pt, the gain computed from the two.
gain = metrics["distillation_gain"]
if with_control:
    by_name = {st["name"]: st for st in metrics["stages"]}
    control = by_name["control"]["model"]
    check(by_name["control"]["steps"] == by_name["distill"]["steps"] > 0,
          f"control trained {by_name['control']['steps']} steps, distill {by_name['distill']['steps']}")
    check(control["parameters"] == metrics["student_dense"]["parameters"], "control is another model")
    with torch.no_grad():
        control_pred = torch.jit.load(os.path.join(run, "models", "student_control.pt"))(x)
    control_acc = float((control_pred.argmax(1).numpy() == labels[:n]).mean())
    check(abs(control_acc - control["test_accuracy"]) <= min(0.001, 1.0 / n) + 1e-9,
          f"Python control accuracy {control_acc} differs from the reported {control['test_accuracy']}")
    want = 100 * (metrics["student_dense"]["test_accuracy"] - control["test_accuracy"])
    check(abs(gain["points_test"] - want) < 1e-9, f"gain {gain['points_test']} is not {want}")
    check(gain["control"]["test_accuracy"] == control["test_accuracy"], "gain: control accuracy")
    check(metrics["cost"]["control_training_seconds"] == by_name["control"]["seconds"], "cost: control")
    # Only distillation and the fine-tunes read soft labels, never the control.
    recipe = metrics["recipe"]
    epochs = recipe["student"]["epochs"] + sum(st["epochs"] for st in recipe["prune"]["stages"])
    if len(metrics["prune_schedule"]["attempts"]) == len(recipe["prune"]["stages"]):
        check(metrics["soft_label_reads"] == recipe["train_samples"] * epochs,
              f"soft_label_reads {metrics['soft_label_reads']}: the control read soft labels?")
else:
    check(gain is None, f"distillation_gain without a control: {gain}")
weights = [p for name, p in model.named_parameters() if p.dim() >= 2]
zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
check(abs(zeros - metrics["target_sparsity"]) < 0.01, f"student.pt has sparsity {zeros}")
# The deployment export: side-by-side latency, cost, recipe, card, report.
cmp = metrics["comparison"]
for who in ["teacher", "student"]:
    side = cmp[who]
    for b in ["batch_1", "batch_64"]:
        lat = side["latency_ms"][b]
        check(0 < lat["min"] <= lat["median"] <= lat["max"], f"{who} latency {b}: {lat}")
        check(side["throughput_samples_per_s"][b] > 0, f"{who} throughput {b}")
    check(side["file_bytes"] > 0, f"{who} file_bytes")
for b in ["batch_1", "batch_64"]:
    ratio = cmp["teacher"]["latency_ms"][b]["median"] / cmp["student"]["latency_ms"][b]["median"]
    check(abs(cmp["speedup"][b] - ratio) < 1e-6 * ratio, f"speedup {b} is not the latency ratio")
check(cmp["student"]["test_accuracy"] == student["test_accuracy"], "comparison student accuracy")
check(cmp["threads"] >= 1 and cmp["device"] == "cpu", "latency thread count / device")
check(metrics["student_file_bytes"] == os.path.getsize(os.path.join(run, "export", "student.pt")),
      "student_file_bytes is not the size of export/student.pt")
cost = metrics["cost"]
check(cost["teacher_forward_passes"] == metrics["teacher_forward_samples"], "cost: passes paid")
check(cost["teacher_forward_passes_avoided"] == metrics["soft_label_reads"] > 0, "cost: avoided")
label_seconds = [st["seconds"] for st in metrics["stages"] if st["name"] == "label"][0]
check(abs(cost["teacher_inference_seconds"] - label_seconds) < 1e-9, "cost: labelling seconds")
check(metrics["recipe"]["test_samples"] == n, f"recipe test_samples {metrics['recipe']['test_samples']}")
int8 = metrics["int8"]
int8_path = os.path.join(run, "export", "student_int8.pt")
if int8["available"]:
    # Python loads the quantized student too and reproduces its accuracy.
    check(int8["file_bytes"] == os.path.getsize(int8_path), "int8 file_bytes")
    check(int8["file_bytes"] < metrics["student_file_bytes"], "int8 student is not smaller")
    # Dynamic quantization scales activations per batch: use the export's batches.
    int8_model, bs = torch.jit.load(int8_path), int8["test_batch_size"]
    with torch.no_grad():
        int8_pred = np.concatenate([int8_model(x[i:i + bs]).argmax(1).numpy()
                                    for i in range(0, n, bs)])
    int8_acc = float((int8_pred == labels[:n]).mean())
    check(abs(int8_acc - int8["test_accuracy"]) <= min(0.001, 1.0 / n) + 1e-9,
          f"Python int8 accuracy {int8_acc} differs from the reported {int8['test_accuracy']}")
    check(abs(int8_acc - acc) < 0.02, f"int8 accuracy {int8_acc} far from float32 {acc}")
    for b in ["batch_1", "batch_64"]:
        check(int8["latency_ms"][b]["median"] > 0, f"int8 latency {b}")
else:
    check(len(int8["reason"]) > 20 and not os.path.exists(int8_path), f"int8: {int8}")
layers = metrics["sparsity_per_layer"]
check(sum(l["numel"] for l in layers) == sum(w.numel() for w in weights), "sparsity_per_layer numel")

card = open(os.path.join(run, "export", "README.md")).read()
check(card.startswith("---\n") and "\n---\n" in card[4:], "README.md has no YAML front matter")
front_text = card[4:card.index("\n---\n", 4)]
try:
    import yaml
    front = yaml.safe_load(front_text)
except ImportError:  # python3-yaml missing: read the flat keys by hand
    front = {l.split(":", 1)[0]: l.split(":", 1)[1].strip().strip('"')
             for l in front_text.splitlines() if ":" in l and not l.startswith(" ")}
    front["metrics"] = {l.split(":", 1)[0].strip(): float(l.split(":", 1)[1])
                        for l in front_text.splitlines() if l.startswith("  ")}
check(front["dataset"] == "fashion_mnist", f"card dataset {front['dataset']}")
check(front["teacher"] == metrics["teacher_source"], "card teacher")
check(abs(front["metrics"]["test_accuracy"] - student["test_accuracy"]) < 1e-6, "card accuracy")
check(abs(front["metrics"]["cpu_latency_ms_batch_1"] -
          cmp["student"]["latency_ms"]["batch_1"]["median"]) < 1e-5, "card latency")
for needle in ["torch.jit.load(", "torch::jit::load(", "## Compression recipe", "```yaml",
               "Gain from distillation"]:
    check(needle in card, f"README.md lacks {needle}")
check(os.path.isfile(os.path.join(run, "export", "report.html")), "missing export/report.html")
progress = json.load(open(os.path.join(run, "progress.json")))
check(progress["finished"] and all(st["done"] for st in progress["stages"]),
      f"progress.json does not show a finished job: {progress}")

print(f"ok: {len(seen)} labelled samples, teacher {teacher['test_accuracy']:.4f}, "
      f"student {student['test_accuracy']:.4f} (Python {acc:.4f}), sparsity {zeros:.3f}")
