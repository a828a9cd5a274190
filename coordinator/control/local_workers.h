#pragma once
// `condenser run --local-workers N`: N teacher workers as child processes of
// this binary (posix_spawn of /proc/self/exe: never fork a process that runs
// LibTorch/OpenMP threads and keep going in the child, DESIGN.md). The
// destructor SIGKILLs and reaps any child still running.
#include <string>
#include <sys/types.h>
#include <vector>

namespace condenser {

class LocalWorkers {
 public:
  // Starts `count` children running `condenser worker --coordinator ADDRESS
  // --token-file TOKEN --device DEVICE --threads THREADS`.
  LocalWorkers(int count, const std::string& address, const std::string& token_file,
               const std::string& device, int threads);
  ~LocalWorkers();
  LocalWorkers(const LocalWorkers&) = delete;
  LocalWorkers& operator=(const LocalWorkers&) = delete;

  // Reaps children that exited (non-blocking). Returns how many still run.
  int poll();
  // Exit codes of the reaped children that failed (non-zero or killed).
  const std::vector<std::string>& failures() const { return failures_; }
  // Waits up to `seconds` for the children to exit, then SIGKILLs the rest.
  void wait(double seconds);

 private:
  std::vector<pid_t> running_;
  std::vector<std::string> failures_;
};

}  // namespace condenser
