#include "trainers/model_spec.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

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

std::string prefix(size_t i) { return "l" + std::to_string(i); }

// Formats a double so TorchScript parses it back exactly.
std::string literal(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  std::string s = out.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::vector<std::string> zoo_names() { return {"cnn", "small_cnn", "mlp"}; }

ModelSpec zoo_spec(const std::string& name) {
  ModelSpec spec;
  spec.name = name;
  spec.input_mean = kFashionMean;
  spec.input_std = kFashionStd;
  if (name == "cnn") {
    spec.layers = {conv(32), bn(),      relu(),     pool(),       conv(64),  bn(), relu(),
                   pool(),   flatten(), linear(128), relu(), dropout(0.3), linear(10)};
  } else if (name == "small_cnn") {
    spec.layers = {conv(16), bn(),      relu(),     pool(), conv(24), bn(), relu(),
                   pool(),   flatten(), linear(32), relu(), linear(10)};
  } else if (name == "mlp") {
    spec.layers = {flatten(), linear(128), relu(), linear(10)};
  } else {
    std::string names;
    for (const auto& n : zoo_names()) names += (names.empty() ? "" : ", ") + n;
    throw UsageError("unknown model '" + name + "'; built-in models are: " + names +
                     " (or give a TorchScript file as teacher.path)");
  }
  return spec;
}

std::string model_source(const ModelSpec& spec) {
  std::ostringstream src;
  src << "def forward(self, x):\n";
  src << "    x = (x - " << literal(spec.input_mean) << ") / " << literal(spec.input_std) << "\n";
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    const std::string p = "self." + prefix(i);
    switch (l.kind) {
      case LayerKind::kConv:
        src << "    x = torch.conv2d(x, " << p << "_w, " << p << "_b, [1, 1], [" << l.padding
            << ", " << l.padding << "])\n";
        break;
      case LayerKind::kBatchNorm:
        src << "    x = torch.batch_norm(x, " << p << "_w, " << p << "_b, " << p << "_mean, " << p
            << "_var, self.training, 0.1, 1e-05, True)\n";
        break;
      case LayerKind::kReLU:
        src << "    x = torch.relu(x)\n";
        break;
      case LayerKind::kMaxPool:
        src << "    x = torch.max_pool2d(x, [" << l.kernel << ", " << l.kernel << "], [" << l.kernel
            << ", " << l.kernel << "])\n";
        break;
      case LayerKind::kFlatten:
        src << "    x = torch.flatten(x, 1)\n";
        break;
      case LayerKind::kLinear:
        src << "    x = torch.linear(x, " << p << "_w, " << p << "_b)\n";
        break;
      case LayerKind::kDropout:
        src << "    x = torch.dropout(x, " << literal(l.rate) << ", self.training)\n";
        break;
    }
  }
  src << "    return x\n";
  return src.str();
}

torch::jit::Module build_model(const ModelSpec& spec, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  torch::jit::Module module(spec.name);
  // A Module made from C++ has no `training` flag until we add one; forward
  // reads it (BatchNorm, dropout) and train()/eval() set it.
  if (!module.hasattr("training")) {
    module.register_attribute("training", c10::BoolType::get(), true);
  }
  int64_t channels = spec.input_shape.at(0), height = spec.input_shape.at(1),
          width = spec.input_shape.at(2);
  int64_t features = 0;  // set once flattened
  auto weight = [&](const std::vector<int64_t>& shape, int64_t fan_in, double gain) {
    return torch::randn(shape, gen, torch::kFloat32).mul_(gain / std::sqrt(double(fan_in)));
  };
  auto param = [&](const std::string& name, const torch::Tensor& t) {
    module.register_parameter(name, t.set_requires_grad(true), /*is_buffer=*/false);
  };
  size_t last_linear = 0;
  for (size_t i = 0; i < spec.layers.size(); ++i)
    if (spec.layers[i].kind == LayerKind::kLinear) last_linear = i;

  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    const std::string p = prefix(i);
    switch (l.kind) {
      case LayerKind::kConv: {
        const int64_t fan_in = channels * l.kernel * l.kernel;
        param(p + "_w", weight({l.out, channels, l.kernel, l.kernel}, fan_in, std::sqrt(2.0)));
        param(p + "_b", torch::zeros({l.out}));
        channels = l.out;
        height = height + 2 * l.padding - l.kernel + 1;
        width = width + 2 * l.padding - l.kernel + 1;
        break;
      }
      case LayerKind::kBatchNorm:
        param(p + "_w", torch::ones({channels}));
        param(p + "_b", torch::zeros({channels}));
        module.register_buffer(p + "_mean", torch::zeros({channels}));
        module.register_buffer(p + "_var", torch::ones({channels}));
        break;
      case LayerKind::kMaxPool:
        height /= l.kernel;
        width /= l.kernel;
        break;
      case LayerKind::kFlatten:
        features = channels * height * width;
        break;
      case LayerKind::kLinear: {
        if (features == 0) throw RuntimeFailure("model '" + spec.name + "': linear before flatten");
        const double gain = i == last_linear ? 1.0 : std::sqrt(2.0);
        param(p + "_w", weight({l.out, features}, features, gain));
        param(p + "_b", torch::zeros({l.out}));
        features = l.out;
        break;
      }
      case LayerKind::kReLU:
      case LayerKind::kDropout:
        break;
    }
  }
  module.define(model_source(spec));
  return module;
}

}  // namespace condenser
