#pragma once
// The prune schedule as the user wrote it (prune.stages, prune.exclude,
// prune.layer_sparsity are YAML kept as text in Config): parsed and checked
// here, without LibTorch, so a bad schedule fails when the config loads.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace condenser {

// One stage: cut to `sparsity`, then fine-tune `epochs` at peak `lr`.
struct PruneStep {
  double sparsity = 0;
  int epochs = 0;
  double lr = 0;
};

// prune.stages, items defaulting to prune.finetune's epochs and lr; an empty
// prune.stages is one stage at prune.sparsity. nm has one fixed pattern: a
// single stage at 1 - n/m. Throws UsageError naming prune.stages[i].
std::vector<PruneStep> prune_steps(const PruneConfig& prune);

// Weight names in prune.exclude (may hold "first" and "last"); "auto" is
// [first, last], or nothing for structured, width and depth pruning.
std::vector<std::string> prune_exclusions(const PruneConfig& prune);

// prune.layer_sparsity as name -> sparsity.
std::map<std::string, double> prune_layer_targets(const PruneConfig& prune);

// prune.width_targets: the cut of each width axis as a fraction of its
// units (every block's heads, every block's MLP neurons, the embedding
// channels), or nullopt for auto: the auto axes share the one fraction that
// reaches the attempt's sparsity. "" is {heads: auto, mlp: auto, embedding: 0}.
struct WidthTargets {
  std::optional<double> heads, mlp;
  std::optional<double> embedding = 0.0;
  // Fixed fractions times `scale` (an earlier stage cuts less), auto kept.
  WidthTargets scaled(double scale) const;
};
WidthTargets prune_width_targets(const PruneConfig& prune);

// For the schema: why a text is not a valid value of each key, or nullopt.
// Stages: a list of {sparsity, epochs, lr} maps or bare numbers, sparsities
// in (0, 1) and strictly increasing, epochs >= 0, lr > 0.
std::optional<std::string> check_prune_stages(const std::string& text);
std::optional<std::string> check_name_list(const std::string& text);
std::optional<std::string> check_layer_sparsity(const std::string& text);
// Width targets: a map with keys heads, mlp, embedding, each auto or in [0, 1).
std::optional<std::string> check_width_targets(const std::string& text);

}  // namespace condenser
