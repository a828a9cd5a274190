#pragma once
// The charts of report.html, shared with the live dashboard. Inputs are the
// JSON the job writes: metrics.jsonl records ({"stage","epoch","step","loss"}
// per logged step, {"stage","epoch","step","train_loss","train_accuracy",
// "val_accuracy","seconds"} per epoch) and summary.json / metrics.json.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace condenser {

// Each stage counts its steps from 0; charts put the stages one after the
// other: a stage starts where the previous one's last logged step ended.
struct StageSpan {
  std::string stage;
  double offset = 0.0;  // global step of this stage's step 0
  double steps = 0.0;   // largest step logged for it
};
std::vector<StageSpan> stage_spans(const std::vector<nlohmann::json>& records);

// SVG ids: "chart-loss", "chart-accuracy", "chart-sparsity-layers",
// "chart-accuracy-sparsity", "chart-perplexity-sparsity", "chart-token-speed",
// "chart-cost" (id_prefix is prepended).
std::string loss_chart(const std::vector<nlohmann::json>& records, const std::string& id_prefix);
std::string accuracy_chart(const std::vector<nlohmann::json>& records,
                           const std::string& id_prefix);
// sparsity_per_layer: [{"name","numel","nonzero","sparsity"}].
std::string sparsity_layers_chart(const nlohmann::json& sparsity_per_layer,
                                  const std::string& id_prefix);
// summary: the job summary (summary.json or metrics.json): stages with model
// stats; x = share of the dense student's parameters that are gone (zero or
// removed by compaction), so unstructured and structured pruning compare.
std::string accuracy_sparsity_chart(const nlohmann::json& summary, const std::string& id_prefix);
// Language models: each prune attempt's validation perplexity right after
// its cut and after recovery against the share of the dense student's
// parameters removed, the dense student's as a line
// ("chart-perplexity-sparsity"); and the tokens/s speed-up of each
// attempt's compacted model at each measured batch ("chart-token-speed").
std::string perplexity_sparsity_chart(const nlohmann::json& summary, const std::string& id_prefix);
std::string token_speed_chart(const nlohmann::json& summary, const std::string& id_prefix);
// Seconds per stage: teacher training, labelling (teacher inference, paid
// once), distillation, pruning + fine-tuning, export.
std::string cost_chart(const nlohmann::json& summary, const std::string& id_prefix);

// HTML table, one row per stage in summary["stages"].
std::string stage_table_html(const nlohmann::json& summary);

}  // namespace condenser
