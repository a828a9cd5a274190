#pragma once
// Makes this process's writes fail past `bytes` (RLIMIT_FSIZE: write()
// returns EFBIG, SIGXFSZ ignored) for one test: a full disk without a mount.
#include <signal.h>
#include <sys/resource.h>

namespace condenser::testing_util {

struct FileSizeLimit {
  rlimit saved{};
  struct sigaction old_action {};
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &ignore, &old_action);
    rlimit limit = saved;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved);
    sigaction(SIGXFSZ, &old_action, nullptr);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
};

}  // namespace condenser::testing_util
