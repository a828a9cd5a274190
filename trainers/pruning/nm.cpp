#include "trainers/pruning/nm.h"

#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "core/errors.h"

namespace condenser {

namespace {

void check_nm(int n, int m) {
  if (!(n > 0 && n <= m)) {
    throw UsageError("N:M pruning needs 0 < n <= m, got n=" + std::to_string(n) +
                     " m=" + std::to_string(m));
  }
}

}  // namespace

at::Tensor nm_mask(const at::Tensor& weight, int n, int m) {
  check_nm(n, m);
  if (weight.dim() < 2) throw UsageError("N:M pruning needs a weight of rank >= 2");
  torch::NoGradGuard no_grad;
  const int64_t rows = weight.size(0);
  const int64_t len = rows ? weight.numel() / rows : 0;
  if (weight.numel() == 0) return torch::ones_like(weight);
  const int64_t groups = (len + m - 1) / m;
  const int64_t padded = groups * m;
  // Magnitudes are >= 0, so padding with -1 ranks the padding last: a short
  // trailing group then keeps min(n, len) real weights.
  at::Tensor mag = weight.detach().abs().reshape({rows, len});
  if (padded > len) {
    mag = torch::cat({mag, torch::full({rows, padded - len}, -1.0, mag.options())}, 1);
  }
  mag = mag.view({rows, groups, m});
  // A stable descending sort keeps equal magnitudes in index order, so ties
  // go to the lower index.
  const at::Tensor order = std::get<1>(mag.sort(/*stable=*/true, /*dim=*/2, /*descending=*/true));
  at::Tensor keep = torch::zeros({rows, groups, m}, weight.options());
  keep.scatter_(2, order.slice(2, 0, n), 1.0);
  return keep.view({rows, padded}).slice(1, 0, len).reshape(weight.sizes()).contiguous();
}

PruneMasks nm_masks(const torch::jit::Module& module, int n, int m,
                    const std::vector<std::string>& exclude) {
  check_nm(n, m);
  std::set<std::string> prunable;
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (is_prunable(p.name, p.value)) {
      prunable.insert(p.name);
      params.emplace_back(p.name, p.value);
    }
  }
  if (params.empty()) throw UsageError("model has no prunable (conv or linear) weights");
  const std::set<std::string> skip(exclude.begin(), exclude.end());
  for (const auto& name : skip) {
    if (!prunable.count(name)) {
      std::string names;
      for (const auto& p : prunable) names += (names.empty() ? "" : ", ") + p;
      throw UsageError("cannot exclude '" + name + "' from N:M pruning: not a prunable weight (" +
                       names + ")");
    }
  }
  PruneMasks masks;
  for (const auto& p : params) {
    if (!skip.count(p.first)) masks.set(p.first, nm_mask(p.second, n, m));
  }
  return masks;
}

}  // namespace condenser
