#pragma once
// Unstructured magnitude pruning: masks (trainers/prune_masks.h) that keep
// the largest weights by magnitude.
#include <torch/script.h>

#include <string>
#include <vector>

#include "trainers/prune_masks.h"

namespace condenser {

// One magnitude threshold over all prunable weights together: exactly
// floor(sparsity * total) of the smallest |w| are pruned (ties broken by
// position, so the result is deterministic).
PruneMasks global_magnitude_masks(const torch::jit::Module& module, double sparsity);

// Prunes the `count` lowest scores across all the given parameters together
// (ties broken by position) and returns their masks; scores[i] has the shape
// of params[i]. The one ranking behind global and scheduled magnitude pruning.
PruneMasks lowest_score_masks(const std::vector<std::string>& names,
                              const std::vector<at::Tensor>& params,
                              const std::vector<at::Tensor>& scores, int64_t count);

}  // namespace condenser
