#include "trainers/model_flops.h"

#include <torch/torch.h>

#include "core/errors.h"

namespace condenser {

ModelFlops model_flops(const ModelSpec& spec, const torch::jit::Module& module) {
  torch::NoGradGuard no_grad;
  int64_t height = spec.input_shape.size() == 3 ? spec.input_shape[1] : 1;
  int64_t width = spec.input_shape.size() == 3 ? spec.input_shape[2] : 1;
  ModelFlops total;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    if (l.kind == LayerKind::kMaxPool) {
      height /= l.kernel;
      width /= l.kernel;
      continue;
    }
    if (l.kind != LayerKind::kConv && l.kind != LayerKind::kLinear) continue;
    int64_t positions = 1;
    if (l.kind == LayerKind::kConv) {
      height = height + 2 * l.padding - l.kernel + 1;
      width = width + 2 * l.padding - l.kernel + 1;
      positions = height * width;
    }
    const std::string name = "l" + std::to_string(i) + "_w";
    if (!module.hasattr(name)) {
      throw RuntimeFailure("model_flops: the module has no weight '" + name + "' of spec '" +
                           spec.name + "'");
    }
    const at::Tensor w = module.attr(name).toTensor();
    LayerFlops layer{name, 2 * positions * w.numel(),
                     2 * positions * w.count_nonzero().item<int64_t>()};
    total.dense += layer.dense;
    total.effective += layer.effective;
    total.layers.push_back(layer);
  }
  return total;
}

}  // namespace condenser
