#!/usr/bin/env python3
"""Teacher logits of real token windows, for `condenser bench topk_kl`.

  lm_teacher_logits.py TEACHER.pt TOKENS.h5 OUT.pt [--windows 64] [--seq-len 128]

Runs a language-model teacher (TorchScript, [N, T] int64 ids -> [N, T, V])
over the first windows of the token file's validation split and saves the
logits as one float32 [windows * T, V] tensor:

  CONDENSER_TOPK_KL_LOGITS=OUT.pt build/app/condenser bench topk_kl
"""
import argparse

import h5py
import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("teacher")
p.add_argument("tokens")
p.add_argument("out")
p.add_argument("--windows", type=int, default=64)
p.add_argument("--seq-len", type=int, default=128)
a = p.parse_args()

with h5py.File(a.tokens, "r") as f:
    stream = f["validation/tokens"][: a.windows * a.seq_len].astype(np.int64)
n = len(stream) // a.seq_len
x = torch.from_numpy(stream[: n * a.seq_len].reshape(n, a.seq_len))
model = torch.jit.load(a.teacher, map_location="cpu").eval()
with torch.no_grad():
    logits = torch.cat([model(x[i:i + 16]) for i in range(0, n, 16)])
logits = logits.reshape(-1, logits.shape[-1]).float().contiguous()
torch.save(logits, a.out)
print(f"{logits.shape[0]} tokens x {logits.shape[1]} logits -> {a.out}")
