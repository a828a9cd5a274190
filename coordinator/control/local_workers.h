#pragma once
// `condenser run --local-workers N`: N teacher workers as child processes of
// this binary (posix_spawn of /proc/self/exe: never fork a process that runs
// LibTorch/OpenMP threads and keep going in the child, DESIGN.md). The
// destructor SIGKILLs and reaps any child still running.
//
// A child inherits nothing but stdin/stdout/stderr (every other descriptor is
// closed at spawn: the coordinator's listening sockets, the run directory's
// lock, open files), and it is bound to this process (core/stop_signals.h:
// it dies with it, and leaves the terminal's Ctrl-C to it). A child that
// crashes while there is work is started again, at most `max_restarts`
// times per worker, each restart logged. Construct it on the thread that
// lives as long as the job (the main one): a child's parent-death signal
// follows the thread that started it.
#include <string>
#include <sys/types.h>
#include <vector>

namespace condenser {

class LocalWorkers {
 public:
  static constexpr int kDefaultMaxRestarts = 3;

  // Starts `count` children running `condenser worker --coordinator ADDRESS
  // --token-file TOKEN --device DEVICE --threads THREADS --name local-I`.
  LocalWorkers(int count, const std::string& address, const std::string& token_file,
               const std::string& device, int threads, int max_restarts = kDefaultMaxRestarts);
  ~LocalWorkers();
  LocalWorkers(const LocalWorkers&) = delete;
  LocalWorkers& operator=(const LocalWorkers&) = delete;

  // Reaps children that exited (non-blocking). With `restart`, a child that
  // failed (killed, or a non-zero exit other than 2, a usage error that would
  // only repeat) is started again while it has restarts left. Returns how
  // many still run.
  int poll(bool restart = false);
  // Why reaped children failed ("local worker local-0 (pid 12) killed by
  // signal 9"), oldest first; restarted ones included.
  const std::vector<std::string>& failures() const { return failures_; }
  // Whether the newest failure was an exit with 2: the worker refused its
  // task for a usage error (its own error line names it), never restarted.
  bool last_failure_was_usage() const { return last_failure_was_usage_; }
  // Waits up to `seconds` for the children to exit, then SIGKILLs the rest.
  void wait(double seconds);
  // The pids of the running children (for tests and logs).
  std::vector<pid_t> pids() const;

 private:
  struct Child {
    std::vector<std::string> args;
    pid_t pid = 0;  // 0: not running
    int restarts = 0;
  };
  void spawn(Child& child);
  void stop_all();  // SIGKILLs and reaps every running child

  std::vector<Child> children_;
  int max_restarts_;
  std::vector<std::string> failures_;
  bool last_failure_was_usage_ = false;
};

}  // namespace condenser
