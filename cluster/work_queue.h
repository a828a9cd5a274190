#pragma once
// The background half of a Communicator: one thread that runs queued
// operations in submission order (so every rank issues its collectives in
// the same order, and one thread owns every MPI call), and the Work handle
// each operation completes. When the queue runs dry the thread polls for
// up to 50 us (yielding) before it sleeps.
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/communicator.h"

namespace condenser {

// Completed by the queue thread; waited on by the caller.
class QueuedWork : public Work {
 public:
  explicit QueuedWork(std::string description) : description_(std::move(description)) {}
  void wait(std::chrono::milliseconds timeout) override;
  bool done() const override;
  void finish(std::exception_ptr error);

 private:
  const std::string description_;  // "allreduce of 1024 float32 elements on rank 1 of 2"
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr error_;
};

class WorkQueue {
 public:
  // `init` runs first on the queue thread (MPI_Init_thread, say); the
  // constructor returns after it, rethrowing its failure.
  explicit WorkQueue(const std::function<void()>& init);
  // Runs `shutdown` on the queue thread after everything queued, then joins.
  void stop(const std::function<void()>& shutdown);
  ~WorkQueue();

  // Queues `op`; the returned handle completes when it has run.
  std::shared_ptr<QueuedWork> submit(std::string description, std::function<void()> op);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<std::shared_ptr<QueuedWork>, std::function<void()>>> queue_;
  bool stopping_ = false;
  std::function<void()> shutdown_;
  std::thread thread_;
};

}  // namespace condenser
