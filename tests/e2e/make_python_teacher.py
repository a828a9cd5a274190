#!/usr/bin/env python3
"""Writes a teacher the way a PyTorch user would: an nn.Module, scripted and
saved with torch.jit.save. Usage: make_python_teacher.py OUT.pt [CLASSES [SEED]]"""
import os
import sys

import torch
from torch import nn

classes = int(sys.argv[2]) if len(sys.argv) > 2 else 10
torch.manual_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(8 * 14 * 14, classes))
os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)  # run alone, e2e/ may not exist yet
torch.jit.save(torch.jit.script(model.eval()), sys.argv[1])
print("wrote", sys.argv[1])
