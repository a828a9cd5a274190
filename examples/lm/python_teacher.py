#!/usr/bin/env python3
"""A language-model teacher written in PyTorch, for condenser to distil.

  python_teacher.py TOKENS.h5 OUT.pt [--seq-len 32] [--steps 200] [--dim 64]

Trains a small pre-norm transformer (torch.nn.TransformerEncoderLayer with a
causal mask, tied output head) on the token file's training split, scripts
it and saves it with the token file's tokenizer inside
(_extra_files={"tokenizer.model": ...}), so condenser can check that the
data it distils on is tokenized the same way. The model takes int64 ids
[N, T] (T <= --seq-len) and returns [N, T, V] logits: what condenser expects
of a language-model teacher (teacher.path).
"""
import argparse

import h5py
import numpy as np
import torch
from torch import nn


class TinyLM(nn.Module):
    def __init__(self, vocab: int, dim: int, heads: int, layers: int, max_len: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(max_len, dim))
        block = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.size(1)
        x = self.embed(ids) + self.pos[:t]
        mask = torch.triu(torch.full((t, t), float("-inf"), device=ids.device), diagonal=1)
        x = self.norm(self.blocks(x, mask=mask))
        return x @ self.embed.weight.t()


def windows(stream: np.ndarray, t: int) -> torch.Tensor:
    n = (len(stream) - 1) // t
    return torch.from_numpy(stream[: n * t + 1].astype(np.int64)), n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tokens")
    p.add_argument("out")
    p.add_argument("--seq-len", type=int, default=32)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--dim", type=int, default=64)
    a = p.parse_args()
    torch.manual_seed(0)
    with h5py.File(a.tokens, "r") as f:
        vocab = int(f.attrs["vocab_size"])
        stream = f["train/tokens"][:]
        tokenizer = bytes(f["tokenizer"][:])
    flat, n = windows(stream, a.seq_len)
    model = TinyLM(vocab, a.dim, 4, 2, a.seq_len)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(a.steps):
        rows = torch.randint(0, n, (32,))
        idx = rows[:, None] * a.seq_len + torch.arange(a.seq_len + 1)
        seq = flat[idx]
        logits = model(seq[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), seq[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    scripted = torch.jit.script(model)
    torch.jit.save(scripted, a.out, _extra_files={"tokenizer.model": tokenizer})
    print(f"trained {a.steps} steps, last loss {loss.item():.3f}; saved {a.out}")


if __name__ == "__main__":
    main()
