#include "trainers/pruning/lm_prune.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "core/errors.h"

namespace condenser {
namespace {

// Statistics model_probe_source appends per block, and per other layer norm.
constexpr size_t kStatsPerBlock = 5;

const LayerSpec& block_at(const ModelSpec& spec, size_t layer) { return spec.layers.at(layer); }

int64_t embed_dim(const ModelSpec& spec) { return spec.layers.front().out; }

// Parameters one head, one neuron and one whole block hold.
int64_t head_params(const LayerSpec& b, int64_t d) { return 4 * b.head_dim * d + 3 * b.head_dim; }
int64_t neuron_params(int64_t d) { return 2 * d + 1; }
int64_t block_params(const LayerSpec& b, int64_t d) {
  return 4 * d + b.heads * head_params(b, d) + d + b.mlp * neuron_params(d) + d;
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
  return plan;
}

// How many of `n` units a cut of `fraction` removes (one always stays).
int64_t units_cut(int64_t n, double fraction) {
  return std::min(n - 1, int64_t(fraction * double(n)));
}

// Parameters removed by cutting `heads` of every block's heads and
// `neurons` of its MLP neurons (fractions).
int64_t width_removed(const ModelSpec& spec, double heads, double neurons) {
  int64_t removed = 0;
  for (const LayerSpec& l : spec.layers) {
    if (l.kind != LayerKind::kBlock) continue;
    removed += units_cut(l.heads, heads) * head_params(l, embed_dim(spec)) +
               units_cut(l.mlp, neurons) * neuron_params(embed_dim(spec));
  }
  return removed;
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
  nlohmann::json out = {{"calibration_windows", windows},
                        {"heads_method", "mean L2 norm of each head's attention output"},
                        {"neurons_method", "mean |GELU activation| of each MLP neuron"},
                        {"channels_method", "mean |x| per channel entering the layer norms"},
                        {"blocks_method", "1 - cosine(block input, block output)"},
                        {"channels", list(channels)}};
  for (size_t i = 0; i < blocks.size(); ++i) {
    out["blocks"].push_back({{"layer", blocks[i]},
                             {"distance", block_distance[i]},
                             {"heads", list(heads[i])},
                             {"neurons", list(neurons[i])}});
  }
  return out;
}

LmImportance lm_importance(const torch::jit::Module& model, const ModelSpec& spec,
                           const at::Tensor& ids) {
  check_lm_prunable(spec);
  torch::NoGradGuard no_grad;
  torch::jit::Module probe(spec.name.empty() ? "probe" : spec.name + "_probe");
  probe.register_attribute("training", c10::BoolType::get(), false);
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

double lm_max_sparsity(const ModelSpec& spec, const std::string& method) {
  const double total = double(parameter_count(spec));
  if (method == "width") return double(width_removed(spec, 1.0, 1.0)) / total;
  int64_t blocks = 0, smallest = 0, sum = 0;
  for (const LayerSpec& l : spec.layers) {
    if (l.kind != LayerKind::kBlock) continue;
    const int64_t p = block_params(l, embed_dim(spec));
    smallest = blocks++ == 0 ? p : std::min(smallest, p);
    sum += p;
  }
  return blocks == 0 ? 0.0 : double(sum - smallest) / total;
}

LmPlan plan_lm_width(const ModelSpec& spec, const LmImportance& importance, double sparsity) {
  const double target = sparsity * double(parameter_count(spec));
  // One fraction for both axes, then as few neurons as still reach the target
  // (a head is a coarse step: one of two heads is half the attention).
  const double heads =
      smallest_fraction(target, 1.0, [&](double f) { return width_removed(spec, f, f); });
  const double neurons =
      smallest_fraction(target, heads, [&](double f) { return width_removed(spec, heads, f); });
  LmPlan plan = full_plan(spec);
  for (size_t b = 0; b < plan.blocks.size(); ++b) {
    const LayerSpec& l = block_at(spec, plan.blocks[b]);
    plan.keep_heads[b] = top(importance.heads.at(b), l.heads - units_cut(l.heads, heads));
    plan.keep_neurons[b] = top(importance.neurons.at(b), l.mlp - units_cut(l.mlp, neurons));
  }
  return plan;
}

LmPlan plan_lm_depth(const ModelSpec& spec, const LmImportance& importance, double sparsity) {
  LmPlan plan = full_plan(spec);
  std::vector<size_t> order(plan.blocks.size());
  std::iota(order.begin(), order.end(), 0);
  // Closest to the identity first; ties: the later block.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double da = importance.block_distance.at(a), db = importance.block_distance.at(b);
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
