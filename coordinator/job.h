#pragma once
// One condenser job, stage by stage: teacher (train or load) -> label (teacher
// inference into HDF5 shards, committed to the manifest) -> distill (student
// trained from the shards) -> prune + fine-tune -> export. Each stage's result
// is appended to RUN_DIR/summary.json as soon as it ends.
#include <string>

#include "coordinator/job_report.h"
#include "core/config.h"

namespace condenser {

struct JobOptions {
  std::string run_dir;
  bool relabel = false;  // label again even when valid shards of this teacher exist
};

// Sets LibTorch's intra-op thread count from runtime.threads (0 = the node's
// cores divided by the ranks on the node). Returns the count applied.
int apply_thread_count(const Config& config);

// Runs the whole job. UsageError for anything the user can fix (missing data,
// bad teacher file, stale shards); RuntimeFailure otherwise.
JobReport run_job(const Config& config, const JobOptions& options);

}  // namespace condenser
