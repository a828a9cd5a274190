#pragma once
// The language-model parts of the model card (report/model_card.h): the
// perplexities of teacher, distilled student and control, the generated
// samples, and how to run the model with its tokenizer. Internal to report/.
#include <nlohmann/json.hpp>
#include <string>

namespace condenser {

// True when metrics.json describes a language model (its data names a tokenizer).
bool is_language_model(const nlohmann::json& metrics);

// "## Perplexity" and "## Samples" sections.
std::string lm_results_section(const nlohmann::json& metrics);

// "## Input" and the Python / `condenser generate` usage of a language model.
std::string lm_usage_section(const nlohmann::json& metrics);

}  // namespace condenser
