#include "data/shards/shard_stream.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/augment.h"
#include "data/shards/shard_writer.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

constexpr int kClasses = 4;
const std::string kTeacher(64, 'a');

// 30 samples (ids 100..129) x 2 views in 3 shards; logit 0 of a row encodes
// (sample, view) as sample * 10 + view so the stream's rows can be checked.
Manifest write_run(const std::string& dir, bool topk) {
  Manifest m;
  m.teacher_sha256 = kTeacher;
  m.dataset_fingerprint = "fp";
  m.num_classes = kClasses;
  m.temperature = 2.0;
  m.views = 2;
  m.format = topk ? "topk" : "full";
  m.top_k = topk ? 2 : 0;
  m.dtype = topk ? "float16" : "float32";
  m.total_rows = 60;
  for (int shard = 0; shard < 3; ++shard) {
    std::vector<int64_t> samples;
    std::vector<int32_t> views;
    std::vector<float> logits;
    for (int p = shard * 10; p < shard * 10 + 10; ++p) {
      for (int v = 0; v < 2; ++v) {
        samples.push_back(100 + p);
        views.push_back(v);
        const float code = float((100 + p) * 10 + v);
        logits.insert(logits.end(), {code, 1.f, 0.f, -1.f});
      }
    }
    ShardMeta meta{1, kTeacher, "fp", 2.0, kClasses, m.top_k, "test"};
    const std::string file = "shard-00000" + std::to_string(shard) + ".h5";
    if (topk) {
      const TopK t = topk_from_logits(logits, 20, kClasses, 2, 2.0);
      write_topk_shard(dir + "/" + file, meta, samples, views, t.values, t.indices, t.logsumexp);
    } else {
      write_shard(dir + "/" + file, meta, samples, views, logits, LogitDType::kFloat32);
    }
    m.shards.push_back({file, shard * 10, shard * 10 + 10, 2, 20, sha256_file(dir + "/" + file)});
  }
  return m;
}

std::vector<int64_t> one_epoch(ShardStream& stream, int64_t epoch, bool topk) {
  stream.start_epoch(epoch);
  std::vector<int64_t> seen;
  StreamBatch b;
  while (stream.next(7, &b)) {
    EXPECT_LE(b.samples.size(), 7u);
    const at::Tensor first = topk ? b.targets.topk_values : b.targets.logits;
    for (size_t i = 0; i < b.samples.size(); ++i) {
      const int64_t s = b.samples[i];
      EXPECT_EQ(b.views[i], view_for_epoch(s, epoch, 2)) << "sample " << s;
      EXPECT_EQ(first[static_cast<int64_t>(i)][0].item<float>(), float(s * 10 + b.views[i]));
      seen.push_back(s);
    }
  }
  return seen;
}

TEST(ShardStream, EveryEpochVisitsEachSampleOnceWithItsViewAndItsOwnRow) {
  for (bool topk : {false, true}) {
    testing_util::TempDir tmp("stream");
    const Manifest m = write_run(tmp.path, topk);
    ShardStream stream({tmp.path, kTeacher, "fp"}, m, 1, 9);
    EXPECT_EQ(stream.samples_per_epoch(), 30);
    std::vector<std::vector<int64_t>> orders;
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      const std::vector<int64_t> seen = one_epoch(stream, epoch, topk);
      EXPECT_EQ(seen.size(), 30u);
      EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 30u);
      EXPECT_EQ(*std::min_element(seen.begin(), seen.end()), 100);
      orders.push_back(seen);
    }
    EXPECT_NE(orders[0], orders[1]);
  }
}

TEST(ShardStream, SameSeedSameOrderAcrossStreams) {
  testing_util::TempDir tmp("stream_seed");
  const Manifest m = write_run(tmp.path, false);
  ShardStream a({tmp.path, kTeacher, "fp"}, m, 2, 5), b({tmp.path, kTeacher, "fp"}, m, 3, 5);
  EXPECT_EQ(one_epoch(a, 1, false), one_epoch(b, 1, false));
}

TEST(ShardStream, CorruptShardOrOtherTeacherIsRefusedUpFront) {
  testing_util::TempDir tmp("stream_bad");
  const Manifest m = write_run(tmp.path, false);
  try {
    ShardStream({tmp.path, std::string(64, 'b'), "fp"}, m, 1, 1);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(kTeacher), std::string::npos);
  }
  atomic_write_file(tmp.path + "/shard-000001.h5", "not a shard any more");
  try {
    ShardStream({tmp.path, kTeacher, "fp"}, m, 1, 1);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("shard-000001.h5"), std::string::npos);
  }
}

}  // namespace
}  // namespace condenser
