#pragma once
// One condenser job, stage by stage: teacher (train or load) -> label (teacher
// inference into HDF5 shards, committed to the manifest) -> distill (student
// trained from the shards) -> prune + fine-tune -> export. Each stage's result
// is appended to RUN_DIR/summary.json as soon as it ends.
#include <functional>
#include <string>

#include "config/config.h"
#include "report/job_report.h"

namespace condenser {

class Communicator;

struct JobOptions {
  std::string run_dir;
  // The job's ranks (not owned; null = this process alone). With several,
  // every rank trains the student data-parallel; rank 0 alone labels with
  // the teacher and writes the run directory (a shared file system is
  // assumed across nodes), the others wait for it at barriers.
  Communicator* comm = nullptr;
  bool relabel = false;  // label again even when valid shards of this teacher exist
  // "auto": carry on from RUN_DIR/checkpoints/latest (or the newest one that
  // verifies) when there is one; "none": start over; else a checkpoint
  // directory.
  std::string resume = "none";
  // Labelling runs through the coordinator (coordinator/control/label_service.h).
  int local_workers = 1;               // worker child processes; 0: external workers only
  std::string listen = "127.0.0.1:0";  // control HOST:PORT (port 0: a free one)
  std::string http_listen;  // rank 0's HTTP for the whole job; empty: 127.0.0.1, a free port
  int read_timeout_ms = 10000;         // every read of a frame completes within this
  int lease_ms = 30000;                // a lease lapses this long after its last heartbeat
  std::function<std::string()> dashboard;  // HTML for GET /; a minimal page when unset
};

// Sets LibTorch's intra-op thread count from runtime.threads (0 = the node's
// cores divided by the ranks on the node). Returns the count applied.
int apply_thread_count(const Config& config);

// Runs the whole job. UsageError for anything the user can fix (missing data,
// bad teacher file, stale shards); RuntimeFailure otherwise.
JobReport run_job(const Config& config, const JobOptions& options);

}  // namespace condenser
