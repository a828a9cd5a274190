#pragma once
// The two halves of bench_control.cpp: the coordinator it runs as a child
// process (bench_control_coordinator.cpp) and the fleet of simulated
// workers (bench_control_fleet.cpp).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace condenser {

struct CoordinatorChildSetup {
  std::string run_dir;  // holds manifest.json, tasks.journal, soft_labels/
  std::string token;
  std::string listen;  // HOST:PORT (port 0 the first time)
  int64_t tasks = 0;
  bool dry = false;
  int heartbeat_ms = 2000;
  int lease_ms = 30000;
};

struct CoordinatorChild {
  pid_t pid = -1;
  std::string control;            // HOST:PORT it serves on
  std::string http;               // its /metrics
  double replay_seconds = 0.0;    // its journal replay
  int64_t recovered_commits = 0;  // commits the journal gave back
  double start_seconds = 0.0;     // fork to serving
};

// The bench's task plan: one sample per task, "shard-0000042.h5".
std::string bench_shard_name(int64_t task);

// Forks a coordinator serving `setup` (restarting from the run directory's
// journal if there is one) and waits until it serves. On SIGTERM it writes
// manifest.json and exits.
CoordinatorChild start_coordinator(const CoordinatorChildSetup& setup);
// Waits for it to exit (SIGTERM first when `terminate`); its exit status.
int wait_coordinator(CoordinatorChild& child, bool terminate);

// The body of GET /metrics at `http` (HOST:PORT).
std::string fetch_metrics(const std::string& http);

struct ProcStats {
  double cpu_seconds = 0.0;  // user + system
  int64_t rss_bytes = 0;
};
ProcStats proc_stats(pid_t pid);

// Raises this process's open-file limit to fit `fds` (the hard limit too
// when allowed); returns the soft limit now in force.
int64_t raise_fd_limit(int64_t fds);

struct FleetSetup {
  int workers = 0;
  int64_t tasks = 0;
  bool dry = false;
  int task_ms = 0;
  std::string token;
  std::string soft_label_dir;  // where non-dry workers write their attempts
};

struct PhaseResult {
  // Each lease grant as a worker saw it: when it asked (seconds into the
  // phase) and how long the lease took (ms).
  std::vector<std::pair<double, double>> leases;
  std::vector<double> commit_at;  // seconds into the phase of each committed ack
  int64_t commits = 0;            // acknowledged committed
  int64_t stale = 0;              // acknowledged not committed
  double seconds = 0.0;
  double reconnect_seconds = 0.0;     // phase start to all workers welcomed again
  double first_lease_seconds = -1.0;  // phase start to the first lease granted
};

class Fleet {
 public:
  explicit Fleet(const FleetSetup& setup);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;
  // Connects every worker to `control` and waits for every welcome
  // (without asking for work yet); returns the seconds it took.
  double connect(const std::string& control);
  // Lets the workers work until `seconds` pass, `stop_after` commits were
  // acknowledged, or every worker heard there is no more work.
  PhaseResult run(double seconds, int64_t stop_after);
  // The coordinator went away: workers reconnect to `control` (same
  // address) on their own; the next run() measures how long that took.
  void expect_restart();
  // Times a task was acknowledged committed, per task (exactly once: all 1).
  const std::vector<uint8_t>& acked() const;

  struct Impl;  // the workers and their io_context (bench_control_fleet.cpp)

 private:
  Impl* impl_;
};

}  // namespace condenser
