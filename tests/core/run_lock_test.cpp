// The run directory's lock: one holder at a time, its pid readable by the
// refused one, released with the object, never inherited across exec.
#include "core/run_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

TEST(FileLock, SecondTakerIsRefusedAndToldTheHoldersPid) {
  TempDir tmp{"lock"};
  const std::string path = tmp.path + "/job.lock";
  FileLock first;
  ASSERT_TRUE(first.try_lock(path));
  EXPECT_TRUE(first.held());
  EXPECT_TRUE(first.created_file());
  EXPECT_EQ(first.holder(), static_cast<long>(::getpid()));
  EXPECT_EQ(read_file(path), std::to_string(::getpid()) + "\n");
  FileLock second;  // another open file description: flock refuses it as another process
  EXPECT_FALSE(second.try_lock(path));
  EXPECT_FALSE(second.held());
  EXPECT_EQ(second.holder(), static_cast<long>(::getpid()));
  first.release();
  ASSERT_TRUE(second.try_lock(path));
  EXPECT_FALSE(second.created_file());
}

TEST(FileLock, ReleasedWhenDestroyedAndFileKept) {
  TempDir tmp{"lock"};
  const std::string path = tmp.path + "/job.lock";
  {
    FileLock lock;
    ASSERT_TRUE(lock.try_lock(path));
  }
  EXPECT_TRUE(path_exists(path));
  FileLock again;
  EXPECT_TRUE(again.try_lock(path));
}

// A child process (a local worker) must not keep the lock: after exec it
// holds no descriptor of it, so the lock ends with the parent.
TEST(FileLock, NotInheritedAcrossExec) {
  TempDir tmp{"lock"};
  const std::string path = tmp.path + "/job.lock";
  const std::string fds = tmp.path + "/fds";
  FileLock lock;
  ASSERT_TRUE(lock.try_lock(path));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string cmd = "ls -l /proc/self/fd > '" + fds + "'";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(read_file(fds).find("job.lock"), std::string::npos) << read_file(fds);
}

TEST(FileLock, RefusesASymlinkedLockFile) {
  TempDir tmp{"lock"};
  atomic_write_file(tmp.path + "/elsewhere", "x");
  ASSERT_EQ(::symlink((tmp.path + "/elsewhere").c_str(), (tmp.path + "/job.lock").c_str()), 0);
  FileLock lock;
  EXPECT_ANY_THROW(lock.try_lock(tmp.path + "/job.lock"));
  EXPECT_EQ(read_file(tmp.path + "/elsewhere"), "x");
}

}  // namespace
}  // namespace condenser
