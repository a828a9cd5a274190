#include "trainers/pruning/lm_prune.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "core/errors.h"
#include "trainers/token_metrics.h"

namespace condenser {
namespace {

// Statistics model_probe_source appends per block, and per other layer norm.
constexpr size_t kStatsPerBlock = 5;

const LayerSpec& block_at(const ModelSpec& spec, size_t layer) { return spec.layers.at(layer); }

int64_t embed_dim(const ModelSpec& spec) { return spec.layers.front().out; }

// Parameters one whole block holds.
int64_t block_params(const LayerSpec& b, int64_t d) {
  const int64_t hd = b.heads * b.head_dim;
  return 4 * d + 3 * hd * d + 3 * hd + d * hd + d + 2 * b.mlp * d + b.mlp + d;
}

// The `keep` highest of `scores` (ties: the lower index), ascending.
std::vector<int64_t> top(const at::Tensor& scores, int64_t keep) {
  const at::Tensor s = scores.to(torch::kFloat64).contiguous();
  std::vector<int64_t> order(static_cast<size_t>(s.numel()));
  std::iota(order.begin(), order.end(), 0);
  const double* v = s.data_ptr<double>();
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  order.resize(size_t(std::max<int64_t>(1, keep)));
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<int64_t> all(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

LmPlan full_plan(const ModelSpec& spec) {
  LmPlan plan;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    if (l.kind != LayerKind::kBlock) continue;
    plan.blocks.push_back(i);
    plan.keep_heads.push_back(all(l.heads));
    plan.keep_neurons.push_back(all(l.mlp));
    plan.keep_block.push_back(true);
  }
  plan.keep_channels = all(embed_dim(spec));
  return plan;
}

// How many of `n` units a cut of `fraction` removes (one always stays).
int64_t units_cut(int64_t n, double fraction) {
  return std::min(n - 1, int64_t(fraction * double(n)));
}

// The fraction of each axis a width plan cuts.
struct AxisCut {
  double heads = 0, mlp = 0, embedding = 0;
};

// Parameters removed by a width cut: those of the spec narrowed by `cut`.
int64_t width_removed(const ModelSpec& spec, const AxisCut& cut) {
  ModelSpec narrow = spec;
  for (LayerSpec& l : narrow.layers) {
    if (l.kind != LayerKind::kBlock) continue;
    l.heads -= units_cut(l.heads, cut.heads);
    l.mlp -= units_cut(l.mlp, cut.mlp);
  }
  narrow.layers.front().out -= units_cut(embed_dim(spec), cut.embedding);
  return parameter_count(spec) - parameter_count(narrow);
}

// The fixed axes of `axes` at their fraction, the auto ones at `f`.
AxisCut axis_cut(const WidthTargets& axes, double f) {
  return {axes.heads.value_or(f), axes.mlp.value_or(f), axes.embedding.value_or(f)};
}

// The smallest fraction in [0, hi] for which removed(fraction) >= target
// (removed grows with the fraction); hi when none reaches it.
template <typename Removed>
double smallest_fraction(double target, double hi, Removed removed) {
  if (double(removed(0.0)) >= target) return 0.0;
  double lo = 0.0;
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (double(removed(mid)) >= target ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace

void check_lm_prunable(const ModelSpec& spec) {
  if (!is_language_model(spec)) {
    throw UsageError(
        "prune.method width and depth cut transformer heads, MLP neurons and "
        "blocks: the student '" +
        spec.name +
        "' is not a language model; use "
        "prune.method: structured for its channels");
  }
  for (const LayerSpec& l : spec.layers) {
    if (l.kind == LayerKind::kResidual) {
      throw UsageError("prune.method width/depth: the student '" + spec.name +
                       "' has a "
                       "residual layer; only top-level blocks can be cut");
    }
  }
}

nlohmann::json LmImportance::to_json() const {
  auto list = [](const at::Tensor& t) {
    const at::Tensor d = t.to(torch::kFloat64).contiguous();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  };
  nlohmann::json out = {
      {"calibration_windows", windows},
      {"heads_method", "mean L2 norm of each head's attention output"},
      {"neurons_method", "mean |GELU activation| of each MLP neuron"},
      {"channels_method", "mean |x| per channel entering the layer norms"},
      {"blocks_method", block_perplexity.empty() ? "1 - cosine(block input, block output)"
                                                 : "calibration perplexity with the block skipped"},
      {"channels", list(channels)}};
  if (!block_perplexity.empty()) out["calibration_perplexity"] = perplexity;
  for (size_t i = 0; i < blocks.size(); ++i) {
    nlohmann::json block = {{"layer", blocks[i]},
                            {"distance", block_distance[i]},
                            {"heads", list(heads[i])},
                            {"neurons", list(neurons[i])}};
    if (!block_perplexity.empty()) block["skipped_perplexity"] = block_perplexity[i];
    out["blocks"].push_back(block);
  }
  return out;
}

void add_skip_perplexity(torch::jit::Module& model, const LabelledSet& windows,
                         LmImportance* importance) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto perplexity = [&] { return score_tokens(model, windows, 8).perplexity(); };
  importance->perplexity = perplexity();
  importance->block_perplexity.clear();
  for (size_t layer : importance->blocks) {
    // Zero weights make the block the identity (x + 0 + 0).
    const std::string prefix = layer_prefix("", layer) + "_";
    std::vector<std::pair<at::Tensor, at::Tensor>> saved;
    bool dropped = true;
    for (const auto& p : model.named_parameters()) {
      if (p.name.rfind(prefix, 0) != 0) continue;
      dropped = dropped && p.value.count_nonzero().item<int64_t>() == 0;
      saved.emplace_back(p.value, p.value.clone());
      p.value.zero_();
    }
    // A block an earlier cut dropped scores 0 (below any perplexity): it stays dropped.
    importance->block_perplexity.push_back(dropped ? 0.0 : perplexity());
    for (auto& [param, copy] : saved) param.copy_(copy);
  }
  model.train(was_training);
}

LmImportance lm_importance(const torch::jit::Module& model, const ModelSpec& spec,
                           const at::Tensor& ids) {
  check_lm_prunable(spec);
  torch::NoGradGuard no_grad;
  torch::jit::Module probe(spec.name.empty() ? "probe" : spec.name + "_probe");
  probe.register_attribute("training", c10::BoolType::get(), false);
  add_norm_width(probe, norm_width(model));
  for (const auto& p : model.named_parameters()) probe.register_parameter(p.name, p.value, false);
  probe.define(model_probe_source(spec));
  const at::Device device = (*model.parameters().begin()).device();
  std::vector<at::Tensor> sums;
  const int64_t n = ids.size(0), chunk = 8;
  for (int64_t start = 0; start < n; start += chunk) {
    const at::Tensor part = ids.narrow(0, start, std::min(chunk, n - start));
    const auto stats = probe.run_method("probe", part.to(device)).toTensorList();
    for (size_t i = 0; i < stats.size(); ++i) {
      const at::Tensor s =
          at::Tensor(stats[i]).to(torch::kCPU, torch::kFloat64) * double(part.size(0));
      if (sums.size() <= i)
        sums.push_back(s);
      else
        sums[i] += s;
    }
  }
  LmImportance out;
  out.windows = n;
  out.channels = torch::zeros({embed_dim(spec)}, torch::kFloat64);
  size_t at = 0;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerKind kind = spec.layers[i].kind;
    if (kind == LayerKind::kLayerNorm) out.channels += sums.at(at++) / double(n);
    if (kind != LayerKind::kBlock) continue;
    out.blocks.push_back(i);
    out.channels += (sums.at(at) + sums.at(at + 2)) / double(n);
    out.heads.push_back(sums.at(at + 1) / double(n));
    out.neurons.push_back(sums.at(at + 3) / double(n));
    out.block_distance.push_back(sums.at(at + 4).item<double>() / double(n));
    at += kStatsPerBlock;
  }
  return out;
}

double lm_max_sparsity(const ModelSpec& spec, const std::string& method, const WidthTargets& axes) {
  const double total = double(parameter_count(spec));
  if (method == "width") return double(width_removed(spec, axis_cut(axes, 1.0))) / total;
  int64_t blocks = 0, smallest = 0, sum = 0;
  for (const LayerSpec& l : spec.layers) {
    if (l.kind != LayerKind::kBlock) continue;
    const int64_t p = block_params(l, embed_dim(spec));
    smallest = blocks++ == 0 ? p : std::min(smallest, p);
    sum += p;
  }
  return blocks == 0 ? 0.0 : double(sum - smallest) / total;
}

LmPlan plan_lm_width(const ModelSpec& spec, const LmImportance& importance, double sparsity,
                     const WidthTargets& axes) {
  const double target = sparsity * double(parameter_count(spec));
  const double f = smallest_fraction(
      target, 1.0, [&](double x) { return width_removed(spec, axis_cut(axes, x)); });
  AxisCut cut = axis_cut(axes, f);
  if (!axes.heads && !axes.mlp) {
    cut.mlp = smallest_fraction(target, f, [&](double x) {
      AxisCut c = cut;
      c.mlp = x;
      return width_removed(spec, c);
    });
  }
  LmPlan plan = full_plan(spec);
  for (size_t b = 0; b < plan.blocks.size(); ++b) {
    const LayerSpec& l = block_at(spec, plan.blocks[b]);
    plan.keep_heads[b] = top(importance.heads.at(b), l.heads - units_cut(l.heads, cut.heads));
    plan.keep_neurons[b] = top(importance.neurons.at(b), l.mlp - units_cut(l.mlp, cut.mlp));
  }
  const int64_t d = embed_dim(spec);
  plan.keep_channels = top(importance.channels, d - units_cut(d, cut.embedding));
  return plan;
}

LmPlan plan_lm_depth(const ModelSpec& spec, const LmImportance& importance, double sparsity) {
  LmPlan plan = full_plan(spec);
  std::vector<size_t> order(plan.blocks.size());
  std::iota(order.begin(), order.end(), 0);
  // Least missed first; ties: the later block.
  const std::vector<double>& score = importance.block_score();
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double da = score.at(a), db = score.at(b);
    return da < db || (da == db && a > b);
  });
  const double target = sparsity * double(parameter_count(spec));
  double removed = 0.0;
  for (size_t i = 0; i + 1 < order.size() && removed < target; ++i) {
    plan.keep_block[order[i]] = false;
    removed += double(block_params(block_at(spec, plan.blocks[order[i]]), embed_dim(spec)));
  }
  return plan;
}

}  // namespace condenser
