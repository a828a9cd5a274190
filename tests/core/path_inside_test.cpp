// Containment of paths read from run-directory files: names, '..',
// absolute paths and symlinks that lead out are refused.
#include "core/path_inside.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "core/errors.h"
#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

TEST(PathInside, SingleComponent) {
  EXPECT_TRUE(is_single_component("shard-000001.h5"));
  EXPECT_TRUE(is_single_component("..x"));
  EXPECT_FALSE(is_single_component(""));
  EXPECT_FALSE(is_single_component("."));
  EXPECT_FALSE(is_single_component(".."));
  EXPECT_FALSE(is_single_component("a/b"));
  EXPECT_FALSE(is_single_component("/abs"));
  EXPECT_FALSE(is_single_component("../../x"));
  EXPECT_FALSE(is_single_component(std::string("a\0b", 3)));
}

TEST(PathInside, PlainAndNotYetExistingPathsAreInside) {
  TempDir tmp{"inside"};
  atomic_write_file(tmp.path + "/a.h5", "x");
  EXPECT_TRUE(resolves_inside(tmp.path, "a.h5"));
  EXPECT_TRUE(resolves_inside(tmp.path, "missing.h5"));
  EXPECT_TRUE(resolves_inside(tmp.path, "sub/dir/new.h5"));
  EXPECT_TRUE(resolves_inside(tmp.path + "/", "a.h5"));
  EXPECT_EQ(path_inside(tmp.path, "a.h5", "test entry"), tmp.path + "/a.h5");
}

TEST(PathInside, DotDotAbsoluteAndEmptyAreOutside) {
  TempDir tmp{"inside"};
  ensure_dir(tmp.path + "/run/soft_labels");
  atomic_write_file(tmp.path + "/victim.txt", "mine");
  const std::string soft = tmp.path + "/run/soft_labels";
  EXPECT_FALSE(resolves_inside(soft, "../../victim.txt"));
  EXPECT_FALSE(resolves_inside(soft, "a/../b"));  // even when it would stay inside
  EXPECT_FALSE(resolves_inside(soft, ".."));
  EXPECT_FALSE(resolves_inside(soft, tmp.path + "/victim.txt"));
  EXPECT_FALSE(resolves_inside(soft, ""));
  EXPECT_FALSE(resolves_inside(tmp.path + "/no_such_root", "a"));
  try {
    path_inside(soft, "../../victim.txt", "manifest 'm.json' entry");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("manifest 'm.json' entry '../../victim.txt' leads outside"),
              std::string::npos) << msg;
  }
}

TEST(PathInside, SymlinksLeadingOutAreOutside) {
  TempDir tmp{"inside"};
  const std::string run = tmp.path + "/run";
  ensure_dir(run + "/sub");
  atomic_write_file(tmp.path + "/victim.txt", "mine");
  atomic_write_file(run + "/own.h5", "x");
  ASSERT_EQ(::symlink((tmp.path + "/victim.txt").c_str(), (run + "/out.h5").c_str()), 0);
  ASSERT_EQ(::symlink(tmp.path.c_str(), (run + "/outdir").c_str()), 0);
  ASSERT_EQ(::symlink((tmp.path + "/gone").c_str(), (run + "/dangling.h5").c_str()), 0);
  ASSERT_EQ(::symlink("own.h5", (run + "/in.h5").c_str()), 0);
  ASSERT_EQ(::symlink("sub", (run + "/indir").c_str()), 0);
  EXPECT_FALSE(resolves_inside(run, "out.h5"));
  EXPECT_FALSE(resolves_inside(run, "outdir/victim.txt"));
  EXPECT_FALSE(resolves_inside(run, "outdir/new.txt"));  // would be created outside
  EXPECT_FALSE(resolves_inside(run, "dangling.h5"));
  EXPECT_TRUE(resolves_inside(run, "in.h5"));
  EXPECT_TRUE(resolves_inside(run, "indir/new.h5"));
}

TEST(PathInside, RootThatIsASymlinkIsResolvedToo) {
  TempDir tmp{"inside"};
  ensure_dir(tmp.path + "/real");
  ASSERT_EQ(::symlink((tmp.path + "/real").c_str(), (tmp.path + "/link").c_str()), 0);
  atomic_write_file(tmp.path + "/real/a.h5", "x");
  EXPECT_TRUE(resolves_inside(tmp.path + "/link", "a.h5"));
}

}  // namespace
}  // namespace condenser
