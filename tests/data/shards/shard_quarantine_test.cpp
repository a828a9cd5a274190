// Quarantine: damaged or foreign shards move to soft_labels/quarantine/ with
// a reason file and leave the manifest; good shards stay.
#include "data/shards/shard_quarantine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/shards/shard_writer.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

struct SoftDir {
  TempDir tmp{"quarantine"};
  std::string soft = tmp.path + "/soft_labels";
  Manifest manifest;
  SoftDir() {
    ensure_dir(soft);
    manifest.teacher_sha256 = std::string(64, 'd');
    manifest.dataset_fingerprint = "fp";
    manifest.num_classes = 4;
    manifest.temperature = 3.0;
  }
  // A 2-position, 1-view shard at positions [begin, begin + 2).
  void add(const std::string& file, int64_t begin, const std::string& teacher = "") {
    ShardMeta meta;
    meta.teacher_sha256 = teacher.empty() ? manifest.teacher_sha256 : teacher;
    meta.dataset_fingerprint = "fp";
    meta.temperature = 3.0;
    meta.num_classes = 4;
    const std::string path = soft + "/" + file;
    write_shard(path, meta, {begin, begin + 1}, {0, 0}, std::vector<float>(8, 0.25f),
                LogitDType::kFloat32);
    manifest.shards.push_back({file, begin, begin + 2, 1, 2, sha256_file(path)});
  }
};

std::string reason_of(const std::string& quarantined) {
  return read_file(quarantined + ".reason.txt");
}

TEST(Quarantine, MovesFileWithReasonAndUniqueName) {
  SoftDir r;
  r.add("a.h5", 0);
  const std::string bytes = read_file(r.soft + "/a.h5");
  const std::string first = quarantine_shard(r.soft, "a.h5", "because");
  EXPECT_EQ(first, r.soft + "/quarantine/a.h5");
  EXPECT_FALSE(path_exists(r.soft + "/a.h5"));
  EXPECT_EQ(read_file(first), bytes);
  EXPECT_NE(reason_of(first).find("because"), std::string::npos);
  EXPECT_NE(reason_of(first).find(r.soft + "/a.h5"), std::string::npos);
  r.add("a.h5", 0);  // relabelled, then damaged again
  const std::string second = quarantine_shard(r.soft, "a.h5", "again");
  EXPECT_EQ(second, r.soft + "/quarantine/a.h5.1");
  EXPECT_NE(reason_of(second).find("again"), std::string::npos);
  EXPECT_NE(reason_of(first).find("because"), std::string::npos);  // untouched
  EXPECT_THROW(quarantine_shard(r.soft, "missing.h5", "x"), RuntimeFailure);
}

TEST(Quarantine, VerifyQuarantinesTruncatedFlippedAndForeignShards) {
  SoftDir r;
  r.add("good0.h5", 0);
  r.add("truncated.h5", 2);
  r.add("flipped.h5", 4);
  r.add("foreign.h5", 6, std::string(64, 'e'));  // checksum fine, other teacher
  r.add("missing.h5", 8);
  r.add("good1.h5", 10);
  r.add("rows.h5", 12);
  r.manifest.shards.back().rows = 4;  // manifest lies about its rows
  r.manifest.shards.back().task_end = 16;
  const std::string t = read_file(r.soft + "/truncated.h5");
  atomic_write_file(r.soft + "/truncated.h5", t.substr(0, t.size() / 3));
  std::string f = read_file(r.soft + "/flipped.h5");
  f[f.size() / 2] ^= 0x04;
  atomic_write_file(r.soft + "/flipped.h5", f);
  std::remove((r.soft + "/missing.h5").c_str());

  const std::vector<ManifestEntry> removed = verify_or_quarantine(r.soft, r.manifest);
  std::vector<std::string> removed_files, kept_files;
  for (const auto& e : removed) removed_files.push_back(e.file);
  for (const auto& e : r.manifest.shards) kept_files.push_back(e.file);
  EXPECT_EQ(removed_files, (std::vector<std::string>{"truncated.h5", "flipped.h5", "foreign.h5",
                                                     "missing.h5", "rows.h5"}));
  EXPECT_EQ(kept_files, (std::vector<std::string>{"good0.h5", "good1.h5"}));
  EXPECT_EQ(removed[0].task_begin, 2);  // entries come back whole, for relabelling
  EXPECT_EQ(removed[0].task_end, 4);

  const std::string q = r.soft + "/quarantine/";
  for (const char* name : {"truncated.h5", "flipped.h5", "foreign.h5", "rows.h5"}) {
    EXPECT_TRUE(path_exists(q + name)) << name;
    EXPECT_FALSE(path_exists(r.soft + "/" + name)) << name;
    ASSERT_TRUE(path_exists(q + name + ".reason.txt")) << name;
  }
  EXPECT_NE(reason_of(q + "truncated.h5").find("sha256"), std::string::npos);
  EXPECT_NE(reason_of(q + "flipped.h5").find("sha256"), std::string::npos);
  EXPECT_NE(reason_of(q + "foreign.h5").find("teacher"), std::string::npos);
  EXPECT_NE(reason_of(q + "rows.h5").find("rows"), std::string::npos);
  EXPECT_FALSE(path_exists(q + "missing.h5"));
  EXPECT_TRUE(path_exists(r.soft + "/good0.h5"));

  // Saved and verified again: nothing more to do.
  save_manifest(r.tmp.path + "/manifest.json", r.manifest);
  Manifest again = load_manifest(r.tmp.path + "/manifest.json");
  EXPECT_TRUE(verify_or_quarantine(r.soft, again).empty());
  EXPECT_EQ(again.shards.size(), 2u);
}

TEST(Quarantine, UnreadableShardWithMatchingChecksumIsQuarantined) {
  SoftDir r;
  r.add("junk.h5", 0);
  atomic_write_file(r.soft + "/junk.h5", "not hdf5");
  r.manifest.shards[0].sha256 = sha256_file(r.soft + "/junk.h5");
  const auto removed = verify_or_quarantine(r.soft, r.manifest);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_TRUE(r.manifest.shards.empty());
  EXPECT_NE(reason_of(r.soft + "/quarantine/junk.h5").find("unreadable"), std::string::npos);
}

}  // namespace
}  // namespace condenser
