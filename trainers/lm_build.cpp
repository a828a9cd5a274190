// build_language_model (model_spec.h): a transformer's parameters, drawn in
// layer order from the seed alone, and its generated forward.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "core/errors.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

int64_t count_blocks(const std::vector<LayerSpec>& layers) {
  int64_t n = 0;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::kBlock) ++n;
    if (l.kind == LayerKind::kResidual) n += count_blocks(l.body);
  }
  return n;
}

struct LmBuilder {
  torch::jit::Module& module;
  at::Generator gen;
  int64_t vocab;
  double out_std;  // o and fc2: 0.02 / sqrt(2 * blocks), so the residual sum stays ~unit

  void param(const std::string& name, const at::Tensor& t) {
    module.register_parameter(name, t.set_requires_grad(true), /*is_buffer=*/false);
  }
  void normal(const std::string& name, const std::vector<int64_t>& shape, double std) {
    param(name, torch::randn(shape, gen, torch::kFloat32).mul_(std));
  }
  void norm(const std::string& p, int64_t d) {
    param(p + "_w", torch::ones({d}));
    param(p + "_b", torch::zeros({d}));
  }
  void block(const LayerSpec& l, const std::string& p, int64_t d) {
    const int64_t hd = l.heads * l.head_dim;
    norm(p + "_ln1", d);
    normal(p + "_qkv_w", {3 * hd, d}, 0.02);
    param(p + "_qkv_b", torch::zeros({3 * hd}));
    normal(p + "_o_w", {d, hd}, out_std);
    param(p + "_o_b", torch::zeros({d}));
    norm(p + "_ln2", d);
    normal(p + "_fc1_w", {l.mlp, d}, 0.02);
    param(p + "_fc1_b", torch::zeros({l.mlp}));
    normal(p + "_fc2_w", {d, l.mlp}, out_std);
    param(p + "_fc2_b", torch::zeros({d}));
  }

  void add(const std::vector<LayerSpec>& layers, std::vector<int64_t> shape,
           const std::string& parent, const std::string& where) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerSpec& l = layers[i];
      const std::string p = layer_prefix(parent, i);
      const std::string at = where + "[" + std::to_string(i) + "]";
      const std::vector<int64_t> out = layer_output_shape(l, shape, at, vocab);
      const int64_t d = shape.back();
      if (l.kind == LayerKind::kEmbedding) {
        normal(p + "_w", {vocab, l.out}, 0.02);
        if (l.positions == Positions::kLearned) normal(p + "_pos", {shape[0], l.out}, 0.02);
      } else if (l.kind == LayerKind::kBlock) {
        block(l, p, d);
      } else if (l.kind == LayerKind::kLayerNorm) {
        norm(p, d);
      } else if (l.kind == LayerKind::kLinear) {
        normal(p + "_w", {l.out, d}, 0.02);
        param(p + "_b", torch::zeros({l.out}));
      } else if (l.kind == LayerKind::kResidual) {
        add(l.body, shape, p, at + ".residual");
      }
      shape = out;
    }
  }
};

}  // namespace

torch::jit::Module build_language_model(const ModelSpec& spec, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const std::string name = spec.name.empty() ? "model" : spec.name;
  if (spec.vocab < 1 || spec.input_shape.size() != 1) {
    throw UsageError("model '" + name +
                     "': a language model needs its vocabulary (the data's "
                     "classes) and an input shape [T]");
  }
  torch::jit::Module module(name);
  // As build_model: forward reads `training` (dropout layers).
  module.register_attribute("training", c10::BoolType::get(), true);
  const int64_t blocks = std::max<int64_t>(1, count_blocks(spec.layers));
  LmBuilder builder{module, at::detail::createCPUGenerator(seed), spec.vocab,
                    0.02 / std::sqrt(2.0 * double(blocks))};
  builder.add(spec.layers, spec.input_shape, "", "model '" + name + "' layers");
  add_norm_width(module, spec.layers.front().out);
  module.define(model_source(spec));
  return module;
}

namespace {
constexpr const char* kNormWidth = "norm_width";  // read by model_source's norm()
}

void add_norm_width(torch::jit::Module& module, int64_t width) {
  module.register_attribute(kNormWidth, c10::IntType::get(), width);
}

void set_norm_width(torch::jit::Module& module, int64_t width) {
  module.setattr(kNormWidth, width);
}

int64_t norm_width(const torch::jit::Module& module) { return module.attr(kNormWidth).toInt(); }

}  // namespace condenser
