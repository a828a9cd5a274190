#pragma once
// export/report.html: one self-contained page (inline CSS and SVG, no
// scripts, nothing fetched) showing what the compression gained and lost.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace condenser {

// `metrics` is export/metrics.json (see export/export.h for its fields;
// missing optional fields render as "n/a"); `records` is metrics.jsonl.
// Charts: chart-loss, chart-accuracy (stage boundaries marked),
// chart-sparsity-layers, chart-accuracy-sparsity, chart-cost.
std::string render_report(const nlohmann::json& metrics,
                          const std::vector<nlohmann::json>& records);

// The teacher-vs-student table (accuracy, size, latency, throughput) as HTML.
std::string comparison_table_html(const nlohmann::json& metrics);

}  // namespace condenser
