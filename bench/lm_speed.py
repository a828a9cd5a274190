#!/usr/bin/env python3
"""Tokens/s of two TorchScript language models, side by side.

  /usr/bin/python3 bench/lm_speed.py BASELINE.pt OURS.pt [--seq-len 128]
      [--batches 1,64] [--rounds 7] [--threads 1]

Both models get the same random windows of token ids; each round times one
forward of each, the order alternating, after a warm-up round. Prints one
JSON object: per batch size the median tokens/s of each model (with min and
max) and ours / baseline. Used for a pruned export against the dense one.
"""
import argparse
import json
import statistics
import time

import torch


def forward_seconds(model, ids):
    start = time.perf_counter()
    model(ids)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("baseline")
    parser.add_argument("ours")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batches", default="1,64")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = {name: torch.jit.load(path, map_location="cpu").eval()
              for name, path in (("baseline", args.baseline), ("ours", args.ours))}
    out = {"baseline": args.baseline, "ours": args.ours, "seq_len": args.seq_len,
           "threads": args.threads, "rounds": args.rounds, "batches": {}}
    with torch.no_grad():
        vocab = models["baseline"](torch.zeros(1, args.seq_len, dtype=torch.int64)).shape[-1]
        for batch in (int(b) for b in args.batches.split(",")):
            ids = torch.randint(vocab, (batch, args.seq_len), generator=torch.Generator().manual_seed(1))
            times = {"baseline": [], "ours": []}
            for r in range(args.rounds + 1):
                order = ("baseline", "ours") if r % 2 == 0 else ("ours", "baseline")
                for name in order:
                    seconds = forward_seconds(models[name], ids)
                    if r > 0:  # round 0 warms up
                        times[name].append(seconds)
            tokens = batch * args.seq_len
            row = {}
            for name, t in times.items():
                row[name] = {"tokens_per_s": tokens / statistics.median(t),
                             "min_max_s": [min(t), max(t)]}
            row["ours_over_baseline"] = row["ours"]["tokens_per_s"] / row["baseline"]["tokens_per_s"]
            out["batches"][str(batch)] = row
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
