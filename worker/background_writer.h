#pragma once
// Double buffering for a worker: the shard of task N is written (HDF5,
// fsync, SHA-256) on this one background thread, the process's only HDF5
// thread, while the teacher already runs on task N + 1. At most one shard is
// in flight: submit() waits for the previous one, so memory stays at two
// tasks' logits.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "worker/teacher_labeller.h"

namespace condenser {

class BackgroundWriter {
 public:
  struct Result {
    int64_t lease = 0;
    LabelTask task;
    ManifestEntry entry;  // when error is empty
    std::string error;    // what failed (the shard is not usable)
  };

  BackgroundWriter();
  ~BackgroundWriter();  // finishes the shard in flight, then stops
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  // Queues the shard of `lease` (waits while another is being written).
  // Only the layout fields of `setup` are used (copied; images are not).
  void submit(int64_t lease, const LabelTask& task, TaskLogits logits, const LabellerSetup& setup);
  bool busy();
  void wait_idle();
  // Finished shards since the last call, in submission order.
  std::vector<Result> take_results();

 private:
  struct Job {
    int64_t lease;
    LabelTask task;
    TaskLogits logits;
    LabellerSetup setup;
  };
  void loop();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Job> job_;  // waiting or being written
  std::vector<Result> results_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace condenser
