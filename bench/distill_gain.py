#!/usr/bin/env python3
"""One row of bench/distill_gain.sh: distill_gain.py RUN_DIR SEED SECONDS,
or the closing line: distill_gain.py --summary GAIN_TXT.

A row is the distilled student's and the control's test accuracy as the job
reported them, each reproduced by loading the saved TorchScript model in
Python (torch.jit.load) and evaluating it on the job's test images."""
import gzip
import json
import os
import sys

import numpy as np
import torch


def test_images(run):
    cfg = open(os.path.join(run, "config.resolved.yaml")).read().splitlines()
    data_dir = [l.split(":", 1)[1].split("#")[0].strip().strip('"') for l in cfg
                if l.strip().startswith("path:")][0]
    n = int([l.split(":", 1)[1].split("#")[0] for l in cfg if l.strip().startswith("test_subset:")][0])
    with gzip.open(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    n = n or len(y)
    return torch.from_numpy(x[:n].astype(np.float32) / 255.0), y[:n]


def python_accuracy(path, x, y):
    model = torch.jit.load(path).eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred.numpy() == y).mean())


def row(run, seed, seconds):
    summary = json.load(open(os.path.join(run, "summary.json")))
    student = summary["student_dense"]["test_accuracy"]
    control = summary["student_control"]["test_accuracy"]
    x, y = test_images(run)
    py_student = python_accuracy(os.path.join(run, "models", "student_distilled.pt"), x, y)
    py_control = python_accuracy(os.path.join(run, "models", "student_control.pt"), x, y)
    for name, ours, theirs in (("student", student, py_student), ("control", control, py_control)):
        if abs(ours - theirs) > 1.0 / len(y) + 1e-9:
            sys.exit(f"{run}: Python {name} accuracy {theirs} differs from condenser's {ours}")
    print(f"seed {seed}: student {100 * student:.2f} %  control {100 * control:.2f} %  "
          f"gain {100 * (student - control):+.2f} points  ({seconds} s; Python agrees)")


def summary(path):
    gains = [float(l.split("gain ")[1].split()[0]) for l in open(path) if l.startswith("seed ")]
    print(f"mean gain {sum(gains) / len(gains):+.2f} points over {len(gains)} seed(s), "
          f"smallest {min(gains):+.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2])
    else:
        row(sys.argv[1], sys.argv[2], sys.argv[3])
