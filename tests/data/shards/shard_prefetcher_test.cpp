// ShardPrefetcher: order, depth bound, error propagation, clean shutdown.
#include "data/shards/shard_prefetcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "data/shards/shard_writer.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

// n shards; shard i holds rows sample_index {i * 10, i * 10 + 1}.
std::vector<std::string> make_shards(const std::string& dir, int n) {
  ShardMeta meta;
  meta.teacher_sha256 = "t";
  meta.dataset_fingerprint = "fp";
  meta.num_classes = 3;
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) {
    paths.push_back(dir + "/shard-" + std::to_string(i) + ".h5");
    write_shard(paths.back(), meta, {i * 10, i * 10 + 1}, {0, 0}, std::vector<float>(6, 1.0f * i),
                LogitDType::kFloat32);
  }
  return paths;
}

// Runs `body` on another thread; fails (instead of hanging) if it takes longer
// than `limit`.
void within(std::chrono::seconds limit, const std::function<void()>& body) {
  std::packaged_task<void()> task(body);
  std::future<void> done = task.get_future();
  std::thread t(std::move(task));
  if (done.wait_for(limit) != std::future_status::ready) {
    t.detach();  // hung: let the binary report the failure and exit
    FAIL() << "did not finish within " << limit.count() << " s";
  }
  t.join();
  done.get();  // rethrows a failure from body
}

TEST(Prefetcher, DeliversInOrderWithinDepth) {
  TempDir tmp;
  const std::vector<std::string> paths = make_shards(tmp.path, 8);
  for (size_t depth : {1, 2, 3}) {
    within(std::chrono::seconds(30), [&] {
      ShardPrefetcher pf(paths, depth);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the reader fill up
      for (int i = 0; i < 8; ++i) {
        std::optional<ShardData> d = pf.next();
        ASSERT_TRUE(d.has_value()) << i;
        EXPECT_EQ(d->sample_index, (std::vector<int64_t>{i * 10, i * 10 + 1}));
        EXPECT_EQ(d->logits.front(), 1.0f * i);
      }
      EXPECT_FALSE(pf.next().has_value());
      EXPECT_FALSE(pf.next().has_value());  // stays at the end
      EXPECT_GE(pf.peak_queued(), 1u);
      EXPECT_LE(pf.peak_queued(), depth);
      EXPECT_GE(pf.wait_seconds(), 0.0);
    });
  }
}

TEST(Prefetcher, EmptyListEndsAtOnce) {
  ShardPrefetcher pf({}, 2);
  EXPECT_FALSE(pf.next().has_value());
  EXPECT_EQ(pf.peak_queued(), 0u);
}

TEST(Prefetcher, ZeroDepthIsRejected) { EXPECT_THROW(ShardPrefetcher({}, 0), RuntimeFailure); }

TEST(Prefetcher, ErrorsComeAfterEarlierShardsAndNameTheFile) {
  TempDir tmp;
  std::vector<std::string> paths = make_shards(tmp.path, 4);
  const std::string bad = tmp.path + "/garbage.h5";
  atomic_write_file(bad, "not a shard");
  paths.insert(paths.begin() + 2, bad);
  within(std::chrono::seconds(30), [&] {
    ShardPrefetcher pf(paths, 2);
    EXPECT_EQ(pf.next()->sample_index[0], 0);
    EXPECT_EQ(pf.next()->sample_index[0], 10);
    for (int attempt = 0; attempt < 2; ++attempt) {  // and again on the next call
      try {
        pf.next();
        FAIL() << "expected the reader's error";
      } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      }
    }
  });
  within(std::chrono::seconds(30), [&] {
    ShardPrefetcher pf({tmp.path + "/none.h5"}, 1);
    EXPECT_THROW(pf.next(), UsageError);
  });
}

TEST(Prefetcher, EarlyDestructionDoesNotHang) {
  TempDir tmp;
  const std::vector<std::string> paths = make_shards(tmp.path, 12);
  within(std::chrono::seconds(20), [&] {
    for (size_t depth : {1, 4}) {
      { ShardPrefetcher untouched(paths, depth); }  // destroyed at once
      {
        ShardPrefetcher pf(paths, depth);
        ASSERT_TRUE(pf.next().has_value());
        std::this_thread::sleep_for(
            std::chrono::milliseconds(20));  // reader blocks on a full queue
      }
    }
  });
}

TEST(Prefetcher, WaitSecondsCountsBlockedTime) {
  TempDir tmp;
  const std::vector<std::string> paths = make_shards(tmp.path, 3);
  ShardPrefetcher pf(paths, 1);
  while (pf.next()) {
  }
  const double w = pf.wait_seconds();
  EXPECT_GE(w, 0.0);
  EXPECT_LT(w, 10.0);
}

}  // namespace
}  // namespace condenser
