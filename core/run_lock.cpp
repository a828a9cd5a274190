#include "core/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/errors.h"

namespace condenser {
namespace {

// The pid the holder wrote ("1234\n"); 0 when there is none yet.
long read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  const long pid = std::strtol(buf, nullptr, 10);
  return pid > 0 ? pid : 0;
}

}  // namespace

FileLock::~FileLock() { release(); }

bool FileLock::try_lock(const std::string& path) {
  if (fd_ >= 0) throw RuntimeFailure("lock '" + path + "' taken twice by one owner (a bug)");
  created_ = false;
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    created_ = fd >= 0;
    if (fd < 0 && errno == EEXIST) fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) {
    const int err = errno;
    throw RuntimeFailure("cannot open lock file '" + path + "': " + std::strerror(err));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) holder_ = read_pid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) return false;
    throw RuntimeFailure("cannot lock '" + path + "': " + std::strerror(err));
  }
  fd_ = fd;
  holder_ = static_cast<long>(::getpid());
  const std::string pid = std::to_string(holder_) + "\n";
  // Best effort: the lock holds even if the pid cannot be written (full disk).
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd_, pid.data(), pid.size(), 0);
  }
  return true;
}

void FileLock::release() {
  if (fd_ < 0) return;
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace condenser
