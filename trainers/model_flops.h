#pragma once
// Forward-pass cost of a zoo model per sample, counted from its spec and its
// actual weights: a multiply-add is 2 FLOPs. Dense counts every weight;
// effective counts only nonzero weights (what a sparse kernel would pay), so
// unstructured pruning lowers `flops` and structured compaction lowers both.
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "trainers/model_spec.h"

namespace condenser {

struct LayerFlops {
  std::string name;  // the weight, e.g. l0_w
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
// Biases, BatchNorm, ReLU and pooling are not counted.
ModelFlops model_flops(const ModelSpec& spec, const torch::jit::Module& module);

}  // namespace condenser
