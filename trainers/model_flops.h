#pragma once
// Forward-pass cost per sample of a model built from a ModelSpec, counted
// from its spec and its actual weights: a multiply-add is 2 FLOPs. Dense counts every weight;
// effective counts only nonzero weights (what a sparse kernel would pay), so
// unstructured pruning lowers `flops` and structured compaction lowers both.
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "trainers/model_spec.h"

namespace condenser {

struct LayerFlops {
  std::string name;  // the weight, e.g. l0_w or l4_0_w
  int64_t dense = 0;
  int64_t effective = 0;
};

struct ModelFlops {
  int64_t dense = 0;
  int64_t effective = 0;
  std::vector<LayerFlops> layers;  // conv and linear layers, in order
};

// `spec` gives the layer order and spatial sizes (channel counts come from
// the module's weights, so a compacted module is counted as it is).
// Layers inside residual bodies count under their own names (l4_0_w).
// Biases, BatchNorm, activations, pooling (global too) and residual adds
// are not counted.
ModelFlops model_flops(const ModelSpec& spec, const torch::jit::Module& module);

}  // namespace condenser
