#!/usr/bin/env python3
"""Checks that h5py reads a condenser soft-label shard as docs/architecture.md ("Soft-label shards") promises.

usage: read_shard.py SHARD.h5 EXPECTED.json

EXPECTED.json (written by tests/data/shard_h5py_test.cpp) holds the exact
dataset values, numpy dtypes and root attributes; a dataset's optional
"source" holds the float32 values before storage, which numpy must cast to
exactly what was stored (checks our float16 rounding independently). An
optional "topk_check" ({"logits", "shape", "k", "temperature"}) holds the
original float32 logits of a top-k shard: numpy's own top-k (descending, ties
by lower class index) and logsumexp(logits / temperature) must match the
shard's topk_indices, topk_values and logsumexp. An optional "decoded"
({"values": [...]}) holds the float32 logits condenser's reader returned for a
shard with a value_format attribute: this script decodes topk_values itself
(float16/float32 as stored, bfloat16 bits << 16, int8 as topk_offset - code *
topk_step) and must get them exactly; for bfloat16 it also checks torch's own
rounding of "decoded.source" when torch imports. Prints what it read and
exits 0 when everything matches, 1 (with the mismatches) otherwise.
Run with an interpreter that has h5py and numpy (/usr/bin/python3 on Debian).
"""
import json
import sys

import h5py
import numpy as np


def check_topk(f, spec, errors):
    """Recomputes top-k and logsumexp from the source logits with numpy.

    Token windows ([N, P, k], [N, P]) are compared as [N * P, k] and [N * P]."""
    x = np.asarray(spec["logits"], dtype=np.float32).reshape(spec["shape"])
    k, t = spec["k"], spec["temperature"]
    order = np.argsort(-x, axis=1, kind="stable")[:, :k]  # stable: ties keep lower index first
    stored_idx = f["topk_indices"][()].reshape(-1, k)
    if not np.array_equal(stored_idx, order.astype(np.int32)):
        errors.append(f"topk_indices differ from numpy's top-k:\n{stored_idx}\n{order}")
    values = np.take_along_axis(x, order, axis=1)
    fmt = f.attrs.get("value_format", "float16")
    if fmt in ("float16", "float32"):
        stored_values = f["topk_values"][()].reshape(-1, k)
        if not np.array_equal(stored_values, values.astype(stored_values.dtype)):
            errors.append(f"topk_values differ from numpy's top-k values:\n{values}")
    scaled = x.astype(np.float64) / t
    peak = scaled.max(axis=1, keepdims=True)
    lse = (peak + np.log(np.exp(scaled - peak).sum(axis=1, keepdims=True)))[:, 0]
    stored = f["logsumexp"][()].reshape(-1)
    if not np.allclose(stored, lse.astype(np.float32), rtol=1e-6, atol=1e-6):
        errors.append(f"logsumexp {stored} != numpy's {lse}")
    # The kept classes' tempered probabilities are a sub-distribution.
    decoded = decode_values(f).reshape(-1, k)
    probs = np.exp(decoded.astype(np.float64) / t - stored[:, None].astype(np.float64))
    if (probs.sum(axis=1) > 1 + 1e-2).any():
        errors.append(f"top-k probabilities sum above 1: {probs.sum(axis=1)}")
    print(f"topk_check: k={k} T={t} max |logsumexp - numpy| = {np.abs(stored - lse).max():.3g}")


def decode_values(f):
    """topk_values as float32 logits, as docs/architecture.md describes each value_format."""
    fmt = f.attrs.get("value_format", "float16")
    raw = f["topk_values"][()]
    if fmt in ("float16", "float32"):
        return raw.astype(np.float32)
    if fmt == "bfloat16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if fmt == "int8":
        offset = f["topk_offset"][()][..., None]
        step = f["topk_step"][()][..., None]
        return (offset - raw.astype(np.float32) * step).astype(np.float32)
    raise ValueError(f"unknown value_format {fmt}")


def check_decoded(f, spec, errors):
    got = decode_values(f)
    want = np.asarray(spec["values"], dtype=np.float32).reshape(got.shape)
    if not np.array_equal(got, want):
        errors.append(f"decoded topk_values differ from condenser's reader: max diff "
                      f"{np.abs(got - want).max()}")
    fmt = f.attrs.get("value_format")
    if fmt == "bfloat16" and "source" in spec:
        try:
            import torch
            ref = torch.tensor(np.asarray(spec["source"], dtype=np.float32)).to(torch.bfloat16)
            ref = ref.to(torch.float32).numpy().reshape(got.shape)
            if not np.array_equal(got, ref):
                errors.append("bfloat16 values differ from torch's rounding")
        except ImportError:
            print("torch not importable: bfloat16 rounding not cross-checked")
    print(f"decoded: value_format={fmt} shape={got.shape}")


def main(shard_path, expected_path):
    with open(expected_path) as f:
        want = json.load(f)
    errors = []
    with h5py.File(shard_path, "r") as f:
        for name, spec in want["datasets"].items():
            if name not in f:
                errors.append(f"dataset {name} missing")
                continue
            ds = f[name]
            data = ds[()]
            print(f"{name}: dtype={ds.dtype} shape={ds.shape} chunks={ds.chunks}")
            if ds.dtype != np.dtype(spec["dtype"]):
                errors.append(f"{name}: dtype {ds.dtype} != {spec['dtype']}")
            if list(ds.shape) != spec["shape"]:
                errors.append(f"{name}: shape {list(ds.shape)} != {spec['shape']}")
            values = np.asarray(spec["values"], dtype=np.float64).reshape(spec["shape"])
            if not np.array_equal(data.astype(np.float64), values):
                errors.append(f"{name}: values differ:\n{data}\nexpected\n{values}")
            if "source" in spec:
                # Independent check of our float->half rounding: numpy's cast
                # of the original float32 values must give the stored ones.
                source = np.asarray(spec["source"], dtype=np.float32).reshape(spec["shape"])
                if not np.array_equal(data, source.astype(ds.dtype)):
                    errors.append(f"{name}: differs from numpy's cast of the source values")
            if ds.chunks is not None:
                chunk_bytes = int(np.prod(ds.chunks)) * ds.dtype.itemsize
                row_bytes = int(np.prod(ds.shape[1:])) * ds.dtype.itemsize
                if chunk_bytes > max(1 << 20, row_bytes):
                    errors.append(f"{name}: chunk of {chunk_bytes} bytes exceeds 1 MiB")
        if "topk_check" in want:
            check_topk(f, want["topk_check"], errors)
        if "decoded" in want:
            check_decoded(f, want["decoded"], errors)
        for name, value in want["attributes"].items():
            if name not in f.attrs:
                errors.append(f"attribute {name} missing")
                continue
            got = f.attrs[name]
            print(f"@{name} = {got!r}")
            if isinstance(value, str):
                # Variable-length UTF-8 strings come back as str, not bytes.
                if not isinstance(got, str) or got != value:
                    errors.append(f"@{name}: {got!r} != {value!r}")
            elif isinstance(value, int):
                if not np.issubdtype(np.asarray(got).dtype, np.integer) or int(got) != value:
                    errors.append(f"@{name}: {got!r} != {value!r} (integer)")
            elif float(got) != value:
                errors.append(f"@{name}: {got!r} != {value!r}")
    for e in errors:
        print("MISMATCH:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
