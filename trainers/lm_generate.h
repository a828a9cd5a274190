#pragma once
// Text generation from a language model: any TorchScript module that takes
// int64 ids [B, T] and returns logits [B, T, V] (a declared model from
// model_spec.h, or a file). Naive recompute: each new token runs the module on
// the last <= max_context ids and reads the last position's logits.
#include <torch/script.h>

#include <cstdint>
#include <vector>

namespace condenser {

struct GenerateOptions {
  bool greedy = true;        // argmax (lowest id on ties); otherwise sample
  int64_t top_k = 0;         // sampling: from the k most likely tokens only (0 = all)
  double temperature = 1.0;  // sampling: softmax(logits / temperature), > 0
  uint64_t seed = 0;         // sampling: own SplitMix64 stream; a seed repeats its tokens
};

// The `max_new_tokens` ids that follow `prompt` (the prompt not included).
// Runs on the module's device in eval mode without gradients and restores
// its training flag. Sampling is done in double on the CPU from the logits,
// so a seed gives the same tokens on any machine that gives the same logits.
// Throws UsageError for an empty prompt, ids outside [0, V) (V from the
// embedding l0_w when the module has one), max_new_tokens < 0,
// max_context < 1, temperature <= 0, top_k < 0, or a module whose output is
// not [1, T, V].
std::vector<int64_t> generate_tokens(torch::jit::Module& module, const std::vector<int64_t>& prompt,
                                     int64_t max_new_tokens, const GenerateOptions& options,
                                     int64_t max_context);

}  // namespace condenser
