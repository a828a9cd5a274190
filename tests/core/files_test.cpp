// Durable file helpers: atomic replace, modes, directories, error messages.
#include "core/files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/errors.h"
#include "tests/common/file_size_limit.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

// A fresh directory, removed with everything in it when the test ends.
using testing_util::TempDir;

int mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(Files, AtomicWriteReplacesAndLeavesNoTmp) {
  TempDir tmp;
  const std::string dir = tmp.path;
  const std::string path = dir + "/a.json";
  atomic_write_file(path, "first");
  EXPECT_EQ(read_file(path), "first");
  atomic_write_file(path, std::string("second\0with nul", 15));
  EXPECT_EQ(read_file(path), std::string("second\0with nul", 15));
  EXPECT_FALSE(path_exists(path + ".tmp"));
  EXPECT_EQ(mode_of(path), 0644);
  atomic_write_file(dir + "/token", "secret", 0600);
  EXPECT_EQ(mode_of(dir + "/token"), 0600);
  fsync_file(path);
  fsync_dir(dir);
}

TEST(Files, ReadMissingFileIsUsageErrorNamingPath) {
  TempDir tmp;
  const std::string path = tmp.path + "/nope.txt";
  try {
    read_file(path);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

TEST(Files, EnsureDirCreatesParentsAndIsIdempotent) {
  TempDir tmp;
  const std::string dir = tmp.path;
  const std::string deep = dir + "/a/b/c/";
  ensure_dir(deep);
  ensure_dir(deep);
  atomic_write_file(dir + "/a/b/c/x", "x");
  EXPECT_EQ(read_file(dir + "/a/b/c/x"), "x");
  // A file where a directory should be is an error naming the path.
  EXPECT_THROW(ensure_dir(dir + "/a/b/c/x"), RuntimeFailure);
}

TEST(Files, WriteIntoMissingDirFailsWithPath) {
  TempDir tmp;
  const std::string path = tmp.path + "/missing/out.txt";
  try {
    atomic_write_file(path, "x");
    FAIL() << "expected RuntimeFailure";
  } catch (const RuntimeFailure& e) {
    EXPECT_NE(std::string(e.what()).find(path + ".tmp"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fsync_file(path), RuntimeFailure);
}

TEST(Files, AbsolutePathResolvesThroughLinksAndKeepsWhatCannotBe) {
  TempDir dir("files");
  ensure_dir(dir.path + "/real");
  ASSERT_EQ(::symlink((dir.path + "/real").c_str(), (dir.path + "/link").c_str()), 0);
  const std::string real = absolute_path(dir.path + "/real");
  EXPECT_EQ(real.front(), '/');
  EXPECT_EQ(absolute_path(dir.path + "/link/../link"), real);
  EXPECT_EQ(absolute_path(dir.path + "/missing"), dir.path + "/missing");
}

TEST(Files, ParentDir) {
  EXPECT_EQ(parent_dir("a/b/c"), "a/b");
  EXPECT_EQ(parent_dir("a/b/"), "a");
  EXPECT_EQ(parent_dir("file"), ".");
  EXPECT_EQ(parent_dir("/file"), "/");
}

}  // namespace
}  // namespace condenser

namespace condenser {
namespace {

TEST(Files, RemoveTreeDeletesNestedDirectoriesAndIgnoresAbsentPaths) {
  testing_util::TempDir tmp("remove_tree");
  tmp.keep = true;  // remove_tree itself is under test
  ensure_dir(tmp.path + "/a/b/c");
  atomic_write_file(tmp.path + "/a/b/c/file.txt", "x");
  atomic_write_file(tmp.path + "/a/top.txt", "y");
  remove_tree(tmp.path);
  EXPECT_FALSE(path_exists(tmp.path));
  EXPECT_NO_THROW(remove_tree(tmp.path));  // absent: nothing to do
}

}  // namespace
}  // namespace condenser

namespace condenser {
namespace {

// A write that fails midway (here EFBIG; ENOSPC takes the same path) names
// the file and its cause, and leaves no partial file behind.
TEST(Files, FailedWriteNamesTheCauseAndLeavesNoPartialFile) {
  TempDir tmp;
  const std::string big(64 * 1024, 'x');
  {
    testing_util::FileSizeLimit limit(4096);
    try {
      atomic_write_file(tmp.path + "/big.json", big);
      ADD_FAILURE() << "a write past the file size limit succeeded";
    } catch (const RuntimeFailure& e) {
      EXPECT_NE(std::string(e.what()).find("big.json.tmp"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("File too large"), std::string::npos) << e.what();
    }
    EXPECT_THROW(write_file_synced(tmp.path + "/part", big), RuntimeFailure);
  }
  EXPECT_FALSE(path_exists(tmp.path + "/big.json.tmp"));
  EXPECT_FALSE(path_exists(tmp.path + "/big.json"));
  EXPECT_FALSE(path_exists(tmp.path + "/part"));
  write_file_synced(tmp.path + "/part", big, 0600);  // and works again without the limit
  EXPECT_EQ(read_file(tmp.path + "/part"), big);
  EXPECT_EQ(mode_of(tmp.path + "/part"), 0600);
}

}  // namespace
}  // namespace condenser
