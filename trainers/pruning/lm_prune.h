#pragma once
// Structured pruning of declared transformers along Minitron's axes: width
// (attention heads and MLP neurons in every block, embedding channels) and
// depth (whole blocks).
//
// Importance comes from activations on a calibration batch of training
// windows (trainers/model_spec.h model_probe_source): a head by the mean L2
// norm of its attention output, a neuron by its mean |activation|, an
// embedding channel by its mean |x| entering the layer norms, a block by how
// far its output is from its input (1 - cosine similarity, the "block
// influence" of ShortGPT) or by the calibration perplexity with the block
// skipped. Cuts are masks on the dense model while it recovers: a cut head's
// q, k, v rows and o columns, a cut neuron's fc1 row and fc2 column, a cut
// channel's embedding column and every [.., D] entry (layer norms, qkv and
// fc1 columns, o and fc2 rows and biases), and every parameter of a dropped
// block are zero, so each is exactly zero downstream (a dropped block is the
// identity; the layer norms count only the channels kept, model_spec.h
// norm_width) and the masked model computes what the compacted one does. A
// unit cut earlier has zero activation, so it ranks lowest again and the cut
// only grows. Blocks inside residual bodies are not supported (check_lm_prunable).
#include <torch/script.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/prune_plan.h"
#include "trainers/batch_source.h"
#include "trainers/model_spec.h"
#include "trainers/prune_masks.h"
#include "trainers/pruning/structured.h"

namespace condenser {

struct LmImportance {
  std::vector<size_t> blocks;          // index in spec.layers of each block, in order
  std::vector<at::Tensor> heads;       // per block: [H] mean L2 norm of each head's output
  std::vector<at::Tensor> neurons;     // per block: [M] mean |GELU activation|
  std::vector<double> block_distance;  // per block: 1 - cosine(input, output)
  // per block, with block_importance "perplexity": calibration perplexity
  // with the block skipped (its parameters zero); empty otherwise
  std::vector<double> block_perplexity;
  double perplexity = 0;               // calibration perplexity of the model (perplexity method)
  at::Tensor channels;                 // [D] mean |x| entering the layer norms, summed
  int64_t windows = 0;                 // calibration windows measured
  // What depth ranks blocks by, lowest dropped first: the skip perplexity
  // when measured, else the cosine distance.
  const std::vector<double>& block_score() const {
    return block_perplexity.empty() ? block_distance : block_perplexity;
  }
  nlohmann::json to_json() const;
};

// Throws UsageError unless `spec` is a language model whose blocks are all
// top-level layers (what width and depth pruning can cut and compact).
void check_lm_prunable(const ModelSpec& spec);

// Throws UsageError unless every [.., D] tensor of `spec` is one a cut of
// embedding channels reaches: a stack of blocks and layer norms between the
// embedding and lm_head.
void check_lm_channel_cut(const ModelSpec& spec);

// Runs model_probe_source over `ids` ([N, T] token windows, in chunks) with
// the model's own parameters, in eval mode, without gradients.
LmImportance lm_importance(const torch::jit::Module& model, const ModelSpec& spec,
                           const at::Tensor& ids);
// Fills importance->block_perplexity and perplexity: each block skipped in
// turn (its parameters zeroed, then restored), the model's perplexity on the
// token windows of `windows` (trainers/token_metrics.h). A block already
// dropped (all zero) scores 0, so a depth cut only grows.
void add_skip_perplexity(torch::jit::Module& model, const LabelledSet& windows,
                         LmImportance* importance);

// What survives a cut, per block in layer order. Ascending indices.
struct LmPlan {
  std::vector<size_t> blocks;  // index in spec.layers
  std::vector<std::vector<int64_t>> keep_heads;
  std::vector<std::vector<int64_t>> keep_neurons;
  std::vector<bool> keep_block;
  std::vector<int64_t> keep_channels;  // embedding channels (of D)
};

// width: removes the same fraction of heads in every block, of MLP neurons in
// every block and of the embedding channels (each axis its lowest-ranked
// units; ties keep the lower index; one of each always stays). Fixed axes of
// `axes` cut their fraction; the auto ones share the smallest fraction that
// removes at least `sparsity` of all the model's parameters (or as much as
// they allow), and when heads and mlp are both auto as few neurons as then
// still reach it (a head is a coarse step).
LmPlan plan_lm_width(const ModelSpec& spec, const LmImportance& importance, double sparsity,
                     const WidthTargets& axes = {});
// depth: drops the blocks of lowest block_score() (ties: the later block)
// until at least `sparsity` of all parameters is removed; one stays.
LmPlan plan_lm_depth(const ModelSpec& spec, const LmImportance& importance, double sparsity);
// The most a method ("width" or "depth") can remove, as a fraction of all
// parameters (width: the auto axes of `axes` cut to one unit).
double lm_max_sparsity(const ModelSpec& spec, const std::string& method,
                       const WidthTargets& axes = {});

// The cut as masks on the dense model (see above).
PruneMasks lm_masks(const torch::jit::Module& model, const ModelSpec& spec, const LmPlan& plan);
// The plan a set of lm_masks describes (a head, neuron, block or channel is
// cut when its o columns, fc2 column, o weight or embedding column are
// masked out entirely).
LmPlan lm_plan_from_masks(const ModelSpec& spec, const PruneMasks& masks);

// How many channels the layer norms of a model masked by `plan` count
// (model_spec.h set_norm_width): the channels kept.
int64_t lm_norm_width(const ModelSpec& spec, const LmPlan& plan);

// The physically smaller model: fewer heads and neurons per block, fewer
// channels, dropped blocks removed (the later layers' parameters renamed to
// their new index).
// It runs the same generated source and computes what the masked model does.
CompactModel compact_lm(const torch::jit::Module& model, const ModelSpec& spec, const LmPlan& plan);

}  // namespace condenser
