#include "trainers/model_spec.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "core/errors.h"

namespace condenser {
namespace {

LayerSpec conv(int64_t out) { return {LayerKind::kConv, out, 3, 1, 0.0}; }
LayerSpec bn() { return {LayerKind::kBatchNorm}; }
LayerSpec relu() { return {LayerKind::kReLU}; }
LayerSpec pool() { return {LayerKind::kMaxPool, 0, 2, 0, 0.0}; }
LayerSpec flatten() { return {LayerKind::kFlatten}; }
LayerSpec linear(int64_t out) { return {LayerKind::kLinear, out}; }
LayerSpec dropout(double rate) { return {LayerKind::kDropout, 0, 0, 0, rate}; }

// Fashion-MNIST training-set pixel statistics.
constexpr double kFashionMean = 0.2860;
constexpr double kFashionStd = 0.3530;

}  // namespace

std::vector<std::string> zoo_names() { return {"cnn", "small_cnn", "mlp"}; }

ModelSpec zoo_spec(const std::string& name, const std::vector<int64_t>& input_shape,
                   int64_t classes) {
  ModelSpec spec;
  spec.name = name;
  spec.input_shape = input_shape;
  if (input_shape == std::vector<int64_t>{1, 28, 28}) {
    spec.input_mean = {kFashionMean};
    spec.input_std = {kFashionStd};
  }
  if (name == "cnn") {
    spec.layers = {conv(32), bn(),      relu(),     pool(),       conv(64),  bn(), relu(),
                   pool(),   flatten(), linear(128), relu(), dropout(0.3), linear(classes)};
  } else if (name == "small_cnn") {
    spec.layers = {conv(16), bn(),      relu(),     pool(), conv(24), bn(), relu(),
                   pool(),   flatten(), linear(32), relu(), linear(classes)};
  } else if (name == "mlp") {
    spec.layers = {flatten(), linear(128), relu(), linear(classes)};
  } else {
    std::string names;
    for (const auto& n : zoo_names()) names += (names.empty() ? "" : ", ") + n;
    throw UsageError("unknown model '" + name + "'; built-in models are: " + names +
                     " (or give a TorchScript file as teacher.path)");
  }
  check_spec(spec, classes, "model '" + name + "' layers");
  return spec;
}

namespace {

// Registers a spec's parameters on a module, drawing weights in layer order.
struct Builder {
  torch::jit::Module& module;
  at::Generator gen;
  std::string key;   // for shape errors
  std::string last;  // prefix of the class layer: gain 1, not 2 (it feeds no ReLU)

  at::Tensor weight(const std::vector<int64_t>& shape, int64_t fan_in, double gain) {
    return torch::randn(shape, gen, torch::kFloat32).mul_(gain / std::sqrt(double(fan_in)));
  }
  void param(const std::string& name, const at::Tensor& t) {
    module.register_parameter(name, t.set_requires_grad(true), /*is_buffer=*/false);
  }

  std::vector<int64_t> add(const std::vector<LayerSpec>& layers, std::vector<int64_t> shape,
                           const std::string& parent, const std::string& where) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerSpec& l = layers[i];
      const std::string p = layer_prefix(parent, i);
      const std::string at = where + "[" + std::to_string(i) + "]";
      const std::vector<int64_t> out = layer_output_shape(l, shape, at);
      const int64_t in = shape[0];
      if (l.kind == LayerKind::kConv) {
        const int64_t fan_in = in * l.kernel * l.kernel;
        param(p + "_w", weight({l.out, in, l.kernel, l.kernel}, fan_in, std::sqrt(2.0)));
        param(p + "_b", torch::zeros({l.out}));
      } else if (l.kind == LayerKind::kLinear) {
        param(p + "_w", weight({l.out, in}, in, p == last ? 1.0 : std::sqrt(2.0)));
        param(p + "_b", torch::zeros({l.out}));
      } else if (l.kind == LayerKind::kBatchNorm) {
        param(p + "_w", torch::ones({in}));
        param(p + "_b", torch::zeros({in}));
        module.register_buffer(p + "_mean", torch::zeros({in}));
        module.register_buffer(p + "_var", torch::ones({in}));
      } else if (l.kind == LayerKind::kResidual) {
        add(l.body, shape, p, at + ".residual");
      }
      shape = out;
    }
    return shape;
  }
};

}  // namespace

torch::jit::Module build_model(const ModelSpec& spec, uint64_t seed) {
  if (is_language_model(spec)) return build_language_model(spec, seed);
  torch::NoGradGuard no_grad;
  torch::jit::Module module(spec.name.empty() ? "model" : spec.name);
  // A Module made from C++ has no `training` flag until we add one; forward
  // reads it (BatchNorm, dropout) and train()/eval() set it.
  if (!module.hasattr("training")) {
    module.register_attribute("training", c10::BoolType::get(), true);
  }
  const size_t rank = spec.input_shape.size();
  if (rank != 1 && rank != 3) {
    throw UsageError("model '" + spec.name + "': the input shape must be [features] or "
                     "[channels, height, width], not " + std::to_string(rank) + " dimensions");
  }
  Builder builder{module, at::detail::createCPUGenerator(seed), "model '" + spec.name + "' layers",
                  ""};
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    if (spec.layers[i].kind == LayerKind::kLinear) builder.last = layer_prefix("", i);
  }
  builder.add(spec.layers, spec.input_shape, "", builder.key);
  module.define(model_source(spec));
  return module;
}

}  // namespace condenser
