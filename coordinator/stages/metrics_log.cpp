#include "coordinator/stages/metrics_log.h"

#include <cerrno>
#include <cstring>

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
  errno = 0;
  out_ << record.dump() << '\n';
  out_.flush();
  // The stream keeps no cause; errno from the failed write(2) still holds it.
  if (!out_) {
    throw RuntimeFailure("cannot write to '" + path_ + "': " +
                         (errno != 0 ? std::strerror(errno) : "write failed") +
                         "; free space on that disk (or use another --run-dir) and run again "
                         "(the job resumes from its last checkpoint)");
  }
}

}  // namespace condenser
