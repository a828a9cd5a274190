#pragma once
// The job's HTTP side for its whole life (rank 0 of `condenser run`, from
// before the first stage to the end of export): one HttpServer with the
// job's routes (job_status.h), which the labelling stage borrows for its own
// while it serves leases (label_service.h), and RUN_DIR/coordinator.json
// naming it.
#include <chrono>
#include <functional>
#include <string>

#include "coordinator/control/http_server.h"
#include "coordinator/control/job_status.h"

namespace condenser {

// RUN_DIR/coordinator.json, written atomically: {"control": `control`
// (omitted when empty: nothing serves leases now), "http": `http`, "pid"}.
void write_coordinator_file(const std::string& run_dir, const std::string& http,
                            const std::string& control = "");

class JobHttp {
 public:
  // Binds `listen` (empty: 127.0.0.1, a free port) before anything is
  // trained: UsageError naming --http and the address when it cannot.
  // GET / answers `dashboard`.
  JobHttp(const std::string& job, const std::string& listen, std::chrono::milliseconds read_timeout,
          std::function<std::string()> dashboard);
  ~JobHttp();  // closes the port, then removes the coordinator.json it wrote
  JobHttp(const JobHttp&) = delete;
  JobHttp& operator=(const JobHttp&) = delete;

  // Writes RUN_DIR/coordinator.json (once the run directory is the job's).
  void publish(const std::string& run_dir);

  JobStatus& status() { return status_; }
  HttpServer& server() { return server_; }

 private:
  JobStatus status_;  // before server_: the routes read it
  HttpServer server_;
  std::string published_;  // coordinator.json written, or empty
};

}  // namespace condenser
