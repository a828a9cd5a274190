#pragma once
// The labelling stage's engine: the coordinator serves the tasks as leases
// to workers (local child processes and/or external `condenser worker`s) and
// commits each finished shard exactly once. While it runs,
// RUN_DIR/coordinator.json names its control and HTTP addresses and pid, and
// RUN_DIR/tasks.json holds the task table so a restarted coordinator carries
// on (committed shards come back from the manifest, live leases from the
// table).
#include <vector>

#include "coordinator/job_context.h"
#include "coordinator/labelling.h"

namespace condenser {

// Labels `todo` (a subset of `tasks`, the job's full plan; the others are in
// `manifest` already) through workers, per job.options (local_workers,
// listen, ...). Returns the final manifest and the rows labelled here.
LabellingResult label_with_workers(JobContext& job, const LabellerSetup& setup,
                                   const std::vector<LabelTask>& tasks,
                                   const std::vector<LabelTask>& todo, Manifest manifest);

}  // namespace condenser
