#include "worker/background_writer.h"

namespace condenser {

BackgroundWriter::BackgroundWriter() { thread_ = std::thread([this] { loop(); }); }

BackgroundWriter::~BackgroundWriter() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !job_; });
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void BackgroundWriter::submit(int64_t lease, const LabelTask& task, TaskLogits logits,
                              const LabellerSetup& setup) {
  LabellerSetup layout = setup;
  layout.images = at::Tensor();
  layout.samples.clear();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !job_; });
  job_ = Job{lease, task, std::move(logits), std::move(layout)};
  changed_.notify_all();
}

bool BackgroundWriter::busy() {
  std::lock_guard<std::mutex> lock(mutex_);
  return job_.has_value();
}

void BackgroundWriter::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !job_; });
}

std::vector<BackgroundWriter::Result> BackgroundWriter::take_results() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(results_, {});
}

void BackgroundWriter::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stop_ || job_; });
    if (!job_) return;  // stop_ with nothing left
    Job& job = *job_;
    lock.unlock();
    Result result;
    result.lease = job.lease;
    result.task = job.task;
    try {
      result.entry = write_task_shard(job.setup, job.task, job.logits);
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    lock.lock();
    results_.push_back(std::move(result));
    job_.reset();
    changed_.notify_all();
  }
}

}  // namespace condenser
