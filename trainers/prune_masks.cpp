#include "trainers/prune_masks.h"

#include <torch/torch.h>

namespace condenser {

bool is_prunable(const std::string& /*name*/, const at::Tensor& param) {
  return param.dim() >= 2;
}

void PruneMasks::apply_to_weights(torch::jit::Module& module) const {
  torch::NoGradGuard no_grad;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    auto it = masks_.find(p.name);
    if (it != masks_.end()) p.value.mul_(it->second);
  }
}

void PruneMasks::apply_to_grads(torch::jit::Module& module) const {
  torch::NoGradGuard no_grad;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    auto it = masks_.find(p.name);
    if (it != masks_.end() && p.value.grad().defined()) p.value.mutable_grad().mul_(it->second);
  }
}

SparsityReport measure_sparsity(const torch::jit::Module& module) {
  SparsityReport report;
  int64_t prunable = 0, prunable_zero = 0;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    const int64_t numel = p.value.numel();
    const int64_t nonzero = p.value.count_nonzero().item<int64_t>();
    report.parameters += numel;
    report.nonzeros += nonzero;
    if (is_prunable(p.name, p.value)) {
      report.layers.push_back({p.name, numel, nonzero});
      prunable += numel;
      prunable_zero += numel - nonzero;
    }
  }
  report.prunable_sparsity = prunable ? double(prunable_zero) / double(prunable) : 0.0;
  return report;
}

}  // namespace condenser
