#include "trainers/pruning/gradual.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"
#include "trainers/pruning/magnitude.h"
#include "trainers/pruning/targeted.h"

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
  // No exclusions, no own targets: one threshold over every prunable weight.
  return targeted_magnitude_masks(module, sparsity, PruneTargets{}, 1.0, previous);
}

}  // namespace condenser
