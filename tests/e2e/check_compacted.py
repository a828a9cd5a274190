#!/usr/bin/env python3
"""A structured-pruning run exports a physically smaller student: fewer
parameters and a smaller file than the dense distilled student, and Python
reproduces its reported test accuracy.

Usage: check_compacted.py RUN_DIR
"""
import json
import os
import sys

import torch

run = sys.argv[1]
metrics = json.load(open(os.path.join(run, "export", "metrics.json")))
exported = os.path.join(run, "export", "student.pt")
dense = os.path.join(run, "models", "student_distilled.pt")
size, dense_size = os.path.getsize(exported), os.path.getsize(dense)
if metrics["student_file_bytes"] != size or metrics["dense_student_file_bytes"] != dense_size:
    sys.exit(f"FAIL: metrics.json file sizes {metrics['student_file_bytes']}, "
             f"{metrics['dense_student_file_bytes']} differ from the files ({size}, {dense_size})")
if not size < dense_size:
    sys.exit(f"FAIL: compacted student.pt is {size} bytes, the dense one {dense_size}")
count = lambda m: sum(p.numel() for p in m.parameters())
small, big = count(torch.jit.load(exported)), count(torch.jit.load(dense))
if not small < big or small != metrics["student_final"]["parameters"]:
    sys.exit(f"FAIL: compacted student has {small} parameters, dense {big}, "
             f"metrics.json says {metrics['student_final']['parameters']}")
# 50 % of the channels: conv1 16 -> 8, conv2 24 -> 12, the hidden linear
# 32 -> 16; the class layer keeps its 10 (prune.exclude auto is [] here).
shapes = {n: tuple(p.shape) for n, p in torch.jit.load(exported).named_parameters()}
want = {"l0_w": 8, "l4_w": 12, "l9_w": 16, "l11_w": 10}
got = {n: shapes[n][0] for n in want}
if got != want:
    sys.exit(f"FAIL: output channels {got}, expected {want}")
if shapes["l9_w"][1] != 12 * 7 * 7 or shapes["l4_w"][1] != 8:
    sys.exit(f"FAIL: inputs do not follow the kept channels: {shapes}")
print(f"ok: compacted student.pt {size} bytes < dense {dense_size} bytes; {small} < {big} parameters")
