#!/usr/bin/env python3
"""GFLOP/s of one float32 matrix product through LibTorch's BLAS.

  /usr/bin/python3 bench/blas_gemm.py [--threads 2]

Debian's torch calls whichever libblas.so.3 the system provides: the
reference BLAS by default, OpenBLAS once libopenblas0-pthread is installed
(scripts/install-deps.sh installs it). Run with
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas to time the reference BLAS
side by side.
"""
import argparse
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
x, y = torch.randn(4096, 256), torch.randn(256, 1024)
for _ in range(3):
    x @ y
n, start = 20, time.time()
for _ in range(n):
    x @ y
seconds = (time.time() - start) / n
print(f"{2 * 4096 * 256 * 1024 / seconds / 1e9:.1f} GFLOP/s (4096x256 @ 256x1024, float32)")
