#include "core/bounded_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace condenser {
namespace {

// Closes the descriptor on every path out of read_file_at_most.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string kind_of_file(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISFIFO(mode)) return "a pipe (FIFO)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string too_large(const std::string& what, const std::string& path, std::uint64_t max_bytes) {
  return what + " '" + path + "' is larger than " + format_byte_limit(max_bytes) +
         "; this is not a file condenser wrote or expects, check the path";
}

}  // namespace

std::string format_byte_limit(std::uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::string read_file_at_most(const std::string& path, std::uint64_t max_bytes,
                              const std::string& what) {
  // O_NONBLOCK: opening a FIFO with no writer must not hang before fstat
  // says what it is.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) throw UsageError(what + " '" + path + "' not found");
    throw UsageError(what + " '" + path + "' cannot be opened: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw UsageError(what + " '" + path + "' is " + kind_of_file(st.st_mode) +
                     ", not a regular file; pass a file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    throw UsageError(too_large(what, path, max_bytes));
  }
  std::string text;
  text.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      throw UsageError(what + " '" + path + "' cannot be read: " + std::strerror(errno));
    }
    if (got == 0) break;
    // The file may grow after fstat (or lie about its size, as /proc files do).
    if (text.size() + static_cast<std::uint64_t>(got) > max_bytes) {
      throw UsageError(too_large(what, path, max_bytes));
    }
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

}  // namespace condenser
