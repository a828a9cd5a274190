#pragma once
// Gradual magnitude pruning (Zhu & Gupta, 2017, "To prune, or not to prune"):
// sparsity rises from s_initial to s_final along a cubic over n pruning steps
// dt apart starting at t0, pruning fast early and slowly near the end.
#include <torch/script.h>

#include <cstdint>

#include "trainers/pruning/magnitude.h"

namespace condenser {

// s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt))^3 for t in [t0, t0 + n*dt];
// s_i before t0 and s_f after. Throws UsageError unless
// 0 <= s_initial <= s_final < 1, n >= 0 and dt > 0 (n == 0: s_f from t0 on).
double cubic_sparsity(int64_t step, double s_initial, double s_final, int64_t t0, int64_t n,
                      int64_t dt);

// True for step in {t0, t0 + dt, ..., t0 + n*dt}. Throws UsageError unless
// n >= 0 and dt > 0.
bool is_prune_step(int64_t step, int64_t t0, int64_t n, int64_t dt);

// Like global_magnitude_masks, but never revives a weight that `previous`
// prunes (mask 0): those rank below every other weight, and at least as many
// weights as `previous` prunes stay pruned, so sparsity is monotone over a
// schedule. Exactly max(floor(sparsity * total), previously pruned) weights
// are pruned; among the rest the smallest |w| go first, ties by position.
// Weights `previous` has no mask for count as unpruned. Throws UsageError for
// sparsity outside [0, 1) or a previous mask whose shape does not match.
PruneMasks global_magnitude_masks_from(const torch::jit::Module& module, double sparsity,
                                       const PruneMasks& previous);

}  // namespace condenser
