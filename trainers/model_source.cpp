// The generated TorchScript forward of model_spec.h.
#include <cmath>
#include <set>
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

// Head dims of every block (residual bodies too): one rotary table each.
void head_dims(const std::vector<LayerSpec>& layers, std::set<int64_t>* out) {
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::kBlock) out->insert(l.head_dim);
    if (l.kind == LayerKind::kResidual) head_dims(l.body, out);
  }
}

// Token embedding, learned positions or rotary tables (cos_d, sin_d [T, d/2],
// angles in float64 so any reference agrees), and the causal mask. A module
// defined from C++ cannot name torch.float64 / torch.bool: dtypes are written
// as their ScalarType codes (7 double, 11 bool; fixed in c10 for good).
void emit_embedding(std::ostringstream& src, const ModelSpec& spec, const std::string& p) {
  src << "    seq = x.size(1)\n";
  src << "    x = torch.embedding(" << p << "_w, x)\n";
  if (spec.layers[0].positions == Positions::kLearned) {
    src << "    assert seq <= " << p << "_pos.size(0), \"sequence longer than the learned "
        << "positions table\"\n";
    src << "    x = x + " << p << "_pos[:seq]\n";
  } else {
    std::set<int64_t> dims;
    head_dims(spec.layers, &dims);
    for (int64_t d : dims) {
      const std::string n = std::to_string(d);
      src << "    ang_" << n << " = torch.arange(seq, dtype=7, device=x.device)"
          << ".unsqueeze(1) * torch.exp(torch.arange(0, " << n
          << ", 2, dtype=7, device=x.device) * " << literal(-std::log(10000.0) / d)
          << ").unsqueeze(0)\n";
      src << "    cos_" << n << " = torch.cos(ang_" << n << ").to(x.dtype)\n";
      src << "    sin_" << n << " = torch.sin(ang_" << n << ").to(x.dtype)\n";
    }
  }
  src << "    causal = torch.ones([seq, seq], dtype=11, device=x.device).triu(1)\n";
}

// Rotate-half rotary on t [B, H, T, d]: pairs (i, i + d/2).
void emit_rotary(std::ostringstream& src, const std::string& t, int64_t d) {
  const std::string n = std::to_string(d), half = std::to_string(d / 2);
  src << "    " << t << "1 = " << t << "[:, :, :, :" << half << "]\n";
  src << "    " << t << "2 = " << t << "[:, :, :, " << half << ":]\n";
  src << "    " << t << " = torch.cat([" << t << "1 * cos_" << n << " - " << t << "2 * sin_" << n
      << ", " << t << "2 * cos_" << n << " + " << t << "1 * sin_" << n << "], -1)\n";
}

// A pre-norm block. Heads come from the qkv rows, widths from the tensors.
// The probe's statistics (model_probe_source), in this order per block: the
// mean |x| per channel entering each layer norm, the mean L2 norm per head of
// the attention output, the mean |activation| per MLP neuron, and the block's
// cosine distance between what enters and what leaves it.
const char* const kChannelStat = "    stats.append(torch.mean(torch.abs(x), [0, 1]))\n";

// A pre-norm block. Heads come from the qkv rows, widths from the tensors.
void emit_block(std::ostringstream& src, const LayerSpec& l, const std::string& p, bool rotary,
                bool probe) {
  const std::string d = std::to_string(l.head_dim);
  if (probe) src << "    x_in = x\n" << kChannelStat;
  src << "    h = self.norm(x, " << p << "_ln1_w, " << p << "_ln1_b)\n";
  src << "    qkv = torch.linear(h, " << p << "_qkv_w, " << p << "_qkv_b)\n";
  src << "    nh = qkv.size(-1) // " << 3 * l.head_dim << "\n";
  src << "    qkv = qkv.view([x.size(0), seq, 3, nh, " << d << "]).permute([2, 0, 3, 1, 4])\n";
  src << "    q = qkv[0] * " << literal(1.0 / std::sqrt(double(l.head_dim))) << "\n";
  src << "    k = qkv[1]\n";
  if (rotary) {
    emit_rotary(src, "q", l.head_dim);
    emit_rotary(src, "k", l.head_dim);
  }
  src << "    a = torch.matmul(q, k.transpose(-2, -1)).masked_fill(causal, float(\"-inf\"))\n";
  src << "    a = torch.matmul(torch.softmax(a, -1), qkv[2])\n";
  if (probe) src << "    stats.append(torch.mean(torch.sqrt(torch.sum(a * a, -1)), [0, 2]))\n";
  src << "    a = a.transpose(1, 2).reshape([x.size(0), seq, nh * " << d << "])\n";
  src << "    x = x + torch.linear(a, " << p << "_o_w, " << p << "_o_b)\n";
  if (probe) src << kChannelStat;
  src << "    h = self.norm(x, " << p << "_ln2_w, " << p << "_ln2_b)\n";
  src << "    h = torch.gelu(torch.linear(h, " << p << "_fc1_w, " << p << "_fc1_b))\n";
  if (probe) src << "    stats.append(torch.mean(torch.abs(h), [0, 1]))\n";
  src << "    x = x + torch.linear(h, " << p << "_fc2_w, " << p << "_fc2_b)\n";
  if (probe) {
    src << "    stats.append(torch.neg(torch.mean(torch.cosine_similarity(x_in, x, -1, "
           "1e-08))).add(1.0))\n";
  }
}

void emit(std::ostringstream& src, const ModelSpec& spec, const std::vector<LayerSpec>& layers,
          const std::string& parent, bool probe = false) {
  const bool rotary = spec.layers.front().positions == Positions::kRotary;
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
        emit(src, spec, l.body, name, probe);
        src << "    x = x + r_" << name << "\n";
        break;
      case LayerKind::kEmbedding:
        emit_embedding(src, spec, p);
        break;
      case LayerKind::kBlock:
        emit_block(src, l, p, rotary, probe);
        break;
      case LayerKind::kLayerNorm:
        if (probe) src << kChannelStat;
        if (is_language_model(spec)) {
          src << "    x = self.norm(x, " << p << "_w, " << p << "_b)\n";
        } else {
          src << "    x = torch.layer_norm(x, [x.size(-1)], " << p << "_w, " << p << "_b, 1e-05)\n";
        }
        break;
      case LayerKind::kLMHead:  // tied: the embedding is the first layer
        src << "    x = torch.linear(x, self.l0_w)\n";
        break;
    }
  }
}

// A language model's layer norms normalise over self.norm_width channels
// (model_spec.h set_norm_width). A width cut of embedding channels zeroes them in
// the residual stream and in every layer norm's weight and bias; the
// statistics then count only the channels kept, so the masked model computes
// what the compacted one (norm_width == its width: plain layer_norm) does.
// The cut channels of x are zero: each adds mean^2 to the centred sum of squares.
const char* const kMaskedNorm = R"(def norm(self, x, w, b):
    if self.norm_width == x.size(-1):
        return torch.layer_norm(x, [x.size(-1)], w, b, 1e-05)
    n = float(self.norm_width)
    mean = torch.sum(x, [-1], True) / n
    c = x - mean
    cut = float(x.size(-1) - self.norm_width)
    var = (torch.sum(c * c, [-1], True) - cut * mean * mean) / n
    return c * torch.rsqrt(var + 1e-05) * w + b
)";

}  // namespace

std::string model_source(const ModelSpec& spec) {
  std::ostringstream src;
  src << "def forward(self, x):\n";
  if (!spec.input_mean.empty() || !spec.input_std.empty()) {
    src << "    x = (x - " << normaliser(spec.input_mean, 0.0, spec.input_shape) << ") / "
        << normaliser(spec.input_std, 1.0, spec.input_shape) << "\n";
  }
  if (!spec.layers.empty()) emit(src, spec, spec.layers, "");
  src << "    return x\n";
  if (is_language_model(spec)) src << kMaskedNorm;
  return src.str();
}

std::string model_probe_source(const ModelSpec& spec) {
  std::ostringstream src;
  src << "def probe(self, x):\n";
  src << "    stats: List[Tensor] = []\n";
  emit(src, spec, spec.layers, "", /*probe=*/true);
  src << "    return stats\n";
  src << kMaskedNorm;
  return src.str();
}

}  // namespace condenser
