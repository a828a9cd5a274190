#include "data/shards/shard_prefetcher.h"

#include <chrono>

#include "core/errors.h"

namespace condenser {

ShardPrefetcher::ShardPrefetcher(std::vector<std::string> paths, size_t depth)
    : paths_(std::move(paths)), depth_(depth) {
  if (depth_ < 1) throw RuntimeFailure("ShardPrefetcher: depth must be >= 1");
  thread_ = std::thread([this] { run(); });
}

ShardPrefetcher::~ShardPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  space_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ShardPrefetcher::run() {
  for (size_t i = 0; i < paths_.size(); ++i) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      space_.wait(lock, [this] { return stop_ || queue_.size() + reading_ < depth_; });
      if (stop_) return;
      reading_ = 1;
    }
    const std::string& path = paths_[i];
    std::optional<ShardData> shard;
    std::exception_ptr error;
    try {
      shard = read_shard(path);
    } catch (const Error& e) {
      const std::string what = e.what();
      error = what.find(path) != std::string::npos
                  ? std::current_exception()
                  : std::make_exception_ptr(
                        RuntimeFailure("reading soft-label shard '" + path + "' failed: " + what));
    } catch (const std::exception& e) {
      error = std::make_exception_ptr(
          RuntimeFailure("reading soft-label shard '" + path + "' failed: " + e.what()));
    } catch (...) {
      error = std::make_exception_ptr(
          RuntimeFailure("reading soft-label shard '" + path + "' failed: unknown error"));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = 0;
      if (error) {
        error_ = error;
      } else {
        queue_.push_back(std::move(*shard));
        if (queue_.size() > peak_queued_) peak_queued_ = queue_.size();
      }
    }
    ready_.notify_all();
    if (error) return;
  }
}

std::optional<ShardData> ShardPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto have_answer = [this] {
    return !queue_.empty() || error_ || delivered_ == paths_.size();
  };
  if (!have_answer()) {
    const auto start = std::chrono::steady_clock::now();
    ready_.wait(lock, have_answer);
    wait_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (!queue_.empty()) {
    ShardData shard = std::move(queue_.front());
    queue_.pop_front();
    ++delivered_;
    lock.unlock();
    space_.notify_all();
    return shard;
  }
  if (error_) std::rethrow_exception(error_);
  return std::nullopt;
}

double ShardPrefetcher::wait_seconds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wait_seconds_;
}

size_t ShardPrefetcher::peak_queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_queued_;
}

}  // namespace condenser
