#include "report/run_files.h"

#include <sstream>

#include "core/bounded_read.h"
#include "core/files.h"

namespace condenser {
namespace {

// metrics.jsonl grows with the steps logged: a long run may hold far more
// than one JSON record's limit.
constexpr std::uint64_t kMaxMetricsBytes = 1ull << 30;

nlohmann::json read_json_or_null(const std::string& path) {
  if (!path_exists(path)) return nullptr;
  try {
    return nlohmann::json::parse(read_file_at_most(path, kMaxRecordBytes, "run record"));
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

std::vector<nlohmann::json> parse_json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

RunFiles read_run_files(const std::string& run_dir) {
  RunFiles f;
  const std::string jsonl = run_dir + "/metrics.jsonl";
  if (path_exists(jsonl)) {
    try {
      f.records = parse_json_lines(read_file_at_most(jsonl, kMaxMetricsBytes, "metrics log"));
    } catch (const std::exception&) {
      f.records.clear();
    }
  }
  f.summary = read_json_or_null(run_dir + "/summary.json");
  f.metrics = read_json_or_null(run_dir + "/export/metrics.json");
  f.progress = read_json_or_null(run_dir + "/progress.json");
  return f;
}

}  // namespace condenser
