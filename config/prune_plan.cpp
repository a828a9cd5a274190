#include "config/prune_plan.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "core/errors.h"

namespace condenser {
namespace {

YAML::Node load_text(const std::string& text) {
  if (text.empty()) return YAML::Node();
  return YAML::Load(text);
}

// Loads `text` into *root; the reason when it is not YAML.
std::optional<std::string> load_checked(const std::string& text, YAML::Node* root) {
  try {
    *root = load_text(text);
  } catch (const YAML::Exception& e) {
    return "not valid YAML: " + e.msg;
  }
  return std::nullopt;
}

// The scalar as T, or nullopt when it is not one.
template <class T>
std::optional<T> scalar(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

// Parses prune.stages; `fallback` gives each item's missing epochs and lr.
// Returns the reason the text is invalid instead, when it is.
std::optional<std::string> parse_stages(const std::string& text, const PruneStep& fallback,
                                        std::vector<PruneStep>* out) {
  YAML::Node root;
  if (auto problem = load_checked(text, &root)) return problem;
  if (root.IsNull()) return std::nullopt;
  if (!root.IsSequence()) {
    return "expected a list of stages such as [{sparsity: 0.5, epochs: 2}, {sparsity: 0.8}]";
  }
  double previous = 0;
  for (std::size_t i = 0; i < root.size(); ++i) {
    const std::string at = "stage " + std::to_string(i + 1) + " (prune.stages[" +
                           std::to_string(i) + "])";
    const YAML::Node item = root[i];
    PruneStep step = fallback;
    std::optional<double> sparsity;
    if (item.IsMap()) {
      for (const auto& entry : item) {
        const std::string key = entry.first.as<std::string>();
        if (key == "sparsity") {
          sparsity = scalar<double>(entry.second);
          if (!sparsity) return at + ": sparsity must be a number in (0, 1)";
        } else if (key == "epochs") {
          const auto e = scalar<int>(entry.second);
          if (!e || *e < 0) return at + ": epochs must be an integer >= 0";
          step.epochs = *e;
        } else if (key == "lr") {
          const auto lr = scalar<double>(entry.second);
          if (!lr || *lr <= 0) return at + ": lr must be a number > 0";
          step.lr = *lr;
        } else {
          return at + ": unknown key '" + key + "'; a stage takes sparsity, epochs and lr";
        }
      }
      if (!sparsity) return at + ": missing sparsity";
    } else {
      sparsity = scalar<double>(item);
      if (!sparsity) return at + ": expected a sparsity or a map {sparsity, epochs, lr}";
    }
    if (*sparsity <= 0 || *sparsity >= 1) return at + ": sparsity must be in (0, 1)";
    if (*sparsity <= previous) {
      char buf[96];
      std::snprintf(buf, sizeof buf, " (got %g after %g)", *sparsity, previous);
      return at + ": sparsity must rise from stage to stage" + buf;
    }
    step.sparsity = *sparsity;
    previous = *sparsity;
    out->push_back(step);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_prune_stages(const std::string& text) {
  std::vector<PruneStep> steps;
  return parse_stages(text, PruneStep{0, 1, 1}, &steps);
}

std::vector<PruneStep> prune_steps(const PruneConfig& prune) {
  const PruneStep fallback{prune.sparsity, prune.finetune.epochs, prune.finetune.lr};
  std::vector<PruneStep> steps;
  if (auto problem = parse_stages(prune.stages, fallback, &steps)) {
    throw UsageError("prune.stages: " + *problem);
  }
  if (prune.method == "nm") {
    if (steps.size() > 1) {
      throw UsageError("prune.stages: N:M pruning (prune.method nm) has one fixed pattern; "
                       "remove prune.stages or choose global_magnitude, layer_magnitude or "
                       "structured");
    }
    PruneStep one = steps.empty() ? fallback : steps[0];
    one.sparsity = 1.0 - double(prune.nm_n) / prune.nm_m;
    return {one};
  }
  if (steps.empty()) steps.push_back(fallback);
  return steps;
}

std::optional<std::string> check_name_list(const std::string& text) {
  YAML::Node root;
  if (auto problem = load_checked(text, &root)) return problem;
  if (root.IsNull()) return std::nullopt;
  if (root.IsScalar()) return std::nullopt;  // one name
  if (!root.IsSequence()) return "expected a list of weight names, e.g. [first, last]";
  for (const auto& item : root) {
    if (!item.IsScalar()) return "expected a list of weight names, e.g. [first, last]";
  }
  return std::nullopt;
}

std::vector<std::string> prune_exclusions(const PruneConfig& prune) {
  if (prune.exclude == "auto") {
    const std::string& m = prune.method;
    if (m == "structured" || m == "width" || m == "depth") return {};
    return {"first", "last"};
  }
  const YAML::Node root = load_text(prune.exclude);
  std::vector<std::string> names;
  if (root.IsScalar()) names.push_back(root.as<std::string>());
  if (root.IsSequence()) {
    for (const auto& item : root) names.push_back(item.as<std::string>());
  }
  return names;
}

std::optional<std::string> check_layer_sparsity(const std::string& text) {
  YAML::Node root;
  if (auto problem = load_checked(text, &root)) return problem;
  if (root.IsNull()) return std::nullopt;
  if (!root.IsMap()) return "expected a map of weight name: sparsity, e.g. {l9_w: 0.95}";
  for (const auto& entry : root) {
    const auto s = scalar<double>(entry.second);
    if (!s || *s < 0 || *s >= 1) {
      return "the sparsity of '" + entry.first.as<std::string>() + "' must be a number in [0, 1)";
    }
  }
  return std::nullopt;
}

std::map<std::string, double> prune_layer_targets(const PruneConfig& prune) {
  const YAML::Node root = load_text(prune.layer_sparsity);
  std::map<std::string, double> targets;
  if (root.IsMap()) {
    for (const auto& entry : root) targets[entry.first.as<std::string>()] = entry.second.as<double>();
  }
  return targets;
}

namespace {

// Parses prune.width_targets into *out; the reason the text is invalid instead.
std::optional<std::string> parse_width_targets(const std::string& text, WidthTargets* out) {
  YAML::Node root;
  if (auto problem = load_checked(text, &root)) return problem;
  if (root.IsNull()) return std::nullopt;
  if (!root.IsMap()) return "expected a map such as {heads: 0.5, mlp: auto, embedding: 0.25}";
  for (const auto& entry : root) {
    const std::string axis = entry.first.as<std::string>();
    std::optional<double>* slot = axis == "heads"       ? &out->heads
                                  : axis == "mlp"       ? &out->mlp
                                  : axis == "embedding" ? &out->embedding
                                                        : nullptr;
    if (slot == nullptr)
      return "unknown axis '" + axis + "'; the axes are heads, mlp and embedding";
    if (entry.second.IsScalar() && entry.second.Scalar() == "auto") {
      slot->reset();
      continue;
    }
    const auto f = scalar<double>(entry.second);
    if (!f || *f < 0 || *f >= 1) {
      return "the cut of '" + axis + "' must be auto or a fraction in [0, 1)";
    }
    *slot = *f;
  }
  return std::nullopt;
}

}  // namespace

WidthTargets WidthTargets::scaled(double scale) const {
  WidthTargets out = *this;
  for (std::optional<double>* f : {&out.heads, &out.mlp, &out.embedding}) {
    if (*f) **f *= scale;
  }
  return out;
}

std::optional<std::string> check_width_targets(const std::string& text) {
  WidthTargets targets;
  return parse_width_targets(text, &targets);
}

WidthTargets prune_width_targets(const PruneConfig& prune) {
  WidthTargets targets;
  if (auto problem = parse_width_targets(prune.width_targets, &targets)) {
    throw UsageError("prune.width_targets: " + *problem);
  }
  return targets;
}

}  // namespace condenser
