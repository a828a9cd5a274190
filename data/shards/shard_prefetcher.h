#pragma once
// Reads soft-label shards ahead of the consumer on one background thread.
//
//   ShardPrefetcher pf(paths, /*depth=*/2);
//   while (std::optional<ShardData> shard = pf.next()) use(*shard);
//
// The thread calls read_shard on each path in order and keeps at most
// `depth` shards in memory (queued or being read; the one next() handed out
// belongs to the caller). While a prefetcher lives, its thread must be the
// only one in the process doing HDF5 I/O (HDF5 here is not thread-safe):
// don't read or write shards elsewhere until it is destroyed or drained.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data/shards/shard_reader.h"

namespace condenser {

class ShardPrefetcher {
 public:
  // Starts the reader thread. depth < 1 is a RuntimeFailure (a caller bug).
  ShardPrefetcher(std::vector<std::string> paths, size_t depth);
  // Stops the thread (after the read in progress, if any) and joins it.
  ~ShardPrefetcher();
  ShardPrefetcher(const ShardPrefetcher&) = delete;
  ShardPrefetcher& operator=(const ShardPrefetcher&) = delete;

  // The next shard in `paths` order, blocking until it is read; nullopt after
  // the last. If reading a shard failed, rethrows that error (it names the
  // file: read_shard's UsageError as is, anything else as a RuntimeFailure)
  // once the shards before it have been returned, and on every later call.
  std::optional<ShardData> next();

  // Seconds next() spent waiting for the reader so far.
  double wait_seconds() const;
  // Most shards ever queued at once (<= depth).
  size_t peak_queued() const;

 private:
  void run();

  const std::vector<std::string> paths_;
  const size_t depth_;
  mutable std::mutex mu_;
  std::condition_variable ready_;  // reader -> consumer: a shard, an error or the end
  std::condition_variable space_;  // consumer -> reader: room in the queue, or stop
  std::deque<ShardData> queue_;
  size_t reading_ = 0;        // shards being read right now (0 or 1)
  size_t delivered_ = 0;      // shards handed out by next()
  std::exception_ptr error_;  // set once; the reader stops after it
  bool stop_ = false;
  double wait_seconds_ = 0;
  size_t peak_queued_ = 0;
  std::thread thread_;  // last: starts after every member above is initialised
};

}  // namespace condenser
