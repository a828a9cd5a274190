#!/usr/bin/env python3
"""Python half of the interop check (see interop_check.cpp).
Usage: interop_check.py RUN_DIR EXPECTED_JSON"""
import json
import sys

import h5py
import numpy as np
import torch

run, expected_path = sys.argv[1], sys.argv[2]
expected = json.load(open(expected_path))
model = torch.jit.load(f"{run}/export/student.pt")
x = torch.tensor(expected["inputs"], dtype=torch.float32).reshape(-1, 1, 28, 28)
with torch.no_grad():
    y = model(x).numpy().ravel()
diff = np.abs(y - np.array(expected["outputs"], dtype=np.float32)).max()
if diff > 1e-5:
    sys.exit(f"FAIL: torch.jit.load outputs differ from LibTorch's by {diff}")

with h5py.File(expected["shard"], "r") as f:
    n = len(expected["sample_index"])
    if f["sample_index"][:n].tolist() != expected["sample_index"]:
        sys.exit("FAIL: h5py sample_index differs from the C++ reader's")
    logits = f["logits"][:n].astype(np.float32).ravel()
if not np.array_equal(logits, np.array(expected["logits"], dtype=np.float32)):
    sys.exit("FAIL: h5py logits differ from the C++ reader's")
print(f"ok: student outputs match within {diff:.2e}; shard rows match exactly")
