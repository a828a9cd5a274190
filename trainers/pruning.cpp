#include "trainers/pruning.h"

#include <torch/torch.h>

#include <cmath>

#include "core/errors.h"

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

PruneMasks global_magnitude_masks(const torch::jit::Module& module, double sparsity) {
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    throw UsageError("prune.sparsity must be in [0, 1), got " + std::to_string(sparsity));
  }
  torch::NoGradGuard no_grad;
  std::vector<std::string> names;
  std::vector<at::Tensor> params, weights;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (is_prunable(p.name, p.value)) {
      names.push_back(p.name);
      params.push_back(p.value);
      weights.push_back(p.value.detach().abs().flatten());
    }
  }
  if (weights.empty()) throw UsageError("model has no prunable (conv or linear) weights");
  int64_t total = 0;
  for (const at::Tensor& w : weights) total += w.numel();
  return lowest_score_masks(names, params, weights,
                            static_cast<int64_t>(std::floor(sparsity * double(total))));
}

PruneMasks lowest_score_masks(const std::vector<std::string>& names,
                              const std::vector<at::Tensor>& params,
                              const std::vector<at::Tensor>& scores, int64_t count) {
  std::vector<at::Tensor> flat;
  for (const at::Tensor& s : scores) flat.push_back(s.flatten());
  const at::Tensor all = torch::cat(flat);
  at::Tensor keep = torch::ones({all.numel()}, params.front().options());
  if (count > 0) {
    const auto sorted = all.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
    keep.index_fill_(0, std::get<1>(sorted).slice(0, 0, count), 0.0);
  }
  PruneMasks masks;
  int64_t offset = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const int64_t n = params[i].numel();
    masks.set(names[i], keep.slice(0, offset, offset + n).view(params[i].sizes()).clone());
    offset += n;
  }
  return masks;
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
