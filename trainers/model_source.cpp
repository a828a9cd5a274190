// The generated TorchScript forward of model_spec.h.
#include <sstream>

#include "trainers/model_spec.h"

namespace condenser {
namespace {

// Formats a double so TorchScript parses it back exactly.
std::string literal(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  std::string s = out.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// One value as a literal; one per channel as a tensor broadcast over [C,1,1]
// (images) or [F] (tabular rows).
std::string normaliser(const std::vector<double>& values, double fallback,
                       const std::vector<int64_t>& input_shape) {
  if (values.size() <= 1) return literal(values.empty() ? fallback : values[0]);
  std::string list;
  for (double v : values) list += (list.empty() ? "" : ", ") + literal(v);
  std::string out = "torch.tensor([" + list + "], dtype=x.dtype, device=x.device)";
  if (input_shape.size() == 3) out += ".view([" + std::to_string(values.size()) + ", 1, 1])";
  return out;
}

std::string pair(int64_t v) { return "[" + std::to_string(v) + ", " + std::to_string(v) + "]"; }

void emit(std::ostringstream& src, const std::vector<LayerSpec>& layers, const std::string& parent) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const std::string name = layer_prefix(parent, i);
    const std::string p = "self." + name;
    switch (l.kind) {
      case LayerKind::kConv:
        src << "    x = torch.conv2d(x, " << p << "_w, " << p << "_b, " << pair(l.stride) << ", "
            << pair(l.padding) << ")\n";
        break;
      case LayerKind::kBatchNorm:
        src << "    x = torch.batch_norm(x, " << p << "_w, " << p << "_b, " << p << "_mean, " << p
            << "_var, self.training, 0.1, 1e-05, True)\n";
        break;
      case LayerKind::kReLU:
        src << "    x = torch.relu(x)\n";
        break;
      case LayerKind::kGELU:
        src << "    x = torch.gelu(x)\n";
        break;
      case LayerKind::kTanh:
        src << "    x = torch.tanh(x)\n";
        break;
      case LayerKind::kMaxPool:
        src << "    x = torch.max_pool2d(x, " << pair(l.kernel) << ", " << pair(l.kernel) << ")\n";
        break;
      case LayerKind::kAvgPool:
        src << "    x = torch.avg_pool2d(x, " << pair(l.kernel) << ", " << pair(l.kernel) << ")\n";
        break;
      case LayerKind::kGlobalAvgPool:
        src << "    x = torch.mean(x, [2, 3])\n";
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
      case LayerKind::kResidual:
        src << "    r_" << name << " = x\n";
        emit(src, l.body, name);
        src << "    x = x + r_" << name << "\n";
        break;
    }
  }
}

}  // namespace

std::string model_source(const ModelSpec& spec) {
  std::ostringstream src;
  src << "def forward(self, x):\n";
  if (!spec.input_mean.empty() || !spec.input_std.empty()) {
    src << "    x = (x - " << normaliser(spec.input_mean, 0.0, spec.input_shape) << ") / "
        << normaliser(spec.input_std, 1.0, spec.input_shape) << "\n";
  }
  emit(src, spec.layers, "");
  src << "    return x\n";
  return src.str();
}

}  // namespace condenser
