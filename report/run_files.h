#pragma once
// Reads what a run directory holds so far, for the report and the dashboard.
// Works on a finished run and on one still running (files may be missing,
// the last metrics.jsonl line may be half written).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace condenser {

struct RunFiles {
  std::vector<nlohmann::json> records;  // metrics.jsonl, in order
  nlohmann::json summary;               // summary.json, null when absent
  nlohmann::json metrics;               // export/metrics.json, null when absent
  nlohmann::json progress;              // progress.json, null when absent
};

// Missing files are null/empty; an unparsable metrics.jsonl line is skipped
// (the writer may be mid-line). A present but corrupt summary/metrics/progress
// JSON is treated as absent: the dashboard must keep answering.
RunFiles read_run_files(const std::string& run_dir);

// JSON Lines text -> one object per parsable non-empty line.
std::vector<nlohmann::json> parse_json_lines(const std::string& text);

}  // namespace condenser
