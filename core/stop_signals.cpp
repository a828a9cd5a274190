#include "core/stop_signals.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string>
#include <initializer_list>

namespace condenser {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_interrupts{0};

void on_signal(int sig) {
  if (sig == SIGINT && g_interrupts.fetch_add(1) >= 1) {
    static const char message[] = "\ncondenser: second interrupt, exiting now\n";
    (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(130);
  }
  g_stop = true;
}

}  // namespace

void install_stop_signals() {
  struct sigaction action = {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) sigaction(sig, &action, nullptr);
}

bool stop_requested() { return g_stop; }

bool bind_to_parent_process() {
  const char* parent = std::getenv(kLocalWorkerParentEnv);
  if (parent == nullptr || *parent == '\0') return false;
  ::signal(SIGINT, SIG_IGN);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died before prctl: then we were re-parented already.
  if (std::to_string(::getppid()) != parent) {
    static const char message[] = "condenser: worker: the job that started it is gone; exiting\n";
    (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(1);
  }
  return true;
}

}  // namespace condenser
