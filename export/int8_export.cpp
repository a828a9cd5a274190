#include "export/int8_export.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>

namespace condenser {
namespace {

bool engine_supported(at::QEngine e) {
  const auto& engines = at::globalContext().supportedQEngines();
  return std::find(engines.begin(), engines.end(), e) != engines.end();
}

// quantized::linear_prepack through the dispatcher: its result is a
// TorchScript custom class (LinearPackedParamsBase) that saves and loads
// with the module.
c10::IValue prepack(const at::Tensor& weight, const at::Tensor& bias) {
  const float max_abs = weight.abs().max().item<float>();
  const double scale = max_abs > 0 ? double(max_abs) / 127.0 : 1.0;
  const at::Tensor q = at::quantize_per_tensor(weight.contiguous(), scale, 0, at::kQInt8);
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  torch::jit::Stack stack{q, bias.defined() ? c10::IValue(bias) : c10::IValue()};
  op.callBoxed(&stack);
  return stack.at(0);
}

// define()'s default resolver knows `torch` only; the int8 forward also calls
// quantized::linear_dynamic, so `quantized` resolves to that op namespace.
struct QuantizedResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(
      const std::string& name, torch::jit::GraphFunction& m,
      const torch::jit::SourceRange& loc) override {
    if (name == "quantized") return std::make_shared<torch::jit::BuiltinModule>("quantized");
    return torch::jit::nativeResolver()->resolveValue(name, m, loc);
  }
  c10::TypePtr resolveType(const std::string& name, const torch::jit::SourceRange& loc) override {
    return torch::jit::nativeResolver()->resolveType(name, loc);
  }
};

// Parameter prefixes of every linear layer, residual bodies included.
void linear_layers(const std::vector<LayerSpec>& layers, const std::string& parent,
                   std::vector<std::string>* out) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string p = layer_prefix(parent, i);
    if (layers[i].kind == LayerKind::kLinear) out->push_back(p);
    if (layers[i].kind == LayerKind::kResidual) linear_layers(layers[i].body, p, out);
  }
}

}  // namespace

Int8Model quantize_linear_dynamic(const torch::jit::Module& student, const ModelSpec& spec) {
  Int8Model out;
  // The engine packs the weights now; a loader repacks them for its own.
  at::QEngine engine = at::globalContext().qEngine();
  for (at::QEngine e : {at::QEngine::FBGEMM, at::QEngine::ONEDNN, at::QEngine::QNNPACK}) {
    if (engine != at::QEngine::NoQEngine) break;
    if (engine_supported(e)) engine = e;
  }
  if (engine == at::QEngine::NoQEngine) {
    out.reason = "this LibTorch has no quantized engine (fbgemm, onednn or qnnpack)";
    return out;
  }
  at::globalContext().setQEngine(engine);
  out.engine = c10::toString(engine);
  std::map<std::string, at::Tensor> params;
  for (const auto& p : student.named_parameters(/*recurse=*/false)) params[p.name] = p.value;
  for (const auto& b : student.named_buffers(/*recurse=*/false)) params[b.name] = b.value;

  torch::NoGradGuard no_grad;
  torch::jit::Module q(spec.name + "_int8");
  q.register_attribute("training", c10::BoolType::get(), false);
  std::string source = model_source(spec);
  std::vector<std::string> linears;
  linear_layers(spec.layers, "", &linears);
  for (const std::string& p : linears) {
    const std::string call = "torch.linear(x, self." + p + "_w, self." + p + "_b)";
    const size_t at = source.find(call);
    if (at == std::string::npos || !params.count(p + "_w")) {
      out.reason = "the student's linear layer " + p + " is not where its spec puts it";
      return out;
    }
    const c10::IValue packed = prepack(
        params[p + "_w"].cpu(), params.count(p + "_b") ? params[p + "_b"].cpu() : at::Tensor());
    q.register_attribute(p + "_packed", packed.type(), packed);
    params.erase(p + "_w");
    params.erase(p + "_b");
    // fbgemm's int8 kernels need 7-bit activations (reduce_range) to avoid
    // overflow; onednn and qnnpack take the full range.
    source.replace(at, call.size(),
                   "quantized.linear_dynamic(x, self." + p + "_packed, " +
                       (engine == at::QEngine::FBGEMM ? "True" : "False") + ")");
    ++out.quantized_layers;
  }
  if (out.quantized_layers == 0) {
    out.reason = "the student has no linear layer to quantize";
    return out;
  }
  for (const auto& p : student.named_parameters(/*recurse=*/false)) {
    if (params.count(p.name)) q.register_parameter(p.name, p.value.detach().cpu(), false);
  }
  for (const auto& b : student.named_buffers(/*recurse=*/false)) {
    if (params.count(b.name)) q.register_buffer(b.name, b.value.cpu());
  }
  q.define(source, std::make_shared<QuantizedResolver>());
  q.eval();
  out.module = q;
  out.available = true;
  return out;
}

}  // namespace condenser
