#include "trainers/prune_schedule.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"

namespace condenser {

namespace {

void check_steps(int64_t n, int64_t dt) {
  if (n < 0 || dt <= 0) {
    throw UsageError("pruning schedule needs n >= 0 and dt > 0, got n=" + std::to_string(n) +
                     " dt=" + std::to_string(dt));
  }
}

}  // namespace

double cubic_sparsity(int64_t step, double s_initial, double s_final, int64_t t0, int64_t n,
                      int64_t dt) {
  check_steps(n, dt);
  if (!(s_initial >= 0.0 && s_initial <= s_final && s_final < 1.0)) {
    throw UsageError("pruning schedule needs 0 <= s_initial <= s_final < 1, got s_initial=" +
                     std::to_string(s_initial) + " s_final=" + std::to_string(s_final));
  }
  const int64_t span = n * dt;
  if (step >= t0 + span) return s_final;
  if (step <= t0) return s_initial;  // exact, free of rounding at the ramp's start
  const double remaining = 1.0 - double(step - t0) / double(span);
  const double s = s_final + (s_initial - s_final) * remaining * remaining * remaining;
  return std::min(s_final, std::max(s_initial, s));
}

bool is_prune_step(int64_t step, int64_t t0, int64_t n, int64_t dt) {
  check_steps(n, dt);
  return step >= t0 && step <= t0 + n * dt && (step - t0) % dt == 0;
}

PruneMasks global_magnitude_masks_from(const torch::jit::Module& module, double sparsity,
                                       const PruneMasks& previous) {
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    throw UsageError("prune.sparsity must be in [0, 1), got " + std::to_string(sparsity));
  }
  torch::NoGradGuard no_grad;
  std::vector<std::string> names;
  std::vector<at::Tensor> params, scores;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (!is_prunable(p.name, p.value)) continue;
    at::Tensor score = p.value.detach().abs();
    auto it = previous.masks().find(p.name);
    if (it != previous.masks().end()) {
      if (!it->second.sizes().equals(p.value.sizes())) {
        throw UsageError("previous pruning mask for '" + p.name + "' has the wrong shape");
      }
      // Magnitudes are >= 0, so -1 ranks previously pruned weights first.
      score =
          torch::where(it->second.to(score.device()).eq(0), torch::full_like(score, -1.0), score);
    }
    names.push_back(p.name);
    params.push_back(p.value);
    scores.push_back(score.flatten());
  }
  if (scores.empty()) throw UsageError("model has no prunable (conv or linear) weights");
  int64_t total = 0, already = 0;
  for (const at::Tensor& sc : scores) {
    total += sc.numel();
    already += sc.lt(0).sum().item<int64_t>();
  }
  const int64_t k = std::max(already, static_cast<int64_t>(std::floor(sparsity * double(total))));
  return lowest_score_masks(names, params, scores, k);
}

}  // namespace condenser
