#!/usr/bin/env python3
"""PyTorch reference for condenser's topk_reconstruction_kl (data/shards/topk_kl.h),
checked by tests/data/shards/topk_kl_test.cpp.

usage: topk_kl_reference.py INPUT.json OUTPUT.json

INPUT.json: {"logits": rows x V, "T": T, "values": rows x k (as read back),
             "indices": rows x k, "logsumexp": rows}
OUTPUT.json: {"kl": [...]} per row, from the FULL softmax in float64:
  p = softmax(logits / T)
  q = tail / (V - k) everywhere, then q[indices] = exp(values / T - logsumexp)
      with tail = max(1 - sum of the kept q, 1e-12)
  kl = sum_c p_c (log p_c - log q_c)   (torch.nn.functional.kl_div)
Run with an interpreter that has torch (/usr/bin/python3 on Debian).
"""
import json
import sys

import torch
import torch.nn.functional as F


def main(input_path, output_path):
    with open(input_path) as f:
        data = json.load(f)
    t = float(data["T"])
    logits = torch.tensor(data["logits"], dtype=torch.float64)
    values = torch.tensor(data["values"], dtype=torch.float64)
    idx = torch.tensor(data["indices"], dtype=torch.int64)
    lse = torch.tensor(data["logsumexp"], dtype=torch.float64).reshape(-1, 1)
    rows, vocab = logits.shape
    k = idx.shape[1]
    kept = torch.exp(values / t - lse)
    tail = (1 - kept.sum(1, keepdim=True)).clamp(min=1e-12)
    q = (tail / max(vocab - k, 1)).expand(rows, vocab).clone()
    q.scatter_(1, idx, kept)
    log_p = F.log_softmax(logits / t, 1)
    kl = F.kl_div(q.log(), log_p, reduction="none", log_target=True).sum(1)
    with open(output_path, "w") as f:
        json.dump({"kl": kl.tolist()}, f)
    print("topk_kl_reference:", rows, "rows, mean KL", kl.mean().item())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
