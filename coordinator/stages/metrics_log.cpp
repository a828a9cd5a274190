#include "coordinator/stages/metrics_log.h"

#include "core/errors.h"

namespace condenser {

MetricsLog::MetricsLog(const std::string& path, bool truncate)
    : path_(path) {
  if (path.empty()) return;
  out_.open(path, truncate ? std::ios::trunc : std::ios::app);
  if (!out_) throw RuntimeFailure("cannot open '" + path + "' for writing");
}

void MetricsLog::write(const nlohmann::json& record) {
  if (path_.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << record.dump() << '\n';
  out_.flush();
  if (!out_) throw RuntimeFailure("cannot write to '" + path_ + "'");
}

}  // namespace condenser
