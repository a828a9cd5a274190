#include "trainers/pruning/structured.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/errors.h"

namespace condenser {
namespace {

std::string name(size_t layer, const char* suffix) {
  return "l" + std::to_string(layer) + suffix;
}

at::Tensor param(const torch::jit::Module& m, size_t layer, const char* suffix) {
  return m.attr(name(layer, suffix)).toTensor().detach();
}

size_t last_linear(const ModelSpec& spec) {
  size_t last = spec.layers.size();
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    if (spec.layers[i].kind == LayerKind::kLinear) last = i;
  }
  return last;
}

at::Tensor as_index(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kInt64);
}

std::vector<int64_t> all_of(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

StructuredPlan plan_structured(const torch::jit::Module& module, const ModelSpec& spec,
                               double fraction, const std::string& norm) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    throw UsageError("structured pruning fraction must be in [0, 1), got " +
                     std::to_string(fraction));
  }
  if (norm != "l1" && norm != "l2") {
    throw UsageError("structured pruning norm '" + norm + "'; use l1 or l2");
  }
  StructuredPlan plan;
  const size_t last = last_linear(spec);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerKind kind = spec.layers[i].kind;
    if ((kind != LayerKind::kConv && kind != LayerKind::kLinear) || i == last) continue;
    const at::Tensor w = param(module, i, "_w").flatten(1);
    const at::Tensor score = norm == "l1" ? w.abs().sum(1) : w.pow(2).sum(1).sqrt();
    const int64_t n = score.size(0);
    const auto keep_n = std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil((1.0 - fraction) * double(n) - 1e-9)));
    // Stable descending sort: ties keep the lower index.
    const at::Tensor order = std::get<1>(score.sort(/*stable=*/true, 0, /*descending=*/true));
    std::vector<int64_t> kept(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + keep_n);
    std::sort(kept.begin(), kept.end());
    plan.keep[i] = kept;
  }
  return plan;
}

PruneMasks structured_masks(const torch::jit::Module& module, const ModelSpec& spec,
                            const StructuredPlan& plan) {
  PruneMasks masks;
  for (const auto& [layer, kept] : plan.keep) {
    const at::Tensor w = param(module, layer, "_w");
    at::Tensor rows = torch::zeros({w.size(0)}, w.options());
    rows.index_fill_(0, as_index(kept), 1.0);
    std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
    shape[0] = w.size(0);
    masks.set(name(layer, "_w"), rows.view(shape).expand_as(w).clone());
    masks.set(name(layer, "_b"), rows.clone());
    if (layer + 1 < spec.layers.size() && spec.layers[layer + 1].kind == LayerKind::kBatchNorm) {
      masks.set(name(layer + 1, "_w"), rows.clone());
      masks.set(name(layer + 1, "_b"), rows.clone());
    }
  }
  return masks;
}

CompactModel compact(const torch::jit::Module& module, const ModelSpec& spec,
                     const StructuredPlan& plan) {
  torch::NoGradGuard no_grad;
  CompactModel out;
  out.spec = spec;
  std::map<std::string, at::Tensor> values;  // new tensors by parameter / buffer name
  int64_t height = spec.input_shape.at(1), width = spec.input_shape.at(2);
  // The original ids of the inputs the next conv/linear still receives.
  std::vector<int64_t> in_keep = all_of(spec.input_shape.at(0));
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    LayerSpec& layer = out.spec.layers[i];
    switch (layer.kind) {
      case LayerKind::kConv:
      case LayerKind::kLinear: {
        const at::Tensor w = param(module, i, "_w"), b = param(module, i, "_b");
        auto it = plan.keep.find(i);
        const std::vector<int64_t> keep = it != plan.keep.end() ? it->second : all_of(w.size(0));
        values[name(i, "_w")] =
            w.index_select(0, as_index(keep)).index_select(1, as_index(in_keep)).contiguous();
        values[name(i, "_b")] = b.index_select(0, as_index(keep)).contiguous();
        layer.out = static_cast<int64_t>(keep.size());
        if (layer.kind == LayerKind::kConv) {
          height = height + 2 * layer.padding - layer.kernel + 1;
          width = width + 2 * layer.padding - layer.kernel + 1;
        }
        // A BatchNorm after this layer keeps the same channels.
        for (size_t j = i + 1; j < spec.layers.size(); ++j) {
          const LayerKind k = spec.layers[j].kind;
          if (k == LayerKind::kBatchNorm) {
            for (const char* s : {"_w", "_b", "_mean", "_var"}) {
              values[name(j, s)] = param(module, j, s).index_select(0, as_index(keep)).contiguous();
            }
          }
          if (k == LayerKind::kConv || k == LayerKind::kLinear || k == LayerKind::kFlatten) break;
        }
        in_keep = keep;  // the next conv/linear receives only these (original ids)
        break;
      }
      case LayerKind::kMaxPool:
        height /= layer.kernel;
        width /= layer.kernel;
        break;
      case LayerKind::kFlatten: {
        // Channel c of the conv output becomes features c*h*w .. c*h*w + h*w - 1.
        std::vector<int64_t> features;
        for (int64_t c : in_keep) {
          for (int64_t j = 0; j < height * width; ++j) features.push_back(c * height * width + j);
        }
        in_keep = features;
        break;
      }
      case LayerKind::kBatchNorm:
      case LayerKind::kReLU:
      case LayerKind::kDropout:
        break;
    }
  }
  out.module = build_model(out.spec, /*seed=*/0);
  for (const auto& [n, v] : values) out.module.attr(n).toTensor().copy_(v);
  out.module.train(module.is_training());
  return out;
}

}  // namespace condenser
