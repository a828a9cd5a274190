// A local worker's binding to its job: without the
// variable nothing changes; with its parent's pid it ignores SIGINT (the
// job handles the terminal's Ctrl-C) and asks for SIGKILL at the parent's
// death; started by a parent that is gone already, it exits at once.
#include "core/stop_signals.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

namespace condenser {
namespace {

TEST(StopSignals, NotALocalWorkerWithoutTheVariable) {
  ::unsetenv(kLocalWorkerParentEnv);
  EXPECT_FALSE(bind_to_parent_process());
}

TEST(StopSignals, LocalWorkerIgnoresSigintAndDiesWithItsParent) {
  EXPECT_EXIT(
      {
        ::setenv(kLocalWorkerParentEnv, std::to_string(::getppid()).c_str(), 1);
        if (!bind_to_parent_process()) std::_Exit(3);
        int death = 0;
        ::prctl(PR_GET_PDEATHSIG, &death);
        if (death != SIGKILL) std::_Exit(4);
        ::raise(SIGINT);  // ignored: the job decides
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(StopSignals, LocalWorkerOfAGoneParentExitsAtOnce) {
  EXPECT_EXIT(
      {
        ::setenv(kLocalWorkerParentEnv, "999999999", 1);
        bind_to_parent_process();
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(1), "the job that started it is gone");
}

}  // namespace
}  // namespace condenser
