#include "coordinator/control/job_http.h"

#include <unistd.h>

#include "core/files.h"
#include "core/log.h"

namespace condenser {

void write_coordinator_file(const std::string& run_dir, const std::string& http,
                            const std::string& control) {
  nlohmann::json j = {{"http", http}, {"pid", ::getpid()}};
  if (!control.empty()) j["control"] = control;
  atomic_write_file(run_dir + "/coordinator.json", j.dump() + "\n");
}

JobHttp::JobHttp(const std::string& job, const std::string& listen,
                 std::chrono::milliseconds read_timeout, std::function<std::string()> dashboard)
    : status_(job, {}),
      server_(listen.empty() ? "127.0.0.1:0" : listen, read_timeout,
              job_routes(status_, std::move(dashboard)), "--http") {}

JobHttp::~JobHttp() {
  server_.stop();
  if (!published_.empty()) ::unlink(published_.c_str());
}

void JobHttp::publish(const std::string& run_dir) {
  write_coordinator_file(run_dir, server_.address());
  published_ = run_dir + "/coordinator.json";
  log_info("job: status on http://", server_.address(),
           "/status (metrics: /metrics, dashboard: /)");
}

}  // namespace condenser
