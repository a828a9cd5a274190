#!/usr/bin/env python3
"""PyTorch reference for condenser's sparse_kd_loss (tests/trainers/sparse_kd_test.cpp).

usage: sparse_kd_reference.py INPUT.json OUTPUT.json

INPUT.json: {"student": [[...], ...] (B x C), "labels": [...] (B),
             "cases": [{"T": T, "alpha": a, "values": B x k raw teacher logits,
                        "indices": B x k, "logsumexp": B x 1}, ...]}
OUTPUT.json: {"losses": [...]}, one loss per case, computed in float64 with the
remainder bucket built from a dense two-part distribution:
  teacher  P = [exp(v / T - L), max(0, 1 - sum)]              (k + 1 entries)
  student  Q = [softmax(s / T)[kept], sum of softmax over non-kept classes]
  loss = alpha * T^2 * F.kl_div(log Q, P, reduction="batchmean")
         + (1 - alpha) * F.cross_entropy(s, y)
where F.kl_div's target convention makes P == 0 entries contribute 0.

Optional "sequence" (token windows, label -100 = padding): {"student": B x P x C,
"labels": B x P, "T", "alpha", "values"/"indices": B x P x k, "logsumexp": B x P,
"teacher": B x P x C}. Output "sequence": {"sparse", "kd", "ce"} each
{"loss", "grad" (d loss / d student, B x P x C)}: per-token terms computed on
ALL positions, multiplied by the 0/1 mask and divided by the number of valid
tokens (an independent route from condenser's row selection); cross-entropy
is F.cross_entropy(ignore_index=-100).
Run with an interpreter that has torch (/usr/bin/python3 on Debian).
"""
import json
import sys

import torch
import torch.nn.functional as F


def sparse_kd(s, y, case):
    temperature, alpha = float(case["T"]), float(case["alpha"])
    v = torch.tensor(case["values"], dtype=torch.float64)
    idx = torch.tensor(case["indices"], dtype=torch.int64)
    lse = torch.tensor(case["logsumexp"], dtype=torch.float64).reshape(-1, 1)
    p_kept = torch.exp(v / temperature - lse)
    p_rest = (1 - p_kept.sum(1, keepdim=True)).clamp(min=0)
    q = F.softmax(s / temperature, 1)
    q_kept = q.gather(1, idx)
    rest_mask = torch.ones_like(q).scatter(1, idx, 0.0)
    q_rest = (q * rest_mask).sum(1, keepdim=True)
    if idx.shape[1] == s.shape[1]:  # no remainder classes: no bucket
        p_rest = torch.zeros_like(p_rest)
        q_rest = torch.ones_like(q_rest)
    target = torch.cat([p_kept, p_rest], 1)
    log_q = torch.log(torch.cat([q_kept, q_rest], 1))
    soft = F.kl_div(log_q, target, reduction="batchmean")
    return alpha * temperature * temperature * soft + (1 - alpha) * F.cross_entropy(s, y)


def per_token_sparse_kl(s, v, idx, lse, t):
    """KL of the (k + 1)-bucket distributions for every row of [N, C]."""
    p_kept = torch.exp(v / t - lse.reshape(-1, 1))
    p_rest = (1 - p_kept.sum(1, keepdim=True)).clamp(min=0)
    q = F.softmax(s / t, 1)
    q_rest = (q * torch.ones_like(q).scatter(1, idx, 0.0)).sum(1, keepdim=True)
    target = torch.cat([p_kept, p_rest], 1)
    log_q = torch.log(torch.cat([q.gather(1, idx), q_rest], 1))
    return F.kl_div(log_q, target, reduction="none").sum(1)


def sequence(seq):
    t, alpha = float(seq["T"]), float(seq["alpha"])
    s0 = torch.tensor(seq["student"], dtype=torch.float64)
    b, p, c = s0.shape
    y = torch.tensor(seq["labels"], dtype=torch.int64).reshape(-1)
    mask = (y != -100).to(torch.float64)
    count = mask.sum()
    v = torch.tensor(seq["values"], dtype=torch.float64).reshape(b * p, -1)
    idx = torch.tensor(seq["indices"], dtype=torch.int64).reshape(b * p, -1)
    lse = torch.tensor(seq["logsumexp"], dtype=torch.float64).reshape(-1)
    teacher = torch.tensor(seq["teacher"], dtype=torch.float64).reshape(b * p, c)

    def ce(s):
        return F.cross_entropy(s, y, ignore_index=-100)

    def sparse(s):
        kl = (per_token_sparse_kl(s, v, idx, lse, t) * mask).sum() / count
        return alpha * t * t * kl + (1 - alpha) * ce(s)

    def kd(s):
        log_p = F.log_softmax(teacher / t, 1)
        kl = F.kl_div(F.log_softmax(s / t, 1), log_p, reduction="none", log_target=True).sum(1)
        return alpha * t * t * (kl * mask).sum() / count + (1 - alpha) * ce(s)

    out = {}
    for name, fn in (("sparse", sparse), ("kd", kd), ("ce", ce)):
        s = s0.clone().reshape(b * p, c).requires_grad_(True)
        loss = fn(s)
        loss.backward()
        out[name] = {"loss": loss.item(), "grad": s.grad.reshape(b, p, c).tolist()}
    return out


def main(input_path, output_path):
    with open(input_path) as f:
        data = json.load(f)
    s = torch.tensor(data["student"], dtype=torch.float64)
    y = torch.tensor(data["labels"], dtype=torch.int64)
    losses = [sparse_kd(s, y, case).item() for case in data["cases"]]
    result = {"losses": losses}
    if "sequence" in data:
        result["sequence"] = sequence(data["sequence"])
    with open(output_path, "w") as f:
        json.dump(result, f)
    print("sparse_kd_reference:", len(losses), "losses")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
