#pragma once
// The labelling stage's engine: the coordinator serves the tasks as leases
// to workers (local child processes and/or external `condenser worker`s) and
// commits each finished shard exactly once. While it runs,
// RUN_DIR/coordinator.json names its control and HTTP addresses and pid, and
// RUN_DIR/tasks.json holds the task table so a restarted coordinator carries
// on (committed shards come back from the manifest, live leases from the
// table).
#include <functional>
#include <string>
#include <vector>

#include "coordinator/stages/job_context.h"
#include "coordinator/stages/labelling.h"

namespace condenser {

// How the ranks of an mpirun job take part (coordinator/stages/label_stage.cpp).
struct LabelServiceHooks {
  std::string listen;      // replaces JobOptions::listen when not empty
  int local_workers = -1;  // replaces JobOptions::local_workers when >= 0
  // Called once the coordinator serves, with its control address, before
  // any local worker starts; with "" when nothing is left to label.
  std::function<void(const std::string& control)> serving;
  // Called with the manifest (reused shards first, then in commit order)
  // at the start and each time a shard was committed.
  std::function<void(const Manifest&)> committed;
  // Polled while serving: true = stop now, with what is committed (a
  // graceful stop of the job; the next run labels the rest).
  std::function<bool()> stop;
};

// Labels `todo` (a subset of `tasks`, the job's full plan; the others are in
// `manifest` already) through workers, per job.options (local_workers,
// listen, ...) and `hooks`. Returns the final manifest and the rows labelled
// here. Touches no JobContext state but paths, config and options, so it
// may run on its own thread (pipelined mode).
LabellingResult label_with_workers(JobContext& job, const LabellerSetup& setup,
                                   const std::vector<LabelTask>& tasks,
                                   const std::vector<LabelTask>& todo, Manifest manifest,
                                   const LabelServiceHooks& hooks = {});

}  // namespace condenser
