#pragma once
// `condenser worker`: connect to a coordinator, authenticate with the job
// token, then take tasks, label each into its attempt file, report it, and
// heartbeat its leases meanwhile. Reconnects with backoff when the connection
// drops (the coordinator may have restarted) and reports a finished task
// again after reconnecting. Returns when the coordinator says there is no
// more work. Speaks protocol/messages.h over protocol/frame_client.h; the
// job it labels for is worker_job.h.
#include <chrono>
#include <functional>
#include <string>

namespace condenser {

struct WorkerOptions {
  std::string coordinator;  // HOST:PORT
  std::string token_file;   // holds the job token (RUN_DIR/job.token)
  // The token itself, when known already (the ranks of an mpirun job get it
  // broadcast from rank 0); token_file is then not read.
  std::string token;
  std::string device = "cpu";  // cpu | cuda | cuda:N
  int threads = 0;             // LibTorch intra-op threads; 0 = leave the default
  std::string name;            // shown in /status; default host:pid
  // Non-empty: this node does not see the run directory. Shards are written
  // here and sent to the coordinator over the connection (shard_upload.h),
  // then removed. Created when missing.
  std::string upload_dir;
  // Local copies of what the job's spec names on the coordinator's file
  // system (the teacher's identity and the data's fingerprint are still
  // checked against the coordinator's); empty: the spec's paths.
  std::string teacher_path, data_dir;
  // Checked before each new task: true = finish and report the shards in
  // flight, then return 0 (a graceful stop of the job).
  std::function<bool()> stop;
  // Give up (RuntimeFailure) after this long without reaching the coordinator.
  std::chrono::milliseconds give_up_after{60000};
};

// 0 when the job has no more work. UsageError when the token file is missing
// or the coordinator refuses the token; RuntimeFailure when the coordinator
// stays unreachable or a task fails.
int run_worker(const WorkerOptions& options);

}  // namespace condenser
