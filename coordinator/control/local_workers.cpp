#include "coordinator/control/local_workers.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/errors.h"
#include "core/log.h"
#include "core/stop_signals.h"

extern char** environ;

namespace condenser {
namespace {

// This process's environment, plus the variable that binds a child to it.
std::vector<std::string> child_environment() {
  const std::string key = std::string(kLocalWorkerParentEnv) + "=";
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, key.c_str(), key.size()) != 0) env.emplace_back(*e);
  }
  env.push_back(key + std::to_string(::getpid()));
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Spawn attributes: default stop signals and an empty mask in the child, and
// only descriptors 0-2 kept (a listening socket or the run-dir lock held by an
// orphaned worker would outlive the job).
struct SpawnSetup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

std::string exit_text(int status) {
  return WIFEXITED(status) ? "exited with " + std::to_string(WEXITSTATUS(status))
                           : "killed by signal " + std::to_string(WTERMSIG(status));
}

}  // namespace

LocalWorkers::LocalWorkers(int count, const std::string& address, const std::string& token_file,
                           const std::string& device, int threads, int max_restarts)
    : max_restarts_(max_restarts) {
  children_.resize(static_cast<size_t>(std::max(0, count)));
  try {
    for (size_t i = 0; i < children_.size(); ++i) {
      children_[i].args = {"condenser",   "worker",    "--coordinator", address,
                           "--token-file", token_file, "--device",      device,
                           "--threads",    std::to_string(threads),
                           "--name",       "local-" + std::to_string(i)};
      spawn(children_[i]);
    }
  } catch (...) {
    stop_all();  // no destructor runs for a half-built object
    throw;
  }
}

void LocalWorkers::stop_all() {
  for (const Child& c : children_) {
    if (c.pid > 0) ::kill(c.pid, SIGKILL);
  }
  for (Child& c : children_) {
    if (c.pid > 0) ::waitpid(c.pid, nullptr, 0);
    c.pid = 0;
  }
}

LocalWorkers::~LocalWorkers() { stop_all(); }

void LocalWorkers::spawn(Child& child) {
  static const SpawnSetup setup;
  std::vector<std::string> env = child_environment();
  std::vector<char*> argv = pointers(child.args), envp = pointers(env);
  pid_t pid = 0;
  const int rc =
      ::posix_spawn(&pid, "/proc/self/exe", &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) {
    throw RuntimeFailure("cannot start a local worker (posix_spawn /proc/self/exe): " +
                         std::string(std::strerror(rc)));
  }
  child.pid = pid;
}

int LocalWorkers::poll(bool restart) {
  int running = 0;
  for (Child& c : children_) {
    int status = 0;
    if (c.pid > 0 && ::waitpid(c.pid, &status, WNOHANG) == c.pid) {
      const pid_t pid = c.pid;
      c.pid = 0;
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        const std::string& name = c.args.back();
        failures_.push_back("local worker " + name + " (pid " + std::to_string(pid) + ") " +
                            exit_text(status));
        const bool usage = WIFEXITED(status) && WEXITSTATUS(status) == 2;
        last_failure_was_usage_ = usage;
        if (restart && !usage && c.restarts < max_restarts_) {
          ++c.restarts;
          log_warn("coordinator: ", failures_.back(), "; starting it again (restart ", c.restarts,
                   " of ", max_restarts_, ")");
          spawn(c);
        } else {
          log_warn("coordinator: ", failures_.back());
        }
      }
    }
    running += c.pid > 0 ? 1 : 0;
  }
  return running;
}

std::vector<pid_t> LocalWorkers::pids() const {
  std::vector<pid_t> out;
  for (const Child& c : children_) {
    if (c.pid > 0) out.push_back(c.pid);
  }
  return out;
}

void LocalWorkers::wait(double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (poll() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const Child& c : children_) {
    if (c.pid > 0) ::kill(c.pid, SIGKILL);
  }
  poll();
}

}  // namespace condenser
