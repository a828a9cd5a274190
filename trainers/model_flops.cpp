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

at::Tensor weight_of(const ModelSpec& spec, const torch::jit::Module& module,
                     const std::string& name) {
  if (!module.hasattr(name)) {
    throw RuntimeFailure("model_flops: the module has no weight '" + name + "' of spec '" +
                         spec.name + "'");
  }
  return module.attr(name).toTensor();
}

void add(ModelFlops* total, const std::string& name, int64_t dense, int64_t effective) {
  total->dense += dense;
  total->effective += effective;
  total->layers.push_back({name, dense, effective});
}

void add_matrix(const ModelSpec& spec, const torch::jit::Module& module, const std::string& name,
                const std::string& label, ModelFlops* total) {
  const at::Tensor w = weight_of(spec, module, name);
  add(total, label, 2 * w.numel(), 2 * w.count_nonzero().item<int64_t>());
}

// Per token; see model_flops.h for the formula.
void count_lm(const ModelSpec& spec, const torch::jit::Module& module,
              const std::vector<LayerSpec>& layers, const std::string& parent, ModelFlops* total) {
  const int64_t t = spec.input_shape.at(0);
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const std::string p = layer_prefix(parent, i);
    if (l.kind == LayerKind::kResidual) count_lm(spec, module, l.body, p, total);
    if (l.kind == LayerKind::kLinear) add_matrix(spec, module, p + "_w", p + "_w", total);
    if (l.kind == LayerKind::kLMHead) add_matrix(spec, module, "l0_w", "lm_head(l0_w)", total);
    if (l.kind != LayerKind::kBlock) continue;
    for (const char* w : {"_qkv_w", "_o_w", "_fc1_w", "_fc2_w"}) {
      add_matrix(spec, module, p + w, p + w, total);
    }
    const int64_t heads = weight_of(spec, module, p + "_qkv_w").size(0) / (3 * l.head_dim);
    const int64_t attention = 2 * heads * l.head_dim * (t + 1);
    add(total, p + "_attn", attention, attention);
  }
}

}  // namespace

ModelFlops model_flops(const ModelSpec& spec, const torch::jit::Module& module) {
  torch::NoGradGuard no_grad;
  ModelFlops total;
  if (is_language_model(spec)) {
    total.per_token = true;
    count_lm(spec, module, spec.layers, "", &total);
    return total;
  }
  count(spec, module, spec.layers, spec.input_shape, "", &total);
  return total;
}

}  // namespace condenser
