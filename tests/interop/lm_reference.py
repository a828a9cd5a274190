#!/usr/bin/env python3
"""Plain-PyTorch reference for condenser's declared language models
(tests/trainers/lm_reference_test.cpp; trainers/model_spec.h documents them).

usage: lm_reference.py INPUT.json OUTPUT.json

INPUT.json: {"model": FILE.pt, "ids": [[...], ...], "positions": "rotary"|"learned",
             "layers": [{"kind": "embedding"|"block"|"layer_norm"|"lm_head"|"linear",
                         "prefix": "l1", "head_dim": d}, ...]}
OUTPUT.json: {"reference": [...], "module": [...], "shape": [B, T, V]}
  reference: logits computed here in float64 from the module's parameters
  (torch.jit.load(FILE).named_parameters()), with this file's own transformer;
  module: the TorchScript module's own forward, run in Python (float32).
Run with an interpreter that has torch (/usr/bin/python3 on Debian).
"""
import json
import math
import sys

import torch


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def rotate(t, d):
    """RoPE, rotate-half convention: pair (i, i + d/2) turned by pos * 10000^(-2i/d)."""
    T = t.shape[1]
    theta = 1.0 / (10000.0 ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angle = torch.arange(T, dtype=torch.float64)[:, None] * theta[None, :]  # [T, d/2]
    cos, sin = torch.cos(angle)[None, :, None, :], torch.sin(angle)[None, :, None, :]
    a, b = t[..., : d // 2], t[..., d // 2:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)


def attention(x, p, pre, d, rotary):
    B, T, _ = x.shape
    qkv = x @ p[pre + "_qkv_w"].T + p[pre + "_qkv_b"]
    H = qkv.shape[-1] // (3 * d)
    q, k, v = (qkv[..., i * H * d:(i + 1) * H * d].reshape(B, T, H, d) for i in range(3))
    if rotary:
        q, k = rotate(q, d), rotate(k, d)
    scores = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(d)
    future = torch.arange(T)[None, :] > torch.arange(T)[:, None]  # key s after query t
    scores = scores.masked_fill(future, float("-inf"))
    weights = torch.exp(scores - scores.max(-1, keepdim=True).values)
    weights = weights / weights.sum(-1, keepdim=True)
    out = torch.einsum("bhts,bshd->bthd", weights, v).reshape(B, T, H * d)
    return out @ p[pre + "_o_w"].T + p[pre + "_o_b"]


def block(x, p, pre, d, rotary):
    x = x + attention(layer_norm(x, p[pre + "_ln1_w"], p[pre + "_ln1_b"]), p, pre, d, rotary)
    h = layer_norm(x, p[pre + "_ln2_w"], p[pre + "_ln2_b"])
    h = gelu(h @ p[pre + "_fc1_w"].T + p[pre + "_fc1_b"])
    return x + h @ p[pre + "_fc2_w"].T + p[pre + "_fc2_b"]


def forward(ids, p, layers, positions):
    rotary = positions == "rotary"
    x = None
    for layer in layers:
        kind, pre = layer["kind"], layer.get("prefix", "")
        if kind == "embedding":
            x = p[pre + "_w"][ids]
            if not rotary:
                x = x + p[pre + "_pos"][: ids.shape[1]]
        elif kind == "block":
            x = block(x, p, pre, layer["head_dim"], rotary)
        elif kind == "layer_norm":
            x = layer_norm(x, p[pre + "_w"], p[pre + "_b"])
        elif kind == "lm_head":
            x = x @ p["l0_w"].T
        elif kind == "linear":
            x = x @ p[pre + "_w"].T + p[pre + "_b"]
        else:
            raise ValueError("unknown layer kind " + kind)
    return x


def main(input_path, output_path):
    with open(input_path) as f:
        data = json.load(f)
    module = torch.jit.load(data["model"])
    module.eval()
    params = {n: t.detach().double() for n, t in module.named_parameters()}
    ids = torch.tensor(data["ids"], dtype=torch.int64)
    with torch.no_grad():
        ref = forward(ids, params, data["layers"], data["positions"])
        own = module(ids)
    with open(output_path, "w") as f:
        json.dump({"reference": ref.flatten().tolist(), "module": own.double().flatten().tolist(),
                   "shape": list(ref.shape)}, f)
    print("lm_reference: max |module - reference| =", (own.double() - ref).abs().max().item())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
