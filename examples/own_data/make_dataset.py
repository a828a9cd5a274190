#!/usr/bin/env python3
"""Writes an HDF5 dataset in the layout condenser reads (data.dataset: hdf5).

  make_dataset.py images OUT.h5 [--train N] [--test N]
      Fashion-MNIST made into 3x32x32 colour images: each 28x28 picture is
      padded to 32x32 and tinted with a random colour (the colour says nothing
      about the class), stored as uint8 with scale 1/255 and per-channel mean
      and std, plus the class names.
  make_dataset.py tabular OUT.h5 [--train N]
      Tabular rows [N, 12] float32 in 4 classes (noisy non-linear clusters),
      with a train group only: condenser carves validation and test from it.

The layout: groups train (required), validation and test (optional), each
with `inputs` [N, ...] and `labels` [N] int64; file attributes num_classes,
class_names, scale, mean, std (all optional).
"""
import argparse
import gzip
import os

import h5py
import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def coloured(images, seed):
    """[N, 28, 28] uint8 -> [N, 3, 32, 32] uint8, padded and tinted."""
    rng = np.random.default_rng(seed)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    tint = rng.uniform(0.35, 1.0, size=(len(images), 3, 1, 1))
    return np.round(padded[:, None].astype(np.float64) * tint).astype(np.uint8)


def images(out, source, train_n, test_n):
    parts = {"train": ("train", train_n, 1), "test": ("t10k", test_n, 2)}
    with h5py.File(out, "w") as f:
        for group, (prefix, n, seed) in parts.items():
            x = read_idx(os.path.join(source, prefix + "-images-idx3-ubyte.gz"))[:n]
            y = read_idx(os.path.join(source, prefix + "-labels-idx1-ubyte.gz"))[:n]
            g = f.create_group(group)
            g.create_dataset("inputs", data=coloured(x, seed), chunks=True)
            g.create_dataset("labels", data=y.astype(np.int64))
        train = f["train/inputs"][:].astype(np.float64) / 255.0
        f.attrs["num_classes"] = 10
        f.attrs["class_names"] = NAMES
        f.attrs["scale"] = 1.0 / 255.0
        f.attrs["mean"] = train.mean(axis=(0, 2, 3))
        f.attrs["std"] = train.std(axis=(0, 2, 3))


def tabular(out, train_n):
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 2.5, size=(4, 12))
    y = rng.integers(0, 4, size=train_n)
    x = centres[y] + rng.normal(0, 1.6, size=(train_n, 12))
    x[:, 0] += np.sin(x[:, 1]) * 2.0  # a non-linear twist an MLP can learn
    with h5py.File(out, "w") as f:
        g = f.create_group("train")
        g.create_dataset("inputs", data=x.astype(np.float32))
        g.create_dataset("labels", data=y.astype(np.int64))
        f.attrs["class_names"] = ["north", "east", "south", "west"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["images", "tabular"])
    p.add_argument("out")
    p.add_argument("--train", type=int, default=60000)
    p.add_argument("--test", type=int, default=10000)
    p.add_argument("--source", default=FASHION, help="Fashion-MNIST IDX folder")
    a = p.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    if a.kind == "images":
        images(a.out, a.source, a.train, a.test)
    else:
        tabular(a.out, a.train)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
