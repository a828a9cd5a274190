#pragma once
// Magnitude pruning with the user's layer choices: some weights excluded
// (the first and last by default: they are small and sensitive), some with
// their own targets, the rest sharing the cut so that the whole model still
// reaches the asked-for sparsity.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "trainers/prune_masks.h"

namespace condenser {

struct PruneTargets {
  std::vector<std::string> exclude;            // weight names, or "first" / "last"
  std::map<std::string, double> layer_sparsity;  // own targets (scaled, see below)
  bool per_layer = false;  // the pool: same fraction in every layer, not one threshold
};

// The prunable weight names (is_prunable), in module order.
std::vector<std::string> prunable_names(const torch::jit::Module& module);

// The prunable weights `names` stand for ("first" / "last" resolved), for
// messages about config key `key`: UsageError naming an unknown one.
std::vector<std::string> resolve_weight_names(const torch::jit::Module& module,
                                              const std::vector<std::string>& names,
                                              const std::string& key);

// Prunes floor(sparsity * N) of the module's N prunable weights in all:
// excluded weights keep everything; a weight with its own target t prunes
// floor(t * scale * numel) of its smallest |w|; the others (the pool) take
// the rest, by one global threshold or (per_layer) the same count fraction
// in each. Never revives a weight `previous` prunes (those rank first), so
// sparsity is monotone across stages. Throws UsageError naming an unknown
// weight (listing the prunable ones), or when the pool cannot take its share.
PruneMasks targeted_magnitude_masks(const torch::jit::Module& module, double sparsity,
                                    const PruneTargets& targets, double scale,
                                    const PruneMasks& previous);

}  // namespace condenser
