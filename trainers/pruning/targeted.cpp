#include "trainers/pruning/targeted.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "core/errors.h"
#include "trainers/pruning/magnitude.h"

namespace condenser {
namespace {

struct Weight {
  std::string name;
  at::Tensor value;
  at::Tensor score;  // |w|, with -1 where `previous` pruned
  int64_t already = 0;
};

std::string listing(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Resolves "first" / "last" and checks every name against the module.
std::set<std::string> resolve(const std::vector<std::string>& asked,
                              const std::vector<std::string>& prunable, const std::string& key) {
  std::set<std::string> out;
  for (const std::string& name : asked) {
    if (name == "first" && !prunable.empty()) {
      out.insert(prunable.front());
    } else if (name == "last" && !prunable.empty()) {
      out.insert(prunable.back());
    } else if (std::find(prunable.begin(), prunable.end(), name) != prunable.end()) {
      out.insert(name);
    } else {
      throw UsageError(key + ": '" + name + "' is not a prunable weight of this model; they are " +
                       listing(prunable) + " (or first / last)");
    }
  }
  return out;
}

int64_t prune_count(double fraction, int64_t numel) {
  return static_cast<int64_t>(std::floor(fraction * double(numel)));
}

}  // namespace

std::vector<std::string> prunable_names(const torch::jit::Module& module) {
  std::vector<std::string> names;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (is_prunable(p.name, p.value)) names.push_back(p.name);
  }
  return names;
}

std::vector<std::string> resolve_weight_names(const torch::jit::Module& module,
                                              const std::vector<std::string>& names,
                                              const std::string& key) {
  const std::set<std::string> set = resolve(names, prunable_names(module), key);
  return {set.begin(), set.end()};
}

namespace {

// layer_magnitude: the same fraction of each pooled weight, `remaining`
// zeros in all; the rounding remainder goes to the largest weights first, so
// the total is exact. Adds each weight's mask to `masks`.
void cut_each_weight_alike(const std::vector<Weight>& pool, int64_t remaining, PruneMasks& masks) {
  int64_t pool_numel = 0;
  for (const Weight& w : pool) pool_numel += w.value.numel();
  const double fraction = double(remaining) / double(pool_numel);
  std::vector<int64_t> counts;
  int64_t assigned = 0;
  for (const Weight& w : pool) {
    counts.push_back(std::max(w.already, prune_count(fraction, w.value.numel())));
    assigned += counts.back();
  }
  std::vector<size_t> order(pool.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return pool[a].value.numel() > pool[b].value.numel();
  });
  for (size_t i = 0; assigned < remaining; i = (i + 1) % order.size()) {
    const Weight& w = pool[order[i]];
    if (counts[order[i]] < w.value.numel()) ++counts[order[i]], ++assigned;
  }
  for (size_t i = 0; i < pool.size(); ++i) {
    const Weight& w = pool[i];
    masks.set(w.name,
              lowest_score_masks({w.name}, {w.value}, {w.score}, counts[i]).masks().at(w.name));
  }
}

}  // namespace

PruneMasks targeted_magnitude_masks(const torch::jit::Module& module, double sparsity,
                                    const PruneTargets& targets, double scale,
                                    const PruneMasks& previous) {
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    throw UsageError("prune sparsity must be in [0, 1), got " + std::to_string(sparsity));
  }
  torch::NoGradGuard no_grad;
  const std::vector<std::string> names = prunable_names(module);
  if (names.empty()) throw UsageError("model has no prunable (conv or linear) weights");
  const std::set<std::string> excluded = resolve(targets.exclude, names, "prune.exclude");
  std::vector<std::string> own_names;
  for (const auto& entry : targets.layer_sparsity) own_names.push_back(entry.first);
  resolve(own_names, names, "prune.layer_sparsity");

  std::vector<Weight> pool, own;
  int64_t total = 0;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (!is_prunable(p.name, p.value)) continue;
    total += p.value.numel();
    if (excluded.count(p.name)) continue;
    Weight w{p.name, p.value, p.value.detach().abs().flatten()};
    const auto it = previous.masks().find(p.name);
    if (it != previous.masks().end()) {
      if (!it->second.sizes().equals(p.value.sizes())) {
        throw UsageError("previous pruning mask for '" + p.name + "' has the wrong shape");
      }
      // Magnitudes are >= 0, so -1 ranks previously pruned weights first.
      const at::Tensor gone = it->second.to(w.score.device()).flatten().eq(0);
      w.score = torch::where(gone, torch::full_like(w.score, -1.0), w.score);
      w.already = gone.sum().item<int64_t>();
    }
    (targets.layer_sparsity.count(p.name) ? own : pool).push_back(std::move(w));
  }

  PruneMasks masks;
  int64_t remaining = prune_count(sparsity, total);
  for (const Weight& w : own) {
    const double t = targets.layer_sparsity.at(w.name) * scale;
    const int64_t k = std::max(w.already, prune_count(t, w.value.numel()));
    masks.set(w.name, lowest_score_masks({w.name}, {w.value}, {w.score}, k).masks().at(w.name));
    remaining -= k;
  }
  int64_t pool_numel = 0, pool_already = 0;
  for (const Weight& w : pool) pool_numel += w.value.numel(), pool_already += w.already;
  remaining = std::max(remaining, pool_already);
  if (remaining > pool_numel || (remaining > 0 && pool.empty())) {
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * sparsity);
    throw UsageError("prune: " + std::string(pct) + " sparsity needs " + std::to_string(remaining) +
                     " more zeros than the " + std::to_string(pool_numel) +
                     " weights left after prune.exclude and "
                     "prune.layer_sparsity can give; exclude fewer weights or lower the target");
  }
  if (pool.empty()) return masks;
  if (!targets.per_layer) {
    std::vector<std::string> pn;
    std::vector<at::Tensor> pv, ps;
    for (const Weight& w : pool) pn.push_back(w.name), pv.push_back(w.value), ps.push_back(w.score);
    const PruneMasks cut =
        lowest_score_masks(pn, pv, ps, remaining);  // named: masks() is a reference into it
    for (const auto& m : cut.masks()) masks.set(m.first, m.second);
    return masks;
  }
  cut_each_weight_alike(pool, remaining, masks);
  return masks;
}

}  // namespace condenser
