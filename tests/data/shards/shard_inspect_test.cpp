// `inspect shards`: coverage (duplicates, gaps), checksums, dir detection.
#include "data/shards/shard_inspect.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/shards/shard_writer.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

struct TestRun {
  std::string dir, soft;
  Manifest manifest;
  ~TestRun() {
    if (!dir.empty()) testing_util::remove_tree(dir);
  }
};

// A run dir with a manifest listing shards of 3 classes and 2 views.
void make_run(TestRun* r) {
  char tmpl[] = "/tmp/condenser_inspect_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  r->dir = tmpl;
  r->soft = r->dir + "/soft_labels";
  ensure_dir(r->soft);
  r->manifest.teacher_sha256 = std::string(64, 'b');
  r->manifest.dataset_fingerprint = "fp";
  r->manifest.num_classes = 3;
  r->manifest.temperature = 2.0;
}

void add_shard(TestRun* r, int64_t begin, int64_t end, const std::vector<int64_t>& idx,
               const std::vector<int32_t>& view) {
  ShardMeta meta;
  meta.teacher_sha256 = r->manifest.teacher_sha256;
  meta.dataset_fingerprint = "fp";
  meta.temperature = 2.0;
  meta.num_classes = 3;
  const std::string file = "shard-" + std::to_string(r->manifest.shards.size()) + ".h5";
  write_shard(r->soft + "/" + file, meta, idx, view, std::vector<float>(idx.size() * 3, 0.5f),
              LogitDType::kFloat32);
  r->manifest.shards.push_back(
      {file, begin, end, 2, static_cast<int64_t>(idx.size()), sha256_file(r->soft + "/" + file)});
  save_manifest(r->dir + "/manifest.json", r->manifest);
}

TEST(Inspect, CleanRunIsOkFromEitherDir) {
  TestRun r;
  make_run(&r);
  r.manifest.total_rows = 8;
  add_shard(&r, 0, 2, {10, 10, 11, 11}, {0, 1, 0, 1});
  add_shard(&r, 2, 4, {12, 12, 13, 13}, {0, 1, 0, 1});
  for (const std::string& dir : {r.dir, r.soft, r.soft + "/"}) {
    const ShardInspection in = inspect_shards(dir);
    EXPECT_TRUE(in.ok) << format_inspection(in);
    EXPECT_EQ(in.soft_label_dir, r.soft);
    EXPECT_EQ(in.distinct_pairs, 8);
    EXPECT_EQ(in.duplicate_pairs, 0);
    EXPECT_EQ(in.missing_pairs, 0);
    ASSERT_EQ(in.shards.size(), 2u);
    EXPECT_EQ(in.shards[0].checksum, ChecksumState::kOk);
    EXPECT_EQ(in.shards[0].file_rows, 4);
    EXPECT_GT(in.shards[0].bytes_per_sample, 12.0);
    EXPECT_EQ(in.shards[0].dtype, "float32");
    EXPECT_EQ(in.shards[0].temperature, 2.0);
  }
  const std::string text = format_inspection(inspect_shards(r.dir));
  EXPECT_NE(text.find("shard-1.h5"), std::string::npos) << text;
  EXPECT_NE(text.find("OK"), std::string::npos) << text;
}

TEST(Inspect, FindsDuplicateGapAndBadChecksum) {
  TestRun r;
  make_run(&r);
  r.manifest.total_rows = 16;  // positions 0..8, two views each
  add_shard(&r, 0, 2, {10, 10, 11, 11}, {0, 1, 0, 1});
  add_shard(&r, 2, 4, {12, 12, 13, 11}, {0, 1, 0, 1});  // (11,1) again, (13,1) absent
  add_shard(&r, 6, 8, {16, 16, 17, 17}, {0, 1, 0, 1});  // positions 4..6 in no shard
  const ShardInspection in = inspect_shards(r.dir);
  EXPECT_FALSE(in.ok);
  EXPECT_EQ(in.distinct_pairs, 11);
  EXPECT_EQ(in.duplicate_pairs, 1);
  EXPECT_EQ(in.missing_pairs, 5);
  ASSERT_EQ(in.position_gaps.size(), 1u);
  EXPECT_EQ(in.position_gaps[0], std::make_pair(int64_t{4}, int64_t{6}));
  const std::string text = format_inspection(in);
  EXPECT_NE(text.find("1 duplicated, 5 missing"), std::string::npos) << text;
  EXPECT_NE(text.find("positions 4..6 are in no shard"), std::string::npos) << text;
  EXPECT_NE(text.find("PROBLEMS"), std::string::npos) << text;

  // Corrupt one shard's bytes and delete another: BAD and MISSING.
  const std::string s0 = r.soft + "/shard-0.h5";
  std::string bytes = read_file(s0);
  bytes[bytes.size() - 1] ^= 1;
  atomic_write_file(s0, bytes);
  std::remove((r.soft + "/shard-2.h5").c_str());
  const ShardInspection bad = inspect_shards(r.dir);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.shards[0].checksum, ChecksumState::kBad);
  EXPECT_EQ(bad.shards[2].checksum, ChecksumState::kMissing);
  const std::string bad_text = format_inspection(bad);
  EXPECT_NE(bad_text.find("BAD"), std::string::npos) << bad_text;
  EXPECT_NE(bad_text.find("MISSING"), std::string::npos) << bad_text;
}

TEST(Inspect, NoManifestIsUsageError) {
  TestRun r;
  make_run(&r);
  EXPECT_THROW(inspect_shards(r.dir), UsageError);
  EXPECT_THROW(inspect_shards(r.soft), UsageError);
}

}  // namespace
}  // namespace condenser
