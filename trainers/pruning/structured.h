#pragma once
// Structured pruning with real compaction for models built from a ModelSpec:
// whole conv output channels and hidden linear neurons are removed, and the
// layers that consume them (BatchNorm, the next conv's input channels, the
// flatten -> linear boundary, the next linear's inputs) shrink with them, so
// the compacted model is physically smaller and faster, not just sparse.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "trainers/model_spec.h"
#include "trainers/prune_masks.h"

namespace condenser {

// Kept output channels (conv) or neurons (linear) per layer index of the
// spec, ascending. Layers not listed keep everything.
struct StructuredPlan {
  std::map<size_t, std::vector<int64_t>> keep;
};

// Ranks each conv layer's output channels and each hidden linear layer's
// neurons (never the last linear: its outputs are the classes) by the L1 or
// L2 norm of their weights and keeps the ceil((1 - fraction) * n) largest
// (at least one); ties go to the lower index. norm: "l1" | "l2".
StructuredPlan plan_structured(const torch::jit::Module& module, const ModelSpec& spec,
                               double fraction, const std::string& norm = "l1");

// The same cut as masks on the uncompacted model: a removed channel's
// weights, bias, and following BatchNorm scale and shift are zeroed, so its
// output is exactly 0 downstream (train or eval mode).
PruneMasks structured_masks(const torch::jit::Module& module, const ModelSpec& spec,
                            const StructuredPlan& plan);

struct CompactModel {
  ModelSpec spec;             // the smaller architecture
  torch::jit::Module module;  // its TorchScript module with the kept weights
};

// Builds the physically smaller model. Its outputs equal the masked model's.
CompactModel compact(const torch::jit::Module& module, const ModelSpec& spec,
                     const StructuredPlan& plan);

}  // namespace condenser
