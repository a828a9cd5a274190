#!/usr/bin/env python3
"""Writes a student for condenser to train: a PyTorch module, scripted and
saved untrained (condenser distills it from its own initial weights).

  make_student.py OUT.pt [--channels C] [--classes K] [--side S]
"""
import argparse

import torch
from torch import nn


class Student(nn.Module):
    def __init__(self, channels, classes, side):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * (side // 4) ** 2, 64), nn.ReLU(),
                                  nn.Dropout(0.1), nn.Linear(64, classes))

    def forward(self, x):
        return self.head(self.features(x))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--side", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.jit.save(torch.jit.script(Student(a.channels, a.classes, a.side)), a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
