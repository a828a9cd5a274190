#!/usr/bin/env python3
"""Trains a small residual CNN teacher in PyTorch on an HDF5 image dataset
(make_dataset.py images) and saves it as TorchScript for condenser.

  train_teacher.py DATA.h5 OUT.pt [--epochs E] [--rows N]

The teacher takes what condenser feeds every model of an HDF5 dataset:
float32 inputs made from the stored values as (stored * scale - mean) / std
per channel. It is saved in eval mode (BatchNorm uses its running statistics).
"""
import argparse

import h5py
import numpy as np
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                                  nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c))

    def forward(self, x):
        return torch.relu(x + self.body(x))


class Teacher(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            Block(32), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            Block(64), nn.MaxPool2d(2),
            Block(64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))

    def forward(self, x):
        return self.net(x)


def normalised(f, split, rows):
    x = f[split + "/inputs"][:rows].astype(np.float32) * float(f.attrs["scale"])
    mean = np.asarray(f.attrs["mean"], np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(f.attrs["std"], np.float32).reshape(1, -1, 1, 1)
    return torch.from_numpy((x - mean) / std), torch.from_numpy(f[split + "/labels"][:rows])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rows", type=int, default=0, help="train on the first N rows (0 = all)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    with h5py.File(a.data, "r") as f:
        rows = a.rows or len(f["train/labels"])
        x, y = normalised(f, "train", rows)
        classes = int(f.attrs["num_classes"])
    model = Teacher(classes)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(y))
        for i in range(0, len(y), 128):
            idx = order[i:i + 128]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}")
    torch.jit.save(torch.jit.script(model.eval()), a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
