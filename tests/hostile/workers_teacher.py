#!/usr/bin/env python3
"""A TorchScript teacher slow enough that labelling lasts a few seconds, so a
test can act on a job while its local worker labels. Usage:
workers_teacher.py OUT.pt [WIDTH]  (WIDTH: conv channels, cost ~ WIDTH^2)."""
import sys

import torch
from torch import nn

width = int(sys.argv[2]) if len(sys.argv) > 2 else 48
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(width * 14 * 14, 10))
torch.jit.save(torch.jit.script(model.eval()), sys.argv[1])
