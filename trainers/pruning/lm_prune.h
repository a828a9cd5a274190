#pragma once
// Structured pruning of declared transformers along Minitron's axes: width
// (attention heads and MLP neurons in every block) and depth (whole blocks).
//
// Importance comes from activations on a calibration batch of training
// windows (trainers/model_spec.h model_probe_source): a head by the mean L2
// norm of its attention output, a neuron by its mean |activation|, a block by
// how far its output is from its input (1 - cosine similarity, the "block
// influence" of ShortGPT). Cuts are masks on the dense model while it
// recovers: a cut head's q, k, v rows and o columns, a cut neuron's fc1 row
// and fc2 column, and every parameter of a dropped block are zero, so each is
// exactly zero downstream (a dropped block is the identity) and the masked
// model computes what the compacted one does. A unit cut earlier has zero
// activation, so it ranks lowest again and the cut only grows.
// Blocks inside residual bodies are not supported (check_lm_prunable).
#include <torch/script.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "trainers/model_spec.h"
#include "trainers/prune_masks.h"
#include "trainers/pruning/structured.h"

namespace condenser {

struct LmImportance {
  std::vector<size_t> blocks;          // index in spec.layers of each block, in order
  std::vector<at::Tensor> heads;       // per block: [H] mean L2 norm of each head's output
  std::vector<at::Tensor> neurons;     // per block: [M] mean |GELU activation|
  std::vector<double> block_distance;  // per block: 1 - cosine(input, output)
  at::Tensor channels;                 // [D] mean |x| entering the layer norms, summed
  int64_t windows = 0;                 // calibration windows measured
  nlohmann::json to_json() const;
};

// Throws UsageError unless `spec` is a language model whose blocks are all
// top-level layers (what width and depth pruning can cut and compact).
void check_lm_prunable(const ModelSpec& spec);

// Runs model_probe_source over `ids` ([N, T] token windows, in chunks) with
// the model's own parameters, in eval mode, without gradients.
LmImportance lm_importance(const torch::jit::Module& model, const ModelSpec& spec,
                           const at::Tensor& ids);

// What survives a cut, per block in layer order. Ascending indices.
struct LmPlan {
  std::vector<size_t> blocks;  // index in spec.layers
  std::vector<std::vector<int64_t>> keep_heads;
  std::vector<std::vector<int64_t>> keep_neurons;
  std::vector<bool> keep_block;
};

// width: removes the same fraction of heads and of MLP neurons in every block
// (its lowest-ranked ones; ties keep the lower index; one of each always
// stays), the smallest fraction that removes at least `sparsity` of all the
// model's parameters (or as much as the axes allow).
LmPlan plan_lm_width(const ModelSpec& spec, const LmImportance& importance, double sparsity);
// depth: drops the blocks of smallest cosine distance (ties: the later
// block) until at least `sparsity` of all parameters is removed; one stays.
LmPlan plan_lm_depth(const ModelSpec& spec, const LmImportance& importance, double sparsity);
// The most a method ("width" or "depth") can remove, as a fraction of all parameters.
double lm_max_sparsity(const ModelSpec& spec, const std::string& method);

// The cut as masks on the dense model (see above).
PruneMasks lm_masks(const torch::jit::Module& model, const ModelSpec& spec, const LmPlan& plan);
// The plan a set of lm_masks describes (a head, neuron or block is cut when
// its o columns, fc2 column or o weight are masked out entirely).
LmPlan lm_plan_from_masks(const ModelSpec& spec, const PruneMasks& masks);

// The physically smaller model: fewer heads and neurons per block, dropped
// blocks removed (the later layers' parameters renamed to their new index).
// It runs the same generated source and computes what the masked model does.
CompactModel compact_lm(const torch::jit::Module& model, const ModelSpec& spec, const LmPlan& plan);

}  // namespace condenser
