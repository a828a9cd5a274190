#pragma once
// N:M semi-structured pruning: in every consecutive group of m weights along
// the input dimension, only the n largest magnitudes are kept (2:4 is the
// pattern sparse tensor cores accelerate).
#include <torch/script.h>

#include <string>
#include <vector>

#include "trainers/prune_masks.h"

namespace condenser {

// Masks for every prunable weight (is_prunable) whose name is not in
// `exclude`. Groups run along the input dimension: dim 1 of a linear weight
// [out, in]; for a conv weight [out, in, kh, kw] along the flattened
// in*kh*kw axis of each output row. Each group of m keeps its n largest |w|;
// a trailing group shorter than m keeps min(n, len) largest. Ties go to the
// lower index, so the result is deterministic. Excluded weights get no mask.
// Throws UsageError unless 0 < n <= m, if a name in `exclude` is not a
// prunable weight of the module, or if the module has no prunable weights.
PruneMasks nm_masks(const torch::jit::Module& module, int n = 2, int m = 4,
                    const std::vector<std::string>& exclude = {});

// The mask for one weight tensor (rank >= 2) under the rule above.
at::Tensor nm_mask(const at::Tensor& weight, int n, int m);

}  // namespace condenser
