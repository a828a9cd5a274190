#include "core/files.h"

#include <ftw.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "core/errors.h"

namespace condenser {
namespace {

// The cause, and for a full or read-only disk what to do about it.
std::string sys_error(const std::string& what, const std::string& path, int err) {
  std::string message = what + " '" + path + "': " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) {
    message += "; free space on that disk (or use another --run-dir) and run again";
  } else if (err == EROFS) {
    message += "; the file system is read-only: use a writable --run-dir";
  }
  return message;
}

// Closes the fd on scope exit (set fd = -1 to take over closing).
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void fsync_path(const std::string& path, int flags, const char* what) {
  Fd f;
  f.fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (f.fd < 0)
    throw RuntimeFailure(sys_error(std::string("cannot open for ") + what, path, errno));
  if (::fsync(f.fd) != 0) throw RuntimeFailure(sys_error(what, path, errno));
}

}  // namespace

void ensure_dir(const std::string& path) {
  if (path.empty()) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      throw RuntimeFailure("cannot create directory '" + path + "': a non-directory exists there");
    }
    return;
  }
  const std::string parent = parent_dir(path);
  if (parent != path && parent != "." && parent != "/") ensure_dir(parent);
  // EEXIST: another process created it between stat and mkdir, which is fine.
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    throw RuntimeFailure(sys_error("cannot create directory", path, errno));
  }
}

void fsync_file(const std::string& path) { fsync_path(path, O_RDONLY, "fsync"); }

void fsync_dir(const std::string& path) { fsync_path(path, O_RDONLY | O_DIRECTORY, "fsync dir"); }

std::string parent_dir(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const auto slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

void write_file_synced(const std::string& path, const std::string& content, int mode) {
  // Whatever fails, the partial file is removed: a full disk leaves no torn file.
  const auto fail = [&path](const char* what, int err) {
    ::unlink(path.c_str());
    throw RuntimeFailure(sys_error(what, path, err));
  };
  Fd f;
  f.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (f.fd < 0) throw RuntimeFailure(sys_error("cannot create", path, errno));
  // open() applies the umask; set the exact mode (e.g. 0600 for job.token).
  if (::fchmod(f.fd, static_cast<mode_t>(mode)) != 0) fail("cannot chmod", errno);
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(f.fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write", errno);
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(f.fd) != 0) fail("cannot fsync", errno);
  const int fd = f.fd;
  f.fd = -1;
  if (::close(fd) != 0) fail("cannot close", errno);
}

void atomic_write_file(const std::string& path, const std::string& content, int mode) {
  const std::string tmp = path + ".tmp";
  write_file_synced(tmp, content, mode);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw RuntimeFailure(sys_error("cannot rename '" + tmp + "' to", path, err));
  }
  fsync_dir(parent_dir(path));
}

std::string read_file(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw UsageError(sys_error("cannot read", path, errno));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EISDIR) throw UsageError(sys_error("cannot read", path, errno));
    if (n < 0) throw RuntimeFailure(sys_error("read error in", path, errno));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::optional<std::string> resolved_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

std::string absolute_path(const std::string& path) { return resolved_path(path).value_or(path); }

void remove_tree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

}  // namespace condenser
