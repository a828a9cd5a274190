#include "trainers/pruning/magnitude.h"

#include <torch/torch.h>

#include <cmath>

#include "core/errors.h"

namespace condenser {

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
  flat.reserve(scores.size());
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

}  // namespace condenser
