#pragma once
// export/README.md: the model card. YAML front matter (dataset, teacher,
// metrics) for tools, then how to load the model in Python and C++, what it
// gained and lost against the teacher, and the compression recipe.
#include <nlohmann/json.hpp>
#include <string>

namespace condenser {

// `metrics` is export/metrics.json; `config_yaml` the run's
// config.resolved.yaml text (quoted verbatim as the full recipe).
std::string render_model_card(const nlohmann::json& metrics, const std::string& config_yaml);

// A YAML scalar that reads back as the same string (double-quoted, escaped).
std::string yaml_quote(const std::string& s);

}  // namespace condenser
