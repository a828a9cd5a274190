// The pipelined mode's record of the order shards are consumed in: fed by
// the labelling thread, read by the training thread. What a resumed run
// relies on: commits are appended in commit order and written down, a
// recorded order is replayed (a recorded shard being relabelled keeps its
// place and is waited for), an order from another shard layout is dropped,
// and a waiting trainer wakes on a commit, on the end of labelling and on
// its failure.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "coordinator/stages/shard_pipeline.h"
#include "core/errors.h"
#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

ManifestEntry entry(const std::string& file) { return {file, 0, 10, 1, 10, "sha-" + file}; }

Manifest manifest_of(const std::vector<std::string>& files) {
  Manifest m;
  for (const std::string& f : files) m.shards.push_back(entry(f));
  return m;
}

std::vector<std::string> files_of(const std::vector<ManifestEntry>& head) {
  std::vector<std::string> files;
  for (const ManifestEntry& e : head) files.push_back(e.file);
  return files;
}

TEST(ShardOrderBook, AppendsCommitsInOrderAndRecordsThem) {
  TempDir dir("order");
  const std::string path = dir.path + "/shard_order.json";
  ShardOrderBook book(path);
  book.committed(manifest_of({"shard-000002.h5"}));
  book.committed(manifest_of({"shard-000002.h5", "shard-000000.h5"}));
  EXPECT_EQ(files_of(book.wait_beyond(1)),
            (std::vector<std::string>{"shard-000002.h5", "shard-000000.h5"}));
  EXPECT_EQ(nlohmann::json::parse(read_file(path))["order"],
            nlohmann::json({"shard-000002.h5", "shard-000000.h5"}));
}

TEST(ShardOrderBook, ReplaysARecordedOrderAndWaitsForARelabelledShard) {
  TempDir dir("order");
  const std::string path = dir.path + "/shard_order.json";
  atomic_write_file(path, R"({"order": ["shard-000001.h5", "shard-000000.h5"]})");
  ShardOrderBook book(path);
  book.keep_if_from({{0, 10, "shard-000000.h5"}, {10, 20, "shard-000001.h5"}});
  // shard 0 is back first, but the recorded head is shard 1: nothing is ready.
  book.committed(manifest_of({"shard-000000.h5"}));
  auto waiting = std::async(std::launch::async, [&] { return book.wait_beyond(0); });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  book.committed(manifest_of({"shard-000000.h5", "shard-000001.h5"}));
  EXPECT_EQ(files_of(waiting.get()),
            (std::vector<std::string>{"shard-000001.h5", "shard-000000.h5"}));
}

TEST(ShardOrderBook, DropsAnOrderOfAnotherShardLayout) {
  TempDir dir("order");
  const std::string path = dir.path + "/shard_order.json";
  atomic_write_file(path, R"({"order": ["shard-000009.h5"]})");
  ShardOrderBook book(path);
  book.keep_if_from({{0, 10, "shard-000000.h5"}});
  EXPECT_FALSE(path_exists(path));
  book.committed(manifest_of({"shard-000000.h5"}));
  EXPECT_EQ(files_of(book.wait_beyond(0)), std::vector<std::string>{"shard-000000.h5"});
}

TEST(ShardOrderBook, WakesTheTrainerWhenLabellingEndsOrFails) {
  TempDir dir("order");
  ShardOrderBook ended(dir.path + "/a.json");
  auto after_end = std::async(std::launch::async, [&] { return ended.wait_beyond(0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ended.close();
  EXPECT_TRUE(after_end.get().empty());

  ShardOrderBook failed(dir.path + "/b.json");
  auto after_failure = std::async(std::launch::async, [&] { return failed.wait_beyond(0); });
  failed.fail(std::make_exception_ptr(std::runtime_error("teacher rank died")));
  EXPECT_THROW(after_failure.get(), std::runtime_error);
}

TEST(ShardOrderBook, RefusesAFileItDidNotWrite) {
  TempDir dir("order");
  const std::string path = dir.path + "/shard_order.json";
  atomic_write_file(path, "not json");
  EXPECT_THROW(ShardOrderBook book(path), UsageError);
}

}  // namespace
}  // namespace condenser
