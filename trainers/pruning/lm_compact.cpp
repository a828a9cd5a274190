// lm_prune.h: a width or depth cut as masks, read back from masks, and
// compacted into the smaller declared model.
#include <torch/torch.h>

#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/errors.h"
#include "trainers/pruning/lm_prune.h"

namespace condenser {
namespace {

const char* const kBlockParams[] = {"ln1_w", "ln1_b", "qkv_w", "qkv_b", "o_w",   "o_b",
                                    "ln2_w", "ln2_b", "fc1_w", "fc1_b", "fc2_w", "fc2_b"};

at::Tensor param(const torch::jit::Module& m, const std::string& name) {
  return m.attr(name).toTensor();
}

// Rows of qkv (q, k and v parts) that belong to heads `heads`.
at::Tensor qkv_rows(const LayerSpec& l, const std::vector<int64_t>& heads) {
  std::vector<int64_t> rows;
  for (int64_t part = 0; part < 3; ++part) {
    for (int64_t h : heads) {
      for (int64_t j = 0; j < l.head_dim; ++j)
        rows.push_back((part * l.heads + h) * l.head_dim + j);
    }
  }
  return torch::tensor(rows, torch::kInt64);
}

// Columns of o that belong to heads `heads`.
at::Tensor o_cols(const LayerSpec& l, const std::vector<int64_t>& heads) {
  std::vector<int64_t> cols;
  for (int64_t h : heads) {
    for (int64_t j = 0; j < l.head_dim; ++j) cols.push_back(h * l.head_dim + j);
  }
  return torch::tensor(cols, torch::kInt64);
}

at::Tensor ids(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); }

// A mask of `like`'s shape that keeps only `kept` along `dim`.
at::Tensor keep_along(const at::Tensor& like, int64_t dim, const at::Tensor& kept) {
  at::Tensor mask = torch::zeros(like.sizes(), like.options().requires_grad(false));
  mask.index_fill_(dim, kept.to(like.device()), 1.0);
  return mask;
}

std::vector<int64_t> every(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

// The dimension of a layer's parameter `field` that runs over the embedding
// channels D, or -1 (every [.., D] tensor of model_spec.h's table).
int64_t channel_dim(LayerKind kind, const std::string& field) {
  static const std::map<std::string, int64_t> kBlockDims = {
      {"ln1_w", 0}, {"ln1_b", 0}, {"qkv_w", 1}, {"o_w", 0},   {"o_b", 0},
      {"ln2_w", 0}, {"ln2_b", 0}, {"fc1_w", 1}, {"fc2_w", 0}, {"fc2_b", 0}};
  if (kind == LayerKind::kEmbedding) return 1;  // w [V, D], pos [T, D]
  if (kind == LayerKind::kLayerNorm) return 0;
  if (kind != LayerKind::kBlock) return -1;
  const auto it = kBlockDims.find(field);
  return it == kBlockDims.end() ? -1 : it->second;
}

bool cuts_channels(const ModelSpec& spec, const LmPlan& plan) {
  return !plan.keep_channels.empty() &&
         int64_t(plan.keep_channels.size()) < spec.layers.front().out;
}

// Multiplies the mask of `name` (all ones when it has none) by one that keeps
// only `kept` along `dim`.
void restrict_mask(PruneMasks& masks, const torch::jit::Module& model, const std::string& name,
                   int64_t dim, const at::Tensor& kept) {
  at::Tensor mask = keep_along(param(model, name), dim, kept);
  const auto it = masks.masks().find(name);
  if (it != masks.masks().end()) mask.mul_(it->second);
  masks.set(name, mask);
}

// The groups of `group` consecutive columns of mask `name` that keep
// anything: the heads (o_w) or neurons (fc2_w) a cut left; all `n` when the
// layer has no mask.
std::vector<int64_t> kept_groups(const std::map<std::string, at::Tensor>& masks,
                                 const std::string& name, int64_t n, int64_t group) {
  const auto it = masks.find(name);
  if (it == masks.end()) return every(n);
  const at::Tensor kept =
      it->second.abs().sum(0).view({n, group}).sum(1).gt(0).nonzero().view(-1).cpu();
  return std::vector<int64_t>(kept.data_ptr<int64_t>(), kept.data_ptr<int64_t>() + kept.numel());
}

}  // namespace

void check_lm_channel_cut(const ModelSpec& spec) {
  for (const LayerSpec& l : spec.layers) {
    const LayerKind k = l.kind;
    if (k == LayerKind::kEmbedding || k == LayerKind::kBlock || k == LayerKind::kLayerNorm ||
        k == LayerKind::kLMHead || k == LayerKind::kDropout) {
      continue;
    }
    throw UsageError("prune.width_targets embedding: the student '" + spec.name + "' has a " +
                     layer_kind_name(k) +
                     " layer; embedding channels can be cut only in a stack of blocks and "
                     "layer norms ending in lm_head. Set embedding: 0");
  }
}

PruneMasks lm_masks(const torch::jit::Module& model, const ModelSpec& spec, const LmPlan& plan) {
  PruneMasks masks;
  for (size_t b = 0; b < plan.blocks.size(); ++b) {
    const LayerSpec& l = spec.layers.at(plan.blocks[b]);
    const std::string p = layer_prefix("", plan.blocks[b]) + "_";
    if (!plan.keep_block[b]) {
      for (const char* n : kBlockParams) {
        masks.set(p + n, torch::zeros_like(param(model, p + n)).set_requires_grad(false));
      }
      continue;
    }
    if (int64_t(plan.keep_heads[b].size()) < l.heads) {
      const at::Tensor rows = qkv_rows(l, plan.keep_heads[b]);
      restrict_mask(masks, model, p + "qkv_w", 0, rows);
      restrict_mask(masks, model, p + "qkv_b", 0, rows);
      restrict_mask(masks, model, p + "o_w", 1, o_cols(l, plan.keep_heads[b]));
    }
    if (int64_t(plan.keep_neurons[b].size()) < l.mlp) {
      const at::Tensor kept = ids(plan.keep_neurons[b]);
      restrict_mask(masks, model, p + "fc1_w", 0, kept);
      restrict_mask(masks, model, p + "fc1_b", 0, kept);
      restrict_mask(masks, model, p + "fc2_w", 1, kept);
    }
  }
  if (!cuts_channels(spec, plan)) return masks;
  check_lm_channel_cut(spec);
  const at::Tensor kept = ids(plan.keep_channels);
  for (const auto& p : model.named_parameters()) {
    const std::string layer = p.name.substr(0, p.name.find('_'));
    const LayerKind kind = spec.layers.at(std::stoul(layer.substr(1))).kind;
    const int64_t dim = channel_dim(kind, p.name.substr(layer.size() + 1));
    if (dim >= 0) restrict_mask(masks, model, p.name, dim, kept);
  }
  return masks;
}

int64_t lm_norm_width(const ModelSpec& spec, const LmPlan& plan) {
  return cuts_channels(spec, plan) ? int64_t(plan.keep_channels.size()) : spec.layers.front().out;
}

LmPlan lm_plan_from_masks(const ModelSpec& spec, const PruneMasks& masks) {
  LmPlan plan;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    if (l.kind != LayerKind::kBlock) continue;
    const std::string p = layer_prefix("", i) + "_";
    const std::vector<int64_t> heads = kept_groups(masks.masks(), p + "o_w", l.heads, l.head_dim);
    const std::vector<int64_t> neurons = kept_groups(masks.masks(), p + "fc2_w", l.mlp, 1);
    // Width keeps one head and one neuron at least: nothing left is a dropped block.
    const bool dropped = heads.empty() && neurons.empty();
    plan.blocks.push_back(i);
    plan.keep_block.push_back(!dropped);
    plan.keep_heads.push_back(dropped ? every(l.heads) : heads);
    plan.keep_neurons.push_back(dropped ? every(l.mlp) : neurons);
  }
  plan.keep_channels = kept_groups(masks.masks(), "l0_w", spec.layers.front().out, 1);
  return plan;
}

CompactModel compact_lm(const torch::jit::Module& model, const ModelSpec& spec,
                        const LmPlan& plan) {
  torch::NoGradGuard no_grad;
  CompactModel out{spec, torch::jit::Module(spec.name.empty() ? "model" : spec.name)};
  out.spec.layers.clear();
  std::map<std::string, std::string> renamed;  // old layer prefix -> new
  std::map<size_t, size_t> block_of;           // layer index -> plan position
  for (size_t b = 0; b < plan.blocks.size(); ++b) block_of[plan.blocks[b]] = b;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const auto b = block_of.find(i);
    if (b != block_of.end() && !plan.keep_block[b->second]) continue;
    LayerSpec l = spec.layers[i];
    if (b != block_of.end()) {
      l.heads = int64_t(plan.keep_heads[b->second].size());
      l.mlp = int64_t(plan.keep_neurons[b->second].size());
    }
    if (l.kind == LayerKind::kEmbedding) l.out = lm_norm_width(spec, plan);
    renamed[layer_prefix("", i)] = layer_prefix("", out.spec.layers.size());
    out.spec.layers.push_back(l);
  }
  out.module.register_attribute("training", c10::BoolType::get(), model.is_training());
  for (const auto& p : model.named_parameters()) {
    const std::string layer = p.name.substr(0, p.name.find('_'));
    const auto to = renamed.find(layer);
    if (to == renamed.end()) continue;  // a dropped block
    const std::string field = p.name.substr(layer.size() + 1);
    at::Tensor t = p.value.detach();
    const size_t index = std::stoul(layer.substr(1));
    const int64_t channels = channel_dim(spec.layers[index].kind, field);
    if (channels >= 0 && cuts_channels(spec, plan))
      t = t.index_select(channels, ids(plan.keep_channels).to(t.device()));
    const auto b = block_of.find(index);
    if (b != block_of.end()) {
      const LayerSpec& l = spec.layers[b->first];
      const auto& heads = plan.keep_heads[b->second];
      const auto& neurons = plan.keep_neurons[b->second];
      if (field == "qkv_w" || field == "qkv_b")
        t = t.index_select(0, qkv_rows(l, heads).to(t.device()));
      if (field == "o_w") t = t.index_select(1, o_cols(l, heads).to(t.device()));
      if (field == "fc1_w" || field == "fc1_b") t = t.index_select(0, ids(neurons).to(t.device()));
      if (field == "fc2_w") t = t.index_select(1, ids(neurons).to(t.device()));
    }
    out.module.register_parameter(to->second + "_" + field,
                                  t.contiguous().clone().set_requires_grad(true), false);
  }
  add_norm_width(out.module, out.spec.layers.front().out);
  out.module.define(model_source(out.spec));
  return out;
}

}  // namespace condenser
