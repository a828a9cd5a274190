#include "config/model_decl.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <utility>

#include "core/errors.h"
#include "core/text_distance.h"

namespace condenser {
namespace {

const std::vector<std::pair<std::string, LayerKind>>& kinds() {
  static const std::vector<std::pair<std::string, LayerKind>> all{
      {"conv", LayerKind::kConv},
      {"batch_norm", LayerKind::kBatchNorm},
      {"relu", LayerKind::kReLU},
      {"gelu", LayerKind::kGELU},
      {"tanh", LayerKind::kTanh},
      {"max_pool", LayerKind::kMaxPool},
      {"avg_pool", LayerKind::kAvgPool},
      {"global_avg_pool", LayerKind::kGlobalAvgPool},
      {"flatten", LayerKind::kFlatten},
      {"linear", LayerKind::kLinear},
      {"dropout", LayerKind::kDropout},
      {"residual", LayerKind::kResidual},
      {"embedding", LayerKind::kEmbedding},
      {"block", LayerKind::kBlock},
      {"layer_norm", LayerKind::kLayerNorm},
      {"lm_head", LayerKind::kLMHead},
  };
  return all;
}

const std::vector<std::string>& kind_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& k : kinds()) out.push_back(k.first);
    return out;
  }();
  return names;
}

const LayerKind* find_kind(const std::string& name) {
  for (const auto& k : kinds()) {
    if (k.first == name) return &k.second;
  }
  return nullptr;
}

// A problem in the text: the item path and what is wrong.
struct Invalid {
  std::string message;
};

[[noreturn]] void fail(const std::string& at, const std::string& what) {
  throw Invalid{at + ": " + what};
}

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  const std::size_t budget = word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
  const std::string near = closest_match(word, candidates, budget);
  return near.empty() ? "" : "; did you mean '" + near + "'?";
}

std::string all_kinds() {
  std::string all;
  for (const auto& n : kind_names()) all += (all.empty() ? "" : ", ") + n;
  return all;
}

std::string unknown_layer(const std::string& name) {
  const std::string near = suggestion(name, kind_names());
  return "unknown layer '" + name + "'" + (near.empty() ? "; layers are " + all_kinds() : near);
}

std::string text_of(const YAML::Node& node) {
  return node.IsScalar() ? node.Scalar() : std::string("a ") + (node.IsMap() ? "map" : "list");
}

int64_t positive_int(const YAML::Node& node, const std::string& at, const std::string& what,
                     int64_t min = 1) {
  int64_t v = 0;
  bool ok = node.IsScalar();
  if (ok) {
    try {
      v = node.as<int64_t>();
    } catch (const YAML::Exception&) {
      ok = false;
    }
  }
  if (!ok || v < min) {
    fail(at, what + " must be an integer >= " + std::to_string(min) + ", got '" + text_of(node) +
                 "'");
  }
  return v;
}

std::vector<LayerSpec> parse_list(const YAML::Node& list, const std::string& at);

// The options a conv takes besides its channel count.
void conv_option(const std::string& option, const YAML::Node& value, const std::string& at,
                 LayerSpec* layer, bool* padding_given) {
  if (option == "kernel") {
    layer->kernel = positive_int(value, at, "conv kernel");
  } else if (option == "padding") {
    layer->padding = positive_int(value, at, "conv padding", 0);
    *padding_given = true;
  } else if (option == "stride") {
    layer->stride = positive_int(value, at, "conv stride");
  } else {
    fail(at, "unknown option '" + option + "' for conv" +
                 suggestion(option, {"kernel", "padding", "stride"}) +
                 " (conv takes kernel, padding, stride)");
  }
}

// The layer of kind `kind` whose value (the map's value, or null for a bare name) is `value`.
LayerSpec make_layer(LayerKind kind, const std::string& name, const YAML::Node& value,
                     const std::string& at) {
  LayerSpec layer{kind};
  const bool bare = !value.IsDefined() || value.IsNull();
  switch (kind) {
    case LayerKind::kConv:
    case LayerKind::kLinear:
    case LayerKind::kEmbedding:
    case LayerKind::kBlock:
      if (bare) fail(at, name + " needs a size, e.g. {" + name + ": 32}");
      layer.out = positive_int(value, at, name + (kind == LayerKind::kBlock ? " heads" : " size"));
      if (kind == LayerKind::kBlock) std::swap(layer.out, layer.heads);
      break;
    case LayerKind::kMaxPool:
    case LayerKind::kAvgPool:
      layer.kernel = bare ? 2 : positive_int(value, at, name + " window");
      layer.padding = 0;
      break;
    case LayerKind::kDropout: {
      double rate = -1;
      if (!bare && value.IsScalar()) {
        try {
          rate = value.as<double>();
        } catch (const YAML::Exception&) {
        }
      }
      if (!(rate >= 0.0 && rate < 1.0)) {
        fail(at, "dropout needs a probability in [0, 1), e.g. {dropout: 0.3}" +
                     (bare ? std::string() : ", got '" + text_of(value) + "'"));
      }
      layer.rate = rate;
      break;
    }
    case LayerKind::kResidual:
      if (bare || !value.IsSequence() || value.size() == 0) {
        fail(at, "residual needs a non-empty list of layers, e.g. {residual: [{conv: 32}, relu]}");
      }
      layer.body = parse_list(value, at + ".residual");
      break;
    default:
      if (!bare) fail(at, name + " takes no value; write it as a bare name: " + name);
      break;
  }
  return layer;
}

// The options a language-model layer takes (embedding: positions; block:
// mlp, head_dim, repeat).
void lm_option(const std::string& option, const YAML::Node& value, const std::string& at,
               LayerSpec* layer, int64_t* repeat) {
  if (layer->kind == LayerKind::kEmbedding && option == "positions") {
    const std::string v = value.IsScalar() ? value.Scalar() : text_of(value);
    if (v != "rotary" && v != "learned") {
      fail(at, "positions must be rotary or learned, got '" + v + "'");
    }
    layer->positions = v == "rotary" ? Positions::kRotary : Positions::kLearned;
  } else if (layer->kind == LayerKind::kBlock && option == "mlp") {
    layer->mlp = positive_int(value, at, "block mlp");
  } else if (layer->kind == LayerKind::kBlock && option == "head_dim") {
    layer->head_dim = positive_int(value, at, "block head_dim");
  } else if (layer->kind == LayerKind::kBlock && option == "repeat") {
    *repeat = positive_int(value, at, "block repeat");
  } else {
    const bool embedding = layer->kind == LayerKind::kEmbedding;
    const std::vector<std::string> known =
        embedding ? std::vector<std::string>{"positions"}
                  : std::vector<std::string>{"mlp", "head_dim", "repeat"};
    fail(at, "unknown option '" + option + "' for " + layer_kind_name(layer->kind) +
                 suggestion(option, known) +
                 (embedding ? " (embedding takes positions)"
                            : " (block takes mlp, head_dim, repeat)"));
  }
}

// What one YAML map item declares: a layer, repeated `repeat` times.
struct Item {
  LayerSpec layer;
  int64_t repeat = 1;
};

Item parse_map_item(const YAML::Node& item, const std::string& at) {
  std::string kind_name;
  YAML::Node value;
  std::vector<std::pair<std::string, YAML::Node>> options;
  for (const auto& entry : item) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    if (find_kind(key) != nullptr) {
      if (!kind_name.empty()) fail(at, "one layer per item; found " + kind_name + " and " + key);
      kind_name = key;
      value = entry.second;
    } else {
      options.emplace_back(key, entry.second);
    }
  }
  if (kind_name.empty()) {
    const std::string first = options.empty() ? "" : options.front().first;
    fail(at, options.size() == 1 ? unknown_layer(first)
                                 : "no layer kind in this item (one of " + all_kinds() + ")");
  }
  const LayerKind kind = *find_kind(kind_name);
  Item out{make_layer(kind, kind_name, value, at)};
  const bool lm = kind == LayerKind::kEmbedding || kind == LayerKind::kBlock;
  bool padding_given = false;
  for (const auto& [option, v] : options) {
    if (lm) {
      lm_option(option, v, at, &out.layer, &out.repeat);
    } else if (kind == LayerKind::kConv) {
      conv_option(option, v, at, &out.layer, &padding_given);
    } else {
      fail(at, "unknown option '" + option + "' for " + kind_name +
                   " (only conv, embedding and block take options)");
    }
  }
  if (kind == LayerKind::kConv && !padding_given) out.layer.padding = out.layer.kernel / 2;
  if (kind == LayerKind::kEmbedding && out.layer.positions == Positions::kNone) {
    fail(at, "embedding needs positions: rotary or learned, e.g. {embedding: " +
                 std::to_string(out.layer.out) + ", positions: rotary}");
  }
  if (kind == LayerKind::kBlock && out.layer.mlp == 0) {
    fail(at, "block needs an MLP width, e.g. {block: " + std::to_string(out.layer.heads) +
                 ", mlp: 1024}");
  }
  return out;
}

Item parse_item(const YAML::Node& item, const std::string& at) {
  if (item.IsScalar()) {
    const LayerKind* kind = find_kind(item.Scalar());
    if (kind == nullptr) fail(at, unknown_layer(item.Scalar()));
    return {make_layer(*kind, item.Scalar(), YAML::Node(), at)};
  }
  if (item.IsMap()) return parse_map_item(item, at);
  fail(at, "expected a layer: a name such as relu or a map such as {conv: 32}");
}

std::vector<LayerSpec> parse_list(const YAML::Node& list, const std::string& at) {
  std::vector<LayerSpec> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    Item item = parse_item(list[i], at + "[" + std::to_string(i) + "]");
    if (item.repeat > 1) item.layer.item = int64_t(i);
    // Each repeat is its own layer, so pruning can give each block its own sizes.
    for (int64_t r = 0; r < item.repeat; ++r) out.push_back(item.layer);
  }
  return out;
}

// Fills each block's default head_dim D/H from the width D reaching it (the
// embedding's or a linear's before it); `d` is that width, 0 while unknown.
int64_t fill_head_dims(std::vector<LayerSpec>& layers, int64_t d, const std::string& at) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    LayerSpec& l = layers[i];
    const std::string where = at + "[" + std::to_string(l.item >= 0 ? l.item : int64_t(i)) + "]";
    if (l.kind == LayerKind::kEmbedding || l.kind == LayerKind::kLinear) d = l.out;
    if (l.kind == LayerKind::kResidual) fill_head_dims(l.body, d, where + ".residual");
    if (l.kind != LayerKind::kBlock || l.head_dim != 0 || d == 0) continue;
    if (d % l.heads != 0) {
      fail(where, "the width " + std::to_string(d) + " is not a multiple of " +
                      std::to_string(l.heads) + " heads; give head_dim (e.g. head_dim: " +
                      std::to_string(std::max<int64_t>(1, d / l.heads)) + ")");
    }
    l.head_dim = d / l.heads;
  }
  return d;
}

std::vector<LayerSpec> parse_text(const std::string& text, const std::string& key) {
  if (text.empty()) return {};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(key, "not valid YAML: " + e.msg);
  }
  if (root.IsNull()) return {};
  if (!root.IsSequence()) {
    fail(key, "expected a list of layers such as [{conv: 16}, relu, global_avg_pool, {linear: 10}]");
  }
  std::vector<LayerSpec> layers = parse_list(root, key);
  fill_head_dims(layers, 0, key);
  return layers;
}

}  // namespace

std::string layer_kind_name(LayerKind kind) {
  for (const auto& k : kinds()) {
    if (k.second == kind) return k.first;
  }
  return "?";
}

bool is_language_model(const ModelSpec& spec) {
  return !spec.layers.empty() && spec.layers.front().kind == LayerKind::kEmbedding;
}

std::vector<LayerSpec> parse_model_layers(const std::string& yaml_text, const std::string& key) {
  try {
    return parse_text(yaml_text, key);
  } catch (const Invalid& e) {
    throw UsageError(e.message);
  }
}

std::optional<std::string> check_model_layers(const std::string& yaml_text) {
  try {
    parse_text(yaml_text, "layers");
  } catch (const Invalid& e) {
    return e.message;
  }
  return std::nullopt;
}

}  // namespace condenser
