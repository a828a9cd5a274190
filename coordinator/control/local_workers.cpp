#include "coordinator/control/local_workers.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/errors.h"
#include "core/log.h"

extern char** environ;

namespace condenser {

LocalWorkers::LocalWorkers(int count, const std::string& address, const std::string& token_file,
                           const std::string& device, int threads) {
  for (int i = 0; i < count; ++i) {
    std::vector<std::string> args = {"condenser",   "worker",         "--coordinator", address,
                                     "--token-file", token_file,      "--device",      device,
                                     "--threads",    std::to_string(threads),
                                     "--name",       "local-" + std::to_string(i)};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ);
    if (rc != 0) {
      throw RuntimeFailure("cannot start a local worker (posix_spawn /proc/self/exe): " +
                           std::string(std::strerror(rc)));
    }
    running_.push_back(pid);
  }
}

LocalWorkers::~LocalWorkers() {
  for (pid_t pid : running_) ::kill(pid, SIGKILL);
  for (pid_t pid : running_) ::waitpid(pid, nullptr, 0);
}

int LocalWorkers::poll() {
  for (size_t i = running_.size(); i-- > 0;) {
    int status = 0;
    if (::waitpid(running_[i], &status, WNOHANG) != running_[i]) continue;
    const pid_t pid = running_[i];
    running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
    const std::string why = WIFEXITED(status)
                                ? "exited with " + std::to_string(WEXITSTATUS(status))
                                : "killed by signal " + std::to_string(WTERMSIG(status));
    failures_.push_back("local worker " + std::to_string(pid) + " " + why);
    log_warn("coordinator: ", failures_.back());
  }
  return static_cast<int>(running_.size());
}

void LocalWorkers::wait(double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (poll() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (pid_t pid : running_) ::kill(pid, SIGKILL);
  poll();
}

}  // namespace condenser
