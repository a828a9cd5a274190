#pragma once
// The labelling stage's engine: the coordinator serves the tasks as leases
// to workers (local child processes and/or external `condenser worker`s) and
// commits each finished shard exactly once. While it runs,
// RUN_DIR/coordinator.json names its control and HTTP addresses and pid
// (write_coordinator_file in job_http.h), and
// RUN_DIR/tasks.journal journals the task table so a restarted coordinator
// carries on (committed shards come back from the manifest and the journal,
// live leases from the journal; see shard_commit.h for when manifest.json
// is written). It sees only what LabelServiceSetup gives it (built by
// coordinator/stages/label_stage.cpp), never the job's stages.
#include <functional>
#include <string>
#include <vector>

#include "config/run_dir.h"
#include "data/shards/manifest.h"
#include "protocol/label_spec.h"
#include "protocol/label_task.h"

namespace condenser {

class HttpServer;

struct LabellingResult {
  Manifest manifest;
  int64_t teacher_forward_samples = 0;  // samples the teacher ran on in this job
  double seconds = 0.0;
};

// One labelling job as the coordinator serves it.
struct LabelServiceSetup {
  LabelSpec spec;              // every worker's welcome; soft_label_dir and views come from it
  std::string job_name;        // shown in /status
  RunPaths paths;              // root, manifest and token of the run directory
  int local_workers = 0;       // child processes of this binary
  std::string device = "cpu";  // theirs
  int worker_threads = 1;      // each one's intra-op threads
  std::string listen = "127.0.0.1:0";  // control HOST:PORT (port 0: a free one)
  std::string http_listen;             // empty: the control host, a free port
  // The job's HTTP listener (not owned; coordinator/stages/job.cpp). Set: the
  // labelling routes are plugged into it while serving, over the job's own
  // (with_labelling: the job's /status gains the labelling's, /metrics both),
  // http_listen is ignored, and coordinator.json keeps naming it afterwards
  // (without "control"). Null: an own listener, coordinator.json removed after.
  HttpServer* http = nullptr;
  int read_timeout_ms = 10000;
  int lease_ms = 30000;
  // False (--relabel): a journal left by an interrupted coordinator is
  // discarded instead of replayed.
  bool resume_journal = true;
  std::function<std::string()> dashboard;  // GET /; unset: the live dashboard of paths.root
};

// How the ranks of an mpirun job take part (coordinator/stages/label_stage.cpp).
struct LabelServiceHooks {
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
// `manifest` already) through workers. Returns the final manifest and the
// rows labelled here. Touches nothing but `setup`'s run directory, so it may
// run on its own thread (pipelined mode).
LabellingResult label_with_workers(const LabelServiceSetup& setup,
                                   const std::vector<LabelTask>& tasks,
                                   const std::vector<LabelTask>& todo, Manifest manifest,
                                   const LabelServiceHooks& hooks = {});

}  // namespace condenser
