#include "trainers/pruning/structured.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "core/errors.h"

namespace condenser {
namespace {

using Ids = std::vector<int64_t>;

at::Tensor param(const torch::jit::Module& m, const std::string& prefix, const char* suffix) {
  return m.attr(prefix + suffix).toTensor().detach();
}

bool top_level(const std::string& prefix) { return prefix.find('_') == std::string::npos; }

const Ids* kept_of(const StructuredPlan& plan, const std::string& prefix) {
  if (top_level(prefix)) {
    auto it = plan.keep.find(std::stoul(prefix.substr(1)));
    return it == plan.keep.end() ? nullptr : &it->second;
  }
  auto it = plan.body_keep.find(prefix);
  return it == plan.body_keep.end() ? nullptr : &it->second;
}

at::Tensor as_index(const Ids& v) { return torch::tensor(v, torch::kInt64); }

Ids all_of(int64_t n) {
  Ids v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

bool weighted(LayerKind k) { return k == LayerKind::kConv || k == LayerKind::kLinear; }

// Collects the conv/linear layers whose outputs meet in a residual add.
// `producers`: the layers whose output channels the current tensor carries
// (through BatchNorm, activations, pooling, flatten); returns them at the end.
std::set<std::string> couple(const std::vector<LayerSpec>& layers, const std::string& parent,
                             std::set<std::string> producers, std::set<std::string>* coupled) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string p = layer_prefix(parent, i);
    if (weighted(layers[i].kind)) producers = {p};
    if (layers[i].kind != LayerKind::kResidual) continue;
    const std::set<std::string> body_out = couple(layers[i].body, p, producers, coupled);
    coupled->insert(producers.begin(), producers.end());
    coupled->insert(body_out.begin(), body_out.end());
    producers.insert(body_out.begin(), body_out.end());
  }
  return producers;
}

// Every prunable layer's prefix, in order.
void prunable(const std::vector<LayerSpec>& layers, const std::string& parent,
              const std::set<std::string>& skip, std::vector<std::string>* out) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string p = layer_prefix(parent, i);
    if (weighted(layers[i].kind) && !skip.count(p)) out->push_back(p);
    if (layers[i].kind == LayerKind::kResidual) prunable(layers[i].body, p, skip, out);
  }
}

Ids rank_channels(const at::Tensor& weight, double fraction, const std::string& norm) {
  const at::Tensor w = weight.flatten(1);
  const at::Tensor score = norm == "l1" ? w.abs().sum(1) : w.pow(2).sum(1).sqrt();
  const int64_t n = score.size(0);
  const auto keep_n = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil((1.0 - fraction) * double(n) - 1e-9)));
  // Stable descending sort: ties keep the lower index.
  const at::Tensor order = std::get<1>(score.sort(/*stable=*/true, 0, /*descending=*/true));
  Ids kept(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + keep_n);
  std::sort(kept.begin(), kept.end());
  return kept;
}

// One walk for masks and compaction: `kept` is the original ids of the
// channels (or features) the current tensor still carries after the cut.
struct Cut {
  const torch::jit::Module& module;
  const StructuredPlan& plan;
  PruneMasks masks;
  std::map<std::string, at::Tensor> values;  // compacted tensors by parameter / buffer name

  Ids walk(const std::vector<LayerSpec>& layers, std::vector<LayerSpec>& out_layers,
           const std::string& parent, std::vector<int64_t> shape, Ids kept) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerSpec& l = layers[i];
      const std::string p = layer_prefix(parent, i);
      const std::vector<int64_t> out_shape = layer_output_shape(l, shape, p);
      if (weighted(l.kind)) {
        kept = weights(p, kept, l.out);
        out_layers[i].out = static_cast<int64_t>(kept.size());
      } else if (l.kind == LayerKind::kBatchNorm) {
        batch_norm(p, kept, shape[0]);
      } else if (l.kind == LayerKind::kFlatten && shape.size() == 3) {
        // Channel c becomes features c*h*w .. c*h*w + h*w - 1.
        const int64_t area = shape[1] * shape[2];
        Ids features;
        for (int64_t c : kept) {
          for (int64_t j = 0; j < area; ++j) features.push_back(c * area + j);
        }
        kept = features;
      } else if (l.kind == LayerKind::kResidual) {
        if (walk(l.body, out_layers[i].body, p, shape, kept) != kept) {
          throw RuntimeFailure("structured pruning cut channels that residual " + p +
                               " adds; coupled channels must be kept");
        }
      }
      shape = out_shape;
    }
    return kept;
  }

  Ids weights(const std::string& p, const Ids& in_kept, int64_t outputs) {
    const at::Tensor w = param(module, p, "_w"), b = param(module, p, "_b");
    const Ids* planned = kept_of(plan, p);
    const Ids keep = planned ? *planned : all_of(outputs);
    values[p + "_w"] =
        w.index_select(0, as_index(keep)).index_select(1, as_index(in_kept)).contiguous();
    values[p + "_b"] = b.index_select(0, as_index(keep)).contiguous();
    if (planned) {
      const at::Tensor rows = indicator(keep, w.size(0), w.options());
      std::vector<int64_t> view(static_cast<size_t>(w.dim()), 1);
      view[0] = w.size(0);
      masks.set(p + "_w", rows.view(view).expand_as(w).clone());
      masks.set(p + "_b", rows);
    }
    return keep;
  }

  void batch_norm(const std::string& p, const Ids& kept, int64_t channels) {
    for (const char* s : {"_w", "_b", "_mean", "_var"}) {
      values[p + s] = param(module, p, s).index_select(0, as_index(kept)).contiguous();
    }
    if (static_cast<int64_t>(kept.size()) == channels) return;
    // A cut channel arrives as 0; a zero scale and shift keep it 0 after the norm.
    const at::Tensor rows = indicator(kept, channels, param(module, p, "_w").options());
    masks.set(p + "_w", rows);
    masks.set(p + "_b", rows.clone());
  }

  static at::Tensor indicator(const Ids& kept, int64_t n, const at::TensorOptions& options) {
    at::Tensor rows = torch::zeros({n}, options);
    rows.index_fill_(0, as_index(kept), 1.0);
    return rows;
  }
};

Cut run_cut(const torch::jit::Module& module, const ModelSpec& spec, const StructuredPlan& plan,
            ModelSpec* out_spec) {
  torch::NoGradGuard no_grad;
  Cut cut{module, plan, {}, {}};
  ModelSpec scratch = spec;
  ModelSpec& target = out_spec ? *out_spec : scratch;
  target = spec;
  cut.walk(spec.layers, target.layers, "", spec.input_shape, all_of(spec.input_shape.at(0)));
  return cut;
}

}  // namespace

void exclude_from_plan(StructuredPlan& plan, const std::string& weight_name) {
  const std::string prefix = weight_name.substr(0, weight_name.rfind('_'));
  if (prefix.size() < 2 || prefix[0] != 'l') return;
  if (top_level(prefix)) {
    plan.keep.erase(std::stoul(prefix.substr(1)));
  } else {
    plan.body_keep.erase(prefix);
  }
}

StructuredPlan plan_structured(const torch::jit::Module& module, const ModelSpec& spec,
                               double fraction, const std::string& norm) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    throw UsageError("structured pruning fraction must be in [0, 1), got " +
                     std::to_string(fraction));
  }
  if (norm != "l1" && norm != "l2") {
    throw UsageError("structured pruning norm '" + norm + "'; use l1 or l2");
  }
  std::set<std::string> skip;
  couple(spec.layers, "", {}, &skip);
  size_t last = spec.layers.size();  // the class layer: its outputs are the classes
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    if (spec.layers[i].kind == LayerKind::kLinear) last = i;
  }
  if (last < spec.layers.size()) skip.insert(layer_prefix("", last));
  std::vector<std::string> layers;
  prunable(spec.layers, "", skip, &layers);
  StructuredPlan plan;
  for (const std::string& p : layers) {
    Ids kept = rank_channels(param(module, p, "_w"), fraction, norm);
    if (top_level(p)) {
      plan.keep[std::stoul(p.substr(1))] = std::move(kept);
    } else {
      plan.body_keep[p] = std::move(kept);
    }
  }
  return plan;
}

PruneMasks structured_masks(const torch::jit::Module& module, const ModelSpec& spec,
                            const StructuredPlan& plan) {
  return run_cut(module, spec, plan, nullptr).masks;
}

CompactModel compact(const torch::jit::Module& module, const ModelSpec& spec,
                     const StructuredPlan& plan) {
  CompactModel out;
  const Cut cut = run_cut(module, spec, plan, &out.spec);
  out.module = build_model(out.spec, /*seed=*/0);
  torch::NoGradGuard no_grad;
  for (const auto& [n, v] : cut.values) out.module.attr(n).toTensor().copy_(v);
  out.module.train(module.is_training());
  return out;
}

}  // namespace condenser
