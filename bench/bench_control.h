#pragma once
// `condenser bench control`: the control plane at scale. N simulated
// workers (real TCP clients on loopback, the real protocol: hello with the
// token, heartbeats at the configured rate, leases, task_done) against a
// real coordinator (control server, handler, task table, shard committer
// and journal) in a child process, which the bench kills once (SIGKILL) and
// restarts from its journal. Reports lease-grant latency (p50/p99/max, as
// the workers see it), commits/s, the coordinator's CPU seconds and resident
// memory per worker, and the time to recover; checks that every task was
// committed exactly once.
#include <cstdint>
#include <string>

#include "bench/bench_report.h"

namespace condenser {

struct ControlBenchOptions {
  int workers = 1000;
  int64_t tasks = 100000;
  // Dry commits: workers write no shard file; the coordinator journals
  // and lists them like real ones but checks and moves no file.
  bool dry = false;
  // Simulated labelling time per task (±50 %, uniformly); -1: workers / 4
  // ms, which offers about 4,000 tasks/s whatever the number of workers.
  int task_ms = -1;
  int heartbeat_ms = 2000;
  int lease_ms = 30000;
  // Each of the two phases (before and after the kill) ends after this long
  // even with tasks left; the second one also when all tasks are done.
  double phase_seconds = 30.0;
  std::string scratch_dir = "bench/scratch";
  std::string out_dir = "bench/results";
};

BenchReport bench_control(const ControlBenchOptions& options);

struct BenchOptions;
// The defaults under `condenser bench` (--quick: 50 workers, 2,000 tasks).
ControlBenchOptions control_bench_defaults(const BenchOptions& options);

}  // namespace condenser
