// The run directory: which folders a job may take (check_run_dir), the
// marker and lock of a claim, and that a refused claim leaves no trace.
#include "config/run_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "core/errors.h"
#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

// The UsageError message of `f`, "" when it throws none.
template <typename F>
std::string usage_error(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(RunDir, RunNamesAreOneFolderOfPrintableUtf8) {
  check_run_name("quick");
  check_run_name("résumé-2");
  for (const std::string bad : {"", ".", "..", "../../x", "a/b", "/abs", "bad\xff", "new\nline"}) {
    EXPECT_TRUE(contains(usage_error([&] { check_run_name(bad); }), "cannot name a run directory"))
        << bad;
  }
  EXPECT_TRUE(contains(usage_error([] { check_run_name("bad\xff"); }), "bad\\xFF"));
}

TEST(RunDir, RefusesRootHomeFilesAndNonUtf8) {
  TempDir tmp{"rundir"};
  EXPECT_TRUE(contains(usage_error([] { check_run_dir("/"); }), "file system root"));
  EXPECT_TRUE(contains(usage_error([] { check_run_dir("/tmp/../"); }), "file system root"));
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  ::setenv("HOME", tmp.path.c_str(), 1);
  const std::string home = usage_error([&] { check_run_dir(tmp.path + "/."); });
  if (old_home) ::setenv("HOME", saved.c_str(), 1); else ::unsetenv("HOME");
  EXPECT_TRUE(contains(home, "home directory")) << home;
  atomic_write_file(tmp.path + "/file", "x");
  EXPECT_TRUE(contains(usage_error([&] { check_run_dir(tmp.path + "/file"); }), "not a folder"));
  EXPECT_TRUE(contains(usage_error([&] { check_run_dir(tmp.path + "/run\xfe"); }),
                       "not printable UTF-8"));
  EXPECT_TRUE(contains(usage_error([] { check_run_dir(""); }), "empty"));
}

TEST(RunDir, NonEmptyFolderNeedsTheMarker) {
  TempDir tmp{"rundir"};
  const std::string p = tmp.path + "/p";
  check_run_dir(p);  // missing: fine
  ensure_dir(p);
  check_run_dir(p);  // empty: fine
  ensure_dir(p + "/checkpoints");
  atomic_write_file(p + "/checkpoints/epoch-100.ckpt", "x");
  const std::string msg = usage_error([&] { check_run_dir(p); });
  EXPECT_TRUE(contains(msg, "not a condenser run directory")) << msg;
  EXPECT_TRUE(contains(msg, p + "/.condenser-run")) << msg;
  atomic_write_file(p + "/.condenser-run", "x");
  check_run_dir(p);
}

TEST(RunDir, ClaimMarksLocksAndCommitKeeps) {
  TempDir tmp{"rundir"};
  const std::string p = tmp.path + "/runs/a";
  {
    RunDirClaim claim(p);
    const RunPaths& paths = claim.paths();
    EXPECT_TRUE(path_exists(paths.marker));
    EXPECT_EQ(read_file(paths.lock), std::to_string(::getpid()) + "\n");
    const std::string msg = usage_error([&] { RunDirClaim second(p); });
    EXPECT_TRUE(contains(msg, "in use by another condenser job (pid " +
                                  std::to_string(::getpid()) + ")")) << msg;
    claim.track_file(paths.metrics);
    atomic_write_file(paths.metrics, "");
    claim.commit(Config{});
  }
  EXPECT_TRUE(path_exists(p + "/.condenser-run"));
  EXPECT_TRUE(path_exists(p + "/metrics.jsonl"));
  EXPECT_TRUE(path_exists(p + "/config.resolved.yaml"));
  EXPECT_TRUE(path_exists(p + "/soft_labels"));
  EXPECT_TRUE(path_exists(p + "/models"));
  RunDirClaim again(p);  // released with the first claim
}

TEST(RunDir, UncommittedClaimRemovesOnlyWhatItMade) {
  TempDir tmp{"rundir"};
  const std::string p = tmp.path + "/new/deeper/run";
  {
    RunDirClaim claim(p);
    claim.track_file(claim.paths().metrics);
    atomic_write_file(claim.paths().metrics, "{}\n");
  }
  EXPECT_FALSE(path_exists(tmp.path + "/new"));  // every folder it made, gone
  // A marked run directory with files of its own: a refused job leaves them all.
  const std::string q = tmp.path + "/old";
  {
    RunDirClaim first(q);
    atomic_write_file(first.paths().metrics, "old\n");
    first.commit(Config{});
  }
  const std::string config_before = read_file(q + "/config.resolved.yaml");
  {
    RunDirClaim claim(q);
    claim.track_file(claim.paths().metrics);
  }
  EXPECT_EQ(read_file(q + "/metrics.jsonl"), "old\n");
  EXPECT_EQ(read_file(q + "/config.resolved.yaml"), config_before);
  EXPECT_TRUE(path_exists(q + "/.condenser-run"));
  EXPECT_TRUE(path_exists(q + "/job.lock"));
}

TEST(RunDir, RefusedClaimCreatesNothing) {
  TempDir tmp{"rundir"};
  const std::string p = tmp.path + "/p";
  ensure_dir(p);
  atomic_write_file(p + "/precious.txt", "mine");
  EXPECT_THROW(RunDirClaim claim(p), UsageError);
  EXPECT_FALSE(path_exists(p + "/.condenser-run"));
  EXPECT_FALSE(path_exists(p + "/job.lock"));
  EXPECT_EQ(read_file(p + "/precious.txt"), "mine");
  // An empty folder a user made is adopted; a refusal later gives it back empty.
  const std::string e = tmp.path + "/empty";
  ensure_dir(e);
  { RunDirClaim claim(e); }
  EXPECT_TRUE(path_exists(e));
  EXPECT_FALSE(path_exists(e + "/.condenser-run"));
  EXPECT_FALSE(path_exists(e + "/job.lock"));
}

}  // namespace
}  // namespace condenser
