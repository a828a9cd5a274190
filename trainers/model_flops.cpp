#include "trainers/model_flops.h"

#include <torch/torch.h>

#include "core/errors.h"

namespace condenser {

namespace {

void count(const ModelSpec& spec, const torch::jit::Module& module,
           const std::vector<LayerSpec>& layers, std::vector<int64_t> shape,
           const std::string& parent, ModelFlops* total) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const std::string p = layer_prefix(parent, i);
    const std::vector<int64_t> out = layer_output_shape(l, shape, "model '" + spec.name + "' " + p);
    if (l.kind == LayerKind::kResidual) count(spec, module, l.body, shape, p, total);
    shape = out;
    if (l.kind != LayerKind::kConv && l.kind != LayerKind::kLinear) continue;
    // Output positions come from the spec: spatial sizes do not depend on channels.
    const int64_t positions = l.kind == LayerKind::kConv ? out[1] * out[2] : 1;
    const std::string name = p + "_w";
    if (!module.hasattr(name)) {
      throw RuntimeFailure("model_flops: the module has no weight '" + name + "' of spec '" +
                           spec.name + "'");
    }
    const at::Tensor w = module.attr(name).toTensor();
    LayerFlops layer{name, 2 * positions * w.numel(),
                     2 * positions * w.count_nonzero().item<int64_t>()};
    total->dense += layer.dense;
    total->effective += layer.effective;
    total->layers.push_back(layer);
  }
}

}  // namespace

ModelFlops model_flops(const ModelSpec& spec, const torch::jit::Module& module) {
  torch::NoGradGuard no_grad;
  ModelFlops total;
  count(spec, module, spec.layers, spec.input_shape, "", &total);
  return total;
}

}  // namespace condenser
