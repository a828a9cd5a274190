#pragma once
// RUN_DIR/metrics.jsonl: one JSON object a line, appended and flushed as
// records arrive, so a crash loses at most the line being written.
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace condenser {

class MetricsLog {
 public:
  // Opens for appending (truncating when `truncate`). RuntimeFailure on error.
  // An empty path writes nothing (ranks other than 0).
  MetricsLog(const std::string& path, bool truncate);
  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::ofstream out_;
  std::mutex mutex_;
};

}  // namespace condenser
