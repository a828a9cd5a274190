#pragma once
// Small declared language models for the LM tests, random ids, and weights
// moved off their initial values (so biases and LayerNorm count in checks).
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <string>

#include "trainers/model_spec.h"

namespace condenser::testing_util {

inline ModelSpec lm_spec(const std::string& yaml, int64_t vocab, int64_t seq_len) {
  ModelSpec spec;
  spec.name = "student";
  spec.input_shape = {seq_len};
  spec.vocab = vocab;
  spec.layers = parse_model_layers(yaml, "student.layers");
  return spec;
}

inline at::Tensor random_ids(int64_t batch, int64_t seq_len, int64_t vocab, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return torch::randint(vocab, {batch, seq_len}, gen, torch::kInt64);
}

// Adds normal(0, scale) noise to every parameter, from `seed`.
inline void perturb(torch::jit::Module& m, uint64_t seed, double scale) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  for (const auto& p : m.named_parameters()) {
    p.value.add_(torch::randn(p.value.sizes(), gen, torch::kFloat32).mul_(scale));
  }
}

inline at::Tensor logits(torch::jit::Module& m, const at::Tensor& ids) {
  torch::NoGradGuard no_grad;
  return m.forward({ids}).toTensor();
}

}  // namespace condenser::testing_util
