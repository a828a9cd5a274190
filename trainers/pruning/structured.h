#pragma once
// Structured pruning with real compaction for models built from a ModelSpec:
// whole conv output channels and hidden linear neurons are removed, and the
// layers that consume them (BatchNorm, the next conv's input channels, the
// flatten -> linear boundary, the next linear's inputs) shrink with them, so
// the compacted model is physically smaller and faster, not just sparse.
// Residual blocks: channels added by x + body(x) are coupled (the body's last
// conv/linear and whatever produces the block's input must keep the same
// channels), so those layers are never cut; layers inside a body are.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "trainers/model_spec.h"
#include "trainers/prune_masks.h"

namespace condenser {

// Kept output channels (conv) or neurons (linear), ascending: top-level
// layers by index, layers inside residual bodies by parameter prefix
// ("l4_0"). Layers not listed keep everything.
struct StructuredPlan {
  std::map<size_t, std::vector<int64_t>> keep;
  std::map<std::string, std::vector<int64_t>> body_keep;
};

// Drops the layer of weight `weight_name` ("l4_w", "l4_0_w") from the plan,
// so it keeps everything (prune.exclude). Unknown names are ignored.
void exclude_from_plan(StructuredPlan& plan, const std::string& weight_name);

// Ranks each conv layer's output channels and each hidden linear layer's
// neurons (never the last linear: its outputs are the classes; never a layer
// coupled by a residual add), residual bodies included, by the L1 or
// L2 norm of their weights and keeps the ceil((1 - fraction) * n) largest
// (at least one); ties go to the lower index. norm: "l1" | "l2".
StructuredPlan plan_structured(const torch::jit::Module& module, const ModelSpec& spec,
                               double fraction, const std::string& norm = "l1");

// The same cut as masks on the uncompacted model: a removed channel's
// weights, bias, and the scale and shift of every BatchNorm it reaches
// before the next conv/linear are zeroed, so it is exactly 0 downstream
// (train or eval mode).
PruneMasks structured_masks(const torch::jit::Module& module, const ModelSpec& spec,
                            const StructuredPlan& plan);

struct CompactModel {
  ModelSpec spec;             // the smaller architecture
  torch::jit::Module module;  // its TorchScript module with the kept weights
};

// Builds the physically smaller model (strides, padding and the input
// normalisation unchanged). Its outputs equal the masked model's.
CompactModel compact(const torch::jit::Module& module, const ModelSpec& spec,
                     const StructuredPlan& plan);

}  // namespace condenser
