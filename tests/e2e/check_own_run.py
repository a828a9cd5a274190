#!/usr/bin/env python3
"""Checks a finished run on a user's HDF5 dataset from Python alone.

  check_own_run.py RUN_DIR DATA.h5

- export/student.pt loads with torch.jit.load and, fed the file's test split
  normalised as its attributes say, reproduces condenser's test accuracy
  (to 0.1 point; a file without a test split: the export runs on train rows
  and returns [N, classes] finite logits);
- its sparsity over conv/linear weights is the reported one;
- metrics.json and the model card name the file's SHA-256, the input shape
  and the normalisation.
"""
import hashlib
import json
import os
import sys

import h5py
import numpy as np
import torch


def check(ok, what):
    if not ok:
        print("FAIL:", what)
        sys.exit(1)


run, data = sys.argv[1], sys.argv[2]
metrics = json.load(open(os.path.join(run, "export", "metrics.json")))
card = open(os.path.join(run, "export", "README.md")).read()
model = torch.jit.load(os.path.join(run, "export", "student.pt"), map_location="cpu").eval()

sha = hashlib.sha256(open(data, "rb").read()).hexdigest()
check(metrics["dataset_fingerprint"] == sha, "metrics do not carry the dataset file's SHA-256")
check(sha in card, "the model card does not name the dataset's SHA-256")


def inputs(f, split, rows):
    x = f[split + "/inputs"][:rows]
    if x.dtype == np.int64:
        return torch.from_numpy(x)
    x = x.astype(np.float32) * np.float32(f.attrs.get("scale", 1.0))
    if "mean" in f.attrs:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean = np.asarray(f.attrs["mean"], np.float32).reshape(shape)
        std = np.asarray(f.attrs["std"], np.float32).reshape(shape)
        x = (x - mean) / std
    return torch.from_numpy(x.astype(np.float32))


with h5py.File(data, "r") as f:
    sample_shape = list(f["train/inputs"].shape[1:])
    check(metrics["input"]["shape"] == ["N"] + sample_shape,
          f"input shape {metrics['input']['shape']} is not [N] + {sample_shape}")
    classes = metrics["input"]["classes"]
    if "test" in f:
        n = metrics["recipe"]["test_samples"]
        x, y = inputs(f, "test", n), torch.from_numpy(f["test/labels"][:n])
        with torch.no_grad():
            acc = (model(x).argmax(1) == y).double().mean().item()
        want = metrics["student_final"]["test_accuracy"]
        check(abs(acc - want) < 1e-3, f"Python test accuracy {acc:.4f}, condenser {want:.4f}")
        print(f"test accuracy {acc:.4f} on {n} samples, as condenser reports")
    else:
        x = inputs(f, "train", 256)
        with torch.no_grad():
            out = model(x)
        check(list(out.shape) == [len(x), classes], f"output shape {list(out.shape)}")
        check(bool(torch.isfinite(out).all()), "non-finite logits")

zeros = total = 0
for name, p in model.named_parameters():
    if p.dim() >= 2:
        zeros += int((p == 0).sum())
        total += p.numel()
reported = metrics["student_final"]["sparsity"]
check(abs(zeros / total - reported) < 1e-6, f"sparsity {zeros / total:.6f}, reported {reported:.6f}")
print(f"ok: sparsity {reported:.4f}, dataset sha256 {sha[:12]}, input {metrics['input']['shape']}")
