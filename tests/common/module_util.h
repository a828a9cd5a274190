#pragma once
// Small helpers for tests that inspect TorchScript modules.
#include <torch/script.h>

#include <map>
#include <string>

namespace condenser::testing_util {

// Every parameter, copied (so later training cannot change the snapshot).
inline std::map<std::string, at::Tensor> snapshot(const torch::jit::Module& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.name] = p.value.detach().clone();
  return out;
}

// Parameter count, computed here independently of trainers/pruning/magnitude.h.
inline int64_t count_parameters(const torch::jit::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace condenser::testing_util
