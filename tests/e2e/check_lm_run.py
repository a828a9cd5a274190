#!/usr/bin/env python3
"""Checks a finished language-model run from Python alone.

  check_lm_run.py RUN_DIR

- export/student.pt loads with torch.jit.load and, fed the token file's test
  split cut into windows exactly as the contract says (window i: inputs
  tokens[i*T, i*T+T), labels the next tokens; past the end inputs are the pad
  id and labels -100), reproduces condenser's test perplexity to 0.1 %;
- the token file's tokenizer hash is the one metrics.json and the model card
  carry, and the model takes int64 [N, T] ids and returns [N, T, V] logits.
"""
import json
import math
import os
import sys

import h5py
import numpy as np
import torch


def check(ok, what):
    if not ok:
        print("FAIL:", what)
        sys.exit(1)


run = sys.argv[1]
metrics = json.load(open(os.path.join(run, "export", "metrics.json")))
card = open(os.path.join(run, "export", "README.md")).read()
model = torch.jit.load(os.path.join(run, "export", "student.pt"), map_location="cpu").eval()
data = metrics["data"]
T = data["sample_shape"][0]
windows = metrics["recipe"]["test_samples"]

with h5py.File(data["token_file"], "r") as f:
    vocab = int(f.attrs["vocab_size"])
    tokenizer = f.attrs["tokenizer_sha256"]
    tokenizer = tokenizer.decode() if isinstance(tokenizer, bytes) else str(tokenizer)
    pad = int(f.attrs["pad_id"])
    if pad < 0:
        pad = int(f.attrs["eos_id"])
    stream = f["test/tokens"][:].astype(np.int64)
check(data["tokenizer_sha256"] == tokenizer, "metrics.json names another tokenizer")
check(tokenizer in card, "the model card does not name the tokenizer's SHA-256")
check(metrics["input"]["classes"] == vocab, "the vocabulary size differs")

n = len(stream)
check(windows <= (n - 1 + T - 1) // T, f"{windows} test windows from {n} tokens")
x = np.full((windows, T), pad, np.int64)
y = np.full((windows, T), -100, np.int64)
for i in range(windows):
    a = stream[i * T:i * T + T]
    b = stream[i * T + 1:i * T + T + 1]
    x[i, :len(a)] = a
    y[i, :len(b)] = b

nll, tokens = 0.0, 0
with torch.no_grad():
    for i in range(0, windows, 32):
        logits = model(torch.from_numpy(x[i:i + 32]))
        check(list(logits.shape) == [min(32, windows - i), T, vocab], f"logits {list(logits.shape)}")
        labels = torch.from_numpy(y[i:i + 32]).reshape(-1)
        nll += torch.nn.functional.cross_entropy(logits.reshape(-1, vocab).double(), labels,
                                                 ignore_index=-100, reduction="sum").item()
        tokens += int((labels != -100).sum())
ppl = math.exp(nll / tokens)
reported = metrics["student_final"]["test_perplexity"]
check(abs(ppl - reported) <= 1e-3 * reported,
      f"Python's test perplexity {ppl:.4f} is not condenser's {reported:.4f} (0.1 %)")
check(data["test_tokens"] == tokens, f"{tokens} scored test tokens, condenser says {data['test_tokens']}")
print(f"ok: test perplexity {ppl:.4f} over {tokens} tokens (condenser: {reported:.4f})")

# A width- or depth-pruned student: the export is the compacted model (as many
# parameters as the final stats say, fewer than the dense student), and every
# attempt left its importance scores.
prune = metrics["recipe"]["prune"]
if prune["enabled"] and prune["method"] in ("width", "depth"):
    params = sum(p.numel() for p in model.parameters())
    final, dense = metrics["student_final"]["parameters"], metrics["student_dense"]["parameters"]
    check(params == final, f"the export holds {params} parameters, the stats say {final}")
    check(params < dense, f"the pruned export ({params}) is not smaller than the dense ({dense})")
    summary = json.load(open(os.path.join(run, "summary.json")))
    for attempt in summary["prune_schedule"]["attempts"]:
        scores = json.load(open(os.path.join(run, "prune_importance", attempt["name"] + ".json")))
        check(len(scores["blocks"]) >= 1 and scores["calibration_windows"] >= 1,
              f"importance scores of {attempt['name']}")
        # The perplexity right after the cut, kept with the scores and in the record.
        before = scores["before_recovery"]["val_perplexity"]
        check(before > 0 and attempt["val_perplexity_before_recovery"] == before,
              f"{attempt['name']}: perplexity before recovery {before} vs the record's "
              f"{attempt.get('val_perplexity_before_recovery')}")
        speeds = {t["batch"]: t for t in attempt["tokens_per_s"]}
        check(sorted(speeds) == [1, 64] and all(t["pruned"] > 0 and t["dense"] > 0 and
                                                abs(t["speedup"] - t["pruned"] / t["dense"]) < 1e-9
                                                for t in speeds.values()),
              f"{attempt['name']}: tokens/s at batch 1 and 64: {attempt['tokens_per_s']}")
    card = open(os.path.join(run, "export", "README.md")).read()
    check("## Pruning attempts" in card and "| " + attempt["name"] + " | " in card,
          "the model card has no pruning attempts table")
    print(f"ok: {prune['method']}-pruned export of {params} parameters (dense {dense})")
