#pragma once
// `condenser bench topk_kl`: what top-k soft labels for a language model cost
// and lose. For k in {8, 16, 32, 64} and every value format (float32,
// float16, bfloat16, int8 range and int8 grid) it writes real token-window
// shards (P = 128 positions per row, uint16 indices, float32 logsumexp) and
// reports bytes per token (file size / tokens) and KL(teacher || reconstructed)
// (data/shards/topk_kl.h: stored top-k probabilities, the tail spread evenly),
// mean and max over tokens; then the HDF5 filters (shuffle, deflate) on the
// default k = 32 float16 and on int8: bytes/token, write and read time.
//
// Teacher logits: CONDENSER_TOPK_KL_LOGITS=FILE.pt, a float tensor [tokens, V]
// saved with torch.save (e.g. a TorchScript LM's logits on token windows);
// otherwise synthetic Zipf-like logits, V = 4096 (a fixed Zipf prior over a
// random token order plus Gaussian context noise at a per-token sharpness:
// mean entropy ~3.5 nats, top-32 mass ~0.77). CONDENSER_TOPK_KL_T sets the
// temperature (default 1). Results: bench/results/topk_kl.json, tables
// "topk_kl" and "filters".
#include "bench/benches.h"

namespace condenser {

BenchReport bench_topk_kl(const BenchOptions& options);

}  // namespace condenser
