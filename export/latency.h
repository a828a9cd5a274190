#pragma once
// CPU inference latency of the teacher and the student, measured side by side
// in one run (the rule every benchmark follows): warm-up, then rounds that alternate
// which model goes first, medians with min/max, the thread count pinned
// (LatencyOptions::threads) and recorded.
#include <torch/script.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace condenser {

struct LatencyOptions {
  std::vector<int64_t> batch_sizes = {1, 64};
  int repeats = 9;             // timed rounds per batch size (odd: a true median)
  int warmup = 2;              // untimed rounds first (LibTorch warms up per shape)
  double round_seconds = 0.1;  // each round runs enough forwards to last about this long
  // One intra-op thread by default: the same numbers from `condenser run` and
  // `condenser export`, and not wrecked by other processes on a shared
  // machine (OpenMP workers spin-waiting for a busy core made both models
  // take ~70 ms a forward at 2 threads under load). 0 = LibTorch's current.
  int threads = 1;
  // One real input [1, ...] (any shape and dtype the models take), repeated
  // to each batch size; undefined: random [batch, 1, 28, 28] pixels.
  at::Tensor sample;
};

// Both models run on the CPU in eval mode without gradients, on the same
// input (options.sample repeated, or random [batch, 1, 28, 28]). Returns
// {"device": "cpu", "threads": N, "method": "...",
//  "teacher"/"student": {"latency_ms": {"batch_B": {"median","min","max"}},
//                        "throughput_samples_per_s": {"batch_B": x}},
//  "speedup": {"batch_B": teacher median / student median},
//  "iterations_per_round": {"batch_B": k}}.
// Either module may be copied; the originals are not changed.
nlohmann::json compare_latency(const torch::jit::Module& teacher, const torch::jit::Module& student,
                               const LatencyOptions& options = {});

}  // namespace condenser
