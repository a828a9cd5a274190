#!/usr/bin/env python3
"""PyTorch reference for condenser's kd_loss (tests/trainers/losses_test.cpp).

usage: kd_reference.py INPUT.json OUTPUT.json

INPUT.json: {"student": [[...], ...], "teacher": [[...], ...], "labels": [...],
             "cases": [[T, alpha], ...]}
OUTPUT.json: {"losses": [...]}, one loss per case, computed in float64 as
  alpha * T^2 * F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1),
                         log_target=True, reduction="batchmean")
  + (1 - alpha) * F.cross_entropy(s, y)
Run with an interpreter that has torch (/usr/bin/python3 on Debian).
"""
import json
import sys

import torch
import torch.nn.functional as F


def kd(s, t, y, temperature, alpha):
    soft = F.kl_div(F.log_softmax(s / temperature, 1), F.log_softmax(t / temperature, 1),
                    log_target=True, reduction="batchmean")
    return alpha * temperature * temperature * soft + (1 - alpha) * F.cross_entropy(s, y)


def main(input_path, output_path):
    with open(input_path) as f:
        data = json.load(f)
    s = torch.tensor(data["student"], dtype=torch.float64)
    t = torch.tensor(data["teacher"], dtype=torch.float64)
    y = torch.tensor(data["labels"], dtype=torch.int64)
    losses = [kd(s, t, y, float(T), float(a)).item() for T, a in data["cases"]]
    with open(output_path, "w") as f:
        json.dump({"losses": losses}, f)
    print("kd_reference:", losses)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
