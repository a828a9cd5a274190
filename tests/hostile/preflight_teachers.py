#!/usr/bin/env python3
"""Writes TorchScript teachers that do not fit condenser's data, as a careless
user might save them, plus one that does. Usage: preflight_teachers.py DIR"""
import os
import sys

import torch
from torch import nn

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


class FixedBatch(nn.Module):
    """Written for a batch of exactly 2 (a hard-coded view)."""
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.view(2, 784))


class BatchOfTwo(nn.Module):
    """Runs on any batch but always answers for two images."""
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.reshape(x.size(0), -1))[:2]


class NaNs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.flatten(1)) * float("nan")


class BatchDependent(nn.Module):
    """Normalises by the batch's own mean: a sample's logits depend on its batch mates."""
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc(x - x.mean(0, keepdim=True))


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        y = self.fc(x.flatten(1))
        return y, y


teachers = {
    "linear_10_3": nn.Linear(10, 3),
    "three_classes": nn.Sequential(nn.Flatten(), nn.Linear(784, 3)),
    "fixed_batch": FixedBatch(),
    "batch_of_two": BatchOfTwo(),
    "nan": NaNs(),
    "batch_dependent": BatchDependent(),
    "pair": Pair(),
    "good": nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 14 * 14, 10)),
}
for name, model in teachers.items():
    torch.jit.save(torch.jit.script(model.eval()), os.path.join(out, name + ".pt"))
with open(os.path.join(out, "not_torchscript.pt"), "w") as f:
    f.write("name: quick\n")
print("wrote", len(teachers) + 1, "teachers to", out)
