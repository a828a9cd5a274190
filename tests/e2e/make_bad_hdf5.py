#!/usr/bin/env python3
"""Writes HDF5 datasets that condenser must refuse, each with one fault:
bad_labels.h5 (label 10 of 10 classes at index 5), nan.h5 (NaN at sample 7),
no_train.h5 (only a test group), mismatch.h5 (test samples of another shape).

  make_bad_hdf5.py DIR
"""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)


def split(f, name, n, shape=(6,), dtype=np.float32):
    g = f.create_group(name)
    g.create_dataset("inputs", data=rng.normal(size=(n,) + shape).astype(dtype))
    g.create_dataset("labels", data=rng.integers(0, 3, size=n).astype(np.int64))
    return g


with h5py.File(os.path.join(out, "bad_labels.h5"), "w") as f:
    g = split(f, "train", 40)
    labels = g["labels"][:]
    labels[5] = 10
    g["labels"][:] = labels
    split(f, "test", 10)
    f.attrs["num_classes"] = 10
with h5py.File(os.path.join(out, "nan.h5"), "w") as f:
    g = split(f, "train", 40)
    x = g["inputs"][:]
    x[7, 2] = np.nan
    g["inputs"][:] = x
    split(f, "test", 10)
with h5py.File(os.path.join(out, "no_train.h5"), "w") as f:
    split(f, "test", 10)
with h5py.File(os.path.join(out, "mismatch.h5"), "w") as f:
    split(f, "train", 40)
    split(f, "test", 10, shape=(7,))
print("wrote bad datasets to", out)
