#!/usr/bin/env python3
"""Writes a TorchScript teacher whose logits are NaN for a few bright images
(mean pixel above a threshold) and finite for every other one, in particular
for the samples the up-front probe runs (the first training samples of the
tiny job's split, and the first samples of the dataset).
Usage: integrity_nan_teacher.py OUT.pt DATA_DIR SEED VALIDATION_SIZE TRAIN_SUBSET"""
import gzip
import os
import sys

import numpy as np
import torch
from torch import nn

MASK = (1 << 64) - 1


class SplitMix64:  # data/sampling.h, bit for bit
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, bound):
        threshold = ((1 << 64) - bound) % bound
        while True:
            r = self.next()
            if r >= threshold:
                return r % bound


def mix_seed(seed, salt):
    g = SplitMix64(seed ^ ((salt * 0xD1B54A32D192ED03) & MASK))
    g.next()
    return g.next()


def training_samples(n, seed, validation_size, train_subset):  # make_train_val_split
    p = list(range(n))
    g = SplitMix64(mix_seed(seed, 0x5117))
    for i in range(n - 1, 0, -1):
        j = g.below(i + 1)
        p[i], p[j] = p[j], p[i]
    end = min(n, validation_size + train_subset) if train_subset > 0 else n
    return sorted(p[validation_size:end])


class NanForBright(nn.Module):
    def __init__(self, threshold: float):
        super().__init__()
        self.threshold = threshold
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))

    def forward(self, x):
        logits = self.net(x)
        bright = x.mean(dim=(1, 2, 3)) > self.threshold
        return torch.where(bright.unsqueeze(1), torch.full_like(logits, float("nan")), logits)


def main():
    out, data, seed, validation_size, train_subset = sys.argv[1:6]
    with gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28 * 28)
    means = images.astype(np.float64).mean(axis=1) / 255.0
    train = training_samples(len(images), int(seed), int(validation_size), int(train_subset))
    probe = train[:16] + list(range(16))  # more than the probe runs, to be safe
    train_means = np.sort(means[train])
    # A few of the labelled samples (the brightest 2 %), none of the probe's.
    threshold = float(train_means[int(len(train_means) * 0.98)])
    threshold = max(threshold, float(means[probe].max()))
    above = [i for i in train if means[i] > threshold + 1e-4]
    assert above, "no training sample would get a NaN; lower the threshold"
    threshold += 1e-4 / 2  # between pixel means, away from float32 rounding
    assert all(means[i] < threshold for i in probe)
    torch.manual_seed(0)
    model = NanForBright(threshold).eval()
    x = torch.tensor(images[probe[:4]], dtype=torch.float32).view(-1, 1, 28, 28) / 255.0
    assert torch.isfinite(model(x)).all() and torch.isfinite(model(x[:1])).all()
    torch.jit.save(torch.jit.script(model), out)
    print(f"wrote {out}: NaN for {len(above)} of {len(train)} training samples, e.g. {above[0]}")


main()
