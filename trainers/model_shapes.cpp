// The shape side of model_spec.h: what each layer does to a per-sample shape,
// check_spec and parameter_count.
#include <algorithm>
#include <functional>
#include <numeric>
#include <sstream>

#include "core/errors.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

std::string describe(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  if (shape.size() == 1) {
    out << "a flat input of " << shape[0] << " features";
  } else if (shape.size() == 2) {
    out << "a sequence of " << shape[0] << " positions x " << shape[1] << " features";
  } else {
    out << "a " << shape[0] << "x" << shape[1] << "x" << shape[2] << " image (CxHxW)";
  }
  return out.str();
}

bool is_image(const std::vector<int64_t>& s) { return s.size() == 3; }
bool is_sequence(const std::vector<int64_t>& s) { return s.size() == 2; }

std::string item_key(const std::string& key, size_t i, const LayerSpec& l) {
  return key + "[" + std::to_string(l.item >= 0 ? size_t(l.item) : i) + "]";
}

[[noreturn]] void misfit(const std::string& where, const std::string& what) {
  throw UsageError(where + ": " + what);
}

void need_image(const LayerSpec& l, const std::vector<int64_t>& in, const std::string& where) {
  if (is_image(in)) return;
  misfit(where, layer_kind_name(l.kind) + " needs an image input [C,H,W] but gets " +
                    describe(in) +
                    "; image layers come before flatten / global_avg_pool, and tabular data "
                    "takes linear layers only");
}

void need_sequence(const LayerSpec& l, const std::vector<int64_t>& in, const std::string& where) {
  if (is_sequence(in)) return;
  misfit(where, layer_kind_name(l.kind) + " needs a token sequence [T, D] but gets " +
                    describe(in) +
                    "; language-model layers follow {embedding: D, positions: rotary}, the "
                    "first layer");
}

void refuse_sequence(const LayerSpec& l, const std::vector<int64_t>& in, const std::string& where) {
  if (!is_sequence(in)) return;
  misfit(where, layer_kind_name(l.kind) + " does not take " + describe(in) +
                    "; a sequence takes block, layer_norm, linear, lm_head, activations and "
                    "dropout");
}

void check_block(const LayerSpec& l, const std::vector<int64_t>& in, const std::string& where) {
  need_sequence(l, in, where);
  if (l.heads < 1 || l.mlp < 1 || l.head_dim < 1) {
    misfit(where, "block needs heads, mlp and head_dim >= 1 (got " + std::to_string(l.heads) +
                      ", " + std::to_string(l.mlp) + ", " + std::to_string(l.head_dim) +
                      "); e.g. {block: 4, mlp: 1024, head_dim: 64}");
  }
}

std::vector<int64_t> lm_shape(const LayerSpec& l, const std::vector<int64_t>& in,
                              const std::string& where, int64_t vocab) {
  switch (l.kind) {
    case LayerKind::kEmbedding:
      if (in.size() != 1) {
        misfit(where, "embedding takes token ids [T] and must be the first layer; it gets " +
                          describe(in));
      }
      return {in[0], l.out};
    case LayerKind::kBlock:
      check_block(l, in, where);
      return in;
    case LayerKind::kLayerNorm:
      if (is_image(in)) {
        misfit(where, "layer_norm needs [F] or a sequence [T, D], not " + describe(in));
      }
      return in;
    default:  // kLMHead
      need_sequence(l, in, where);
      return {in[0], vocab};
  }
}

std::vector<int64_t> pooled(const LayerSpec& l, const std::vector<int64_t>& in,
                            const std::string& where) {
  need_image(l, in, where);
  const int64_t h = in[1] / l.kernel, w = in[2] / l.kernel;
  if (h == 0 || w == 0) {
    misfit(where, layer_kind_name(l.kind) + " " + std::to_string(l.kernel) + " shrinks " +
                      describe(in) + " to " + std::to_string(h) + "x" + std::to_string(w) +
                      "; remove a pooling layer or use a smaller window");
  }
  return {in[0], h, w};
}

std::vector<int64_t> convolved(const LayerSpec& l, const std::vector<int64_t>& in,
                               const std::string& where) {
  need_image(l, in, where);
  const int64_t h = in[1] + 2 * l.padding - l.kernel, w = in[2] + 2 * l.padding - l.kernel;
  if (h < 0 || w < 0) {
    misfit(where, "conv kernel " + std::to_string(l.kernel) + " (padding " +
                      std::to_string(l.padding) + ") is larger than " + describe(in));
  }
  return {l.out, h / l.stride + 1, w / l.stride + 1};
}

std::vector<int64_t> walk(const std::vector<LayerSpec>& layers, std::vector<int64_t> shape,
                          const std::string& key, int64_t vocab) {
  for (size_t i = 0; i < layers.size(); ++i) {
    shape = layer_output_shape(layers[i], shape, item_key(key, i, layers[i]), vocab);
  }
  return shape;
}

int64_t block_params(const LayerSpec& l, int64_t d) {
  const int64_t hd = l.heads * l.head_dim;
  return 2 * d + (3 * hd * d + 3 * hd) + (d * hd + d) + 2 * d + (l.mlp * d + l.mlp) +
         (d * l.mlp + d);
}

int64_t params_of(const std::vector<LayerSpec>& layers, std::vector<int64_t> shape,
                  int64_t vocab) {
  int64_t n = 0;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::kConv) n += l.out * shape[0] * l.kernel * l.kernel + l.out;
    if (l.kind == LayerKind::kLinear) n += l.out * shape.back() + l.out;
    if (l.kind == LayerKind::kBatchNorm) n += 2 * shape[0];
    if (l.kind == LayerKind::kResidual) n += params_of(l.body, shape, vocab);
    if (l.kind == LayerKind::kEmbedding) {
      n += (vocab + (l.positions == Positions::kLearned ? shape[0] : 0)) * l.out;
    }
    if (l.kind == LayerKind::kBlock) n += block_params(l, shape.back());
    if (l.kind == LayerKind::kLayerNorm) n += 2 * shape.back();
    shape = layer_output_shape(l, shape, "layer", vocab);
  }
  return n;
}

void check_input(const ModelSpec& spec, const std::string& key) {
  const auto& s = spec.input_shape;
  const bool positive = std::all_of(s.begin(), s.end(), [](int64_t d) { return d > 0; });
  if ((s.size() != 1 && s.size() != 3) || !positive) {
    throw UsageError(key + ": the input shape must be [features] or [channels, height, width], "
                     "all positive; got " + std::to_string(s.size()) + " dimensions");
  }
  for (const auto* values : {&spec.input_mean, &spec.input_std}) {
    const char* what = values == &spec.input_mean ? "mean" : "std";
    if (values->size() > 1 && values->size() != size_t(s[0])) {
      throw UsageError(key + ": the input normalisation has " + std::to_string(values->size()) +
                       " " + what + " values for " + std::to_string(s[0]) +
                       " channels/features; give one value or one per channel");
    }
  }
  for (double sd : spec.input_std) {
    if (!(sd > 0)) throw UsageError(key + ": the input normalisation std must be > 0");
  }
}

void check_lm_input(const ModelSpec& spec, const std::string& key, int64_t classes) {
  const auto& s = spec.input_shape;
  if (s.size() != 1 || s[0] < 1) {
    throw UsageError(key + ": a language model takes token ids [T] (input shape of one "
                     "positive length), not " + std::to_string(s.size()) + " dimensions");
  }
  if (!spec.input_mean.empty() || !spec.input_std.empty()) {
    throw UsageError(key + ": token ids are not normalised; give no input mean/std");
  }
  if (spec.vocab != classes) {
    throw UsageError(key + ": the model's vocabulary is " + std::to_string(spec.vocab) +
                     " tokens but the data has " + std::to_string(classes) + " classes");
  }
}

// Rotary turns pairs (i, i + d/2) of each head: head_dim must be even.
void check_rotary(const std::vector<LayerSpec>& layers, const std::string& key) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    if (l.kind == LayerKind::kResidual) check_rotary(l.body, item_key(key, i, l) + ".residual");
    if (l.kind == LayerKind::kBlock && l.head_dim % 2 != 0) {
      throw UsageError(item_key(key, i, l) + ": rotary positions need an even head_dim, got " +
                       std::to_string(l.head_dim) + "; give head_dim or change the width");
    }
  }
}

void embedding_first(const ModelSpec& spec, const std::string& key) {
  for (size_t i = 1; i < spec.layers.size(); ++i) {
    if (spec.layers[i].kind == LayerKind::kEmbedding) {
      throw UsageError(item_key(key, i, spec.layers[i]) +
                       ": embedding must be the first layer, and only there");
    }
  }
}

// The shape walk, with the tied head's width checked against the embedding's.
std::vector<int64_t> walk_language_model(const ModelSpec& spec, const std::string& key) {
  const int64_t d = spec.layers[0].out;
  std::vector<int64_t> shape = spec.input_shape;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    if (l.kind == LayerKind::kLMHead && shape.size() == 2 && shape[1] != d) {
      throw UsageError(item_key(key, i, l) + ": lm_head is tied to the embedding of width " +
                       std::to_string(d) + " but gets width " + std::to_string(shape[1]) +
                       "; use {linear: " + std::to_string(spec.vocab) + "} instead");
    }
    shape = layer_output_shape(l, shape, item_key(key, i, l), spec.vocab);
  }
  return shape;
}

void check_language_model(const ModelSpec& spec, int64_t classes, const std::string& key) {
  check_lm_input(spec, key, classes);
  const std::vector<int64_t> out = walk_language_model(spec, key);
  if (spec.layers[0].positions == Positions::kRotary) check_rotary(spec.layers, key);
  const size_t last = spec.layers.size() - 1;
  const LayerSpec& l = spec.layers[last];
  const std::string at = item_key(key, last, l);
  const std::string v = std::to_string(classes);
  if (l.kind != LayerKind::kLMHead && l.kind != LayerKind::kLinear) {
    throw UsageError(at + ": the last layer of a language model must be lm_head (tied to the "
                     "embedding) or {linear: " + v + "}, not " + layer_kind_name(l.kind));
  }
  if (out.size() != 2 || out[1] != classes) {
    throw UsageError(at + ": the last linear has " + std::to_string(out.back()) +
                     " outputs but the vocabulary has " + v + " tokens; make it {linear: " + v +
                     "} or lm_head");
  }
}

}  // namespace

std::string layer_prefix(const std::string& parent, size_t index) {
  return parent.empty() ? "l" + std::to_string(index) : parent + "_" + std::to_string(index);
}

std::vector<int64_t> layer_output_shape(const LayerSpec& l, const std::vector<int64_t>& in,
                                        const std::string& where, int64_t vocab) {
  switch (l.kind) {
    case LayerKind::kEmbedding:
    case LayerKind::kBlock:
    case LayerKind::kLayerNorm:
    case LayerKind::kLMHead:
      return lm_shape(l, in, where, vocab);
    case LayerKind::kConv:
      return convolved(l, in, where);
    case LayerKind::kMaxPool:
    case LayerKind::kAvgPool:
      return pooled(l, in, where);
    case LayerKind::kGlobalAvgPool:
      need_image(l, in, where);
      return {in[0]};
    case LayerKind::kFlatten:
      refuse_sequence(l, in, where);
      return {std::accumulate(in.begin(), in.end(), int64_t{1}, std::multiplies<int64_t>())};
    case LayerKind::kLinear:
      if (is_image(in)) {
        misfit(where, "linear needs a flat input but gets " + describe(in) +
                          "; add flatten or global_avg_pool before it");
      }
      if (is_sequence(in)) return {in[0], l.out};
      return {l.out};
    case LayerKind::kResidual: {
      const std::vector<int64_t> out = walk(l.body, in, where + ".residual", vocab);
      if (out != in) {
        misfit(where, "the residual body turns " + describe(in) + " into " + describe(out) +
                          "; x + body(x) needs the same shape (same channels, stride 1, "
                          "padding kernel/2, no pooling)");
      }
      return out;
    }
    case LayerKind::kBatchNorm:
      refuse_sequence(l, in, where);
      return in;
    case LayerKind::kReLU:
    case LayerKind::kGELU:
    case LayerKind::kTanh:
    case LayerKind::kDropout:
      return in;
  }
  return in;
}

void check_spec(const ModelSpec& spec, int64_t classes, const std::string& key) {
  embedding_first(spec, key);
  if (is_language_model(spec)) return check_language_model(spec, classes, key);
  check_input(spec, key);
  if (spec.layers.empty()) {
    throw UsageError(key + ": no layers; end with {linear: " + std::to_string(classes) + "}");
  }
  const std::vector<int64_t> out = walk(spec.layers, spec.input_shape, key, spec.vocab);
  const size_t last = spec.layers.size() - 1;
  const std::string at = key + "[" + std::to_string(last) + "]";
  if (spec.layers[last].kind != LayerKind::kLinear) {
    throw UsageError(at + ": the last layer must be {linear: " + std::to_string(classes) +
                     "} (one output per class), not " + layer_kind_name(spec.layers[last].kind));
  }
  if (out[0] != classes) {
    throw UsageError(at + ": the last linear has " + std::to_string(out[0]) +
                     " outputs but the data has " + std::to_string(classes) +
                     " classes; make it {linear: " + std::to_string(classes) + "}");
  }
}

int64_t parameter_count(const ModelSpec& spec) {
  return params_of(spec.layers, spec.input_shape, spec.vocab);
}

}  // namespace condenser
