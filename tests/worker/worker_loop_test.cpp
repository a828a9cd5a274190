// `condenser worker` against coordinators that never answer: it
// gives up after --give-up-after even when the port accepts (it reconnected
// forever to a listening socket it had inherited), and refuses an empty
// token file before connecting.
#include "worker/worker_loop.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "core/errors.h"
#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A listening socket on a free loopback port that never accepts or answers.
struct MuteListener {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  MuteListener() {
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof at;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&at), size), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &size);
    port = ntohs(at.sin_port);
  }
  ~MuteListener() { ::close(fd); }
};

WorkerOptions options_for(int port) {
  WorkerOptions o;
  o.coordinator = "127.0.0.1:" + std::to_string(port);
  o.token = std::string(64, 'a');
  o.give_up_after = milliseconds(1500);
  return o;
}

TEST(WorkerLoop, GivesUpOnAPortThatAcceptsButNeverAnswers) {
  MuteListener mute;
  const auto start = Clock::now();
  try {
    run_worker(options_for(mute.port));
    FAIL() << "the worker did not give up";
  } catch (const RuntimeFailure& e) {
    EXPECT_NE(std::string(e.what()).find("gave up on coordinator"), std::string::npos) << e.what();
  }
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(8));
}

TEST(WorkerLoop, GivesUpOnAClosedPort) {
  int port = 0;
  {
    MuteListener gone;
    port = gone.port;
  }
  const auto start = Clock::now();
  EXPECT_THROW(run_worker(options_for(port)), RuntimeFailure);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(8));
}

TEST(WorkerLoop, EmptyTokenFileIsAUsageErrorBeforeConnecting) {
  testing_util::TempDir dir("worker");
  const std::string token = dir.path + "/job.token";
  atomic_write_file(token, "", 0600);
  WorkerOptions o = options_for(9);
  o.token.clear();
  o.token_file = token;
  try {
    run_worker(o);
    FAIL() << "an empty token file was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("is empty"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace condenser
