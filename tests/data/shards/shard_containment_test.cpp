// A tampered manifest cannot reach outside the soft_labels directory: entries
// with '..', an absolute path or a symlink leading out are never read,
// quarantined (moved) or verified; `inspect shards` names them and lists
// what quarantine/ holds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/shards/manifest.h"
#include "data/shards/shard_inspect.h"
#include "data/shards/shard_quarantine.h"
#include "data/shards/shard_writer.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

// RUN/soft_labels with one good shard, and the user's files beside RUN.
struct TamperedRun {
  TempDir tmp{"containment"};
  std::string run = tmp.path + "/run", soft = run + "/soft_labels";
  std::string victim = tmp.path + "/victim.txt", victim2 = tmp.path + "/victim2.h5";
  Manifest manifest;
  TamperedRun() {
    ensure_dir(soft);
    atomic_write_file(victim, "the user's");
    atomic_write_file(victim2, "also the user's");
    manifest.teacher_sha256 = std::string(64, 'd');
    manifest.dataset_fingerprint = "fp";
    manifest.num_classes = 4;
    manifest.temperature = 3.0;
    manifest.total_rows = 2;
    ShardMeta meta;
    meta.teacher_sha256 = manifest.teacher_sha256;
    meta.dataset_fingerprint = "fp";
    meta.temperature = 3.0;
    meta.num_classes = 4;
    write_shard(soft + "/shard-000000.h5", meta, {0, 1}, {0, 0}, std::vector<float>(8, 0.25f),
                LogitDType::kFloat32);
    manifest.shards.push_back({"shard-000000.h5", 0, 2, 1, 2, sha256_file(soft + "/shard-000000.h5")});
    EXPECT_EQ(::symlink(victim2.c_str(), (soft + "/link.h5").c_str()), 0);
  }
  // Entries naming the user's files, with checksums that do not match.
  void tamper() {
    for (const std::string& name : {std::string("../../victim.txt"), victim, std::string("link.h5"),
                                    std::string(".."), std::string("sub/../../x")}) {
      manifest.shards.push_back({name, 0, 2, 1, 2, std::string(64, '0')});
    }
    save_manifest(run + "/manifest.json", manifest);
  }
};

TEST(Containment, EntryNamesMustBeShardsInside) {
  TamperedRun r;
  EXPECT_TRUE(is_contained_shard(r.soft, "shard-000000.h5"));
  EXPECT_TRUE(is_contained_shard(r.soft, "not-yet-written.h5"));
  EXPECT_FALSE(is_contained_shard(r.soft, "../../victim.txt"));
  EXPECT_FALSE(is_contained_shard(r.soft, r.victim));
  EXPECT_FALSE(is_contained_shard(r.soft, "link.h5"));
  EXPECT_FALSE(is_contained_shard(r.soft, "sub/x.h5"));
  EXPECT_FALSE(is_contained_shard(r.soft, ""));
}

TEST(Containment, VerifyDropsOutsideEntriesWithoutTouchingThem) {
  TamperedRun r;
  r.tamper();
  Manifest m = load_manifest(r.run + "/manifest.json");
  const std::vector<ManifestEntry> removed = verify_or_quarantine(r.soft, m);
  EXPECT_EQ(removed.size(), 5u);
  ASSERT_EQ(m.shards.size(), 1u);
  EXPECT_EQ(m.shards[0].file, "shard-000000.h5");
  EXPECT_EQ(read_file(r.victim), "the user's");
  EXPECT_EQ(read_file(r.victim2), "also the user's");
  EXPECT_FALSE(path_exists(r.soft + "/quarantine"));  // nothing moved at all
  EXPECT_TRUE(path_exists(r.soft + "/link.h5"));
}

TEST(Containment, QuarantineAndVerifyRefuseOutsidePaths) {
  TamperedRun r;
  EXPECT_THROW(quarantine_shard(r.soft, "../../victim.txt", "x"), UsageError);
  EXPECT_THROW(quarantine_shard(r.soft, r.victim, "x"), UsageError);
  EXPECT_THROW(quarantine_shard(r.soft, "link.h5", "x"), UsageError);
  EXPECT_EQ(read_file(r.victim), "the user's");
  EXPECT_EQ(read_file(r.victim2), "also the user's");
  const ManifestEntry out{"../../victim.txt", 0, 2, 1, 2, sha256_file(r.victim)};
  EXPECT_THROW(verify_shard(r.soft, out), UsageError);  // even with the right hash
}

TEST(Containment, InspectNamesOutsideEntriesAndListsQuarantine) {
  TamperedRun r;
  r.tamper();
  ShardInspection in = inspect_shards(r.run);
  EXPECT_FALSE(in.ok);
  std::string text = format_inspection(in);
  EXPECT_NE(text.find("../../victim.txt: not a shard inside"), std::string::npos) << text;
  EXPECT_NE(text.find("link.h5: not a shard inside"), std::string::npos) << text;
  EXPECT_NE(text.find("quarantine: none"), std::string::npos) << text;
  EXPECT_EQ(read_file(r.victim), "the user's");

  // A damaged shard quarantined by a resume is listed with its reason.
  r.manifest.shards.resize(1);
  r.manifest.shards[0].sha256 = std::string(64, 'f');
  const std::string moved = quarantine_shard(r.soft, "shard-000000.h5", "sha256 mismatch: test");
  r.manifest.shards.clear();
  save_manifest(r.run + "/manifest.json", r.manifest);
  in = inspect_shards(r.run);
  ASSERT_EQ(in.quarantined.size(), 1u);
  EXPECT_EQ(in.quarantined[0].file, "shard-000000.h5");
  EXPECT_EQ(in.quarantined[0].reason, "sha256 mismatch: test");
  text = format_inspection(in);
  EXPECT_NE(text.find("quarantine: 1 file(s) in " + r.soft + "/quarantine"), std::string::npos)
      << text;
  EXPECT_NE(text.find("shard-000000.h5 ("), std::string::npos) << text;
  EXPECT_NE(text.find("): sha256 mismatch: test"), std::string::npos) << text;
}

}  // namespace
}  // namespace condenser
