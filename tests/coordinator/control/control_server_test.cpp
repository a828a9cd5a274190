// The Asio layer on real loopback sockets: a worker's conversation through
// FrameClient, a byte-trickling client dropped by the read deadline while
// others are served, a garbage client dropped at once, HTTP, bad listen
// addresses, and an IPv6 listener (bracketed address).
#include "coordinator/control/control_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "protocol/address.h"
#include "protocol/frame_client.h"
#include "tests/coordinator/control/control_test_util.h"

namespace condenser {
namespace {

using std::chrono::milliseconds;

using testing_util::kToken;

using testing_util::NoEffects;

int connect_raw(const std::string& address) {
  const HostPort at = parse_host_port(address, "test");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(at.port));
  inet_pton(AF_INET, at.host.c_str(), &to.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  return fd;
}

// True when the peer closes `fd` within `ms` (reads and drops any bytes).
bool closed_within(int fd, int ms) {
  const auto end = std::chrono::steady_clock::now() + milliseconds(ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) == 1) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
  }
  return false;
}

struct ServerTest : ::testing::Test {
  TaskTable table{{{0, 4, "shard-000000.h5"}, {4, 8, "shard-000001.h5"}}, std::chrono::seconds(30)};
  NoEffects fx;
  ControlHandler handler{table, kToken, LabelSpec{}, fx, HandlerOptions{}};
  std::unique_ptr<ControlServer> server;

  void SetUp() override {
    ServerOptions o;
    o.read_timeout = milliseconds(1000);
    HttpRoutes routes;
    routes.status = [this] { return status_json(handler, StatusInfo{}, 0).dump(); };
    server = std::make_unique<ControlServer>(handler, o, routes);
  }
  HostPort control() const { return parse_host_port(server->control_address(), "test"); }
};

TEST_F(ServerTest, WorkerConversationOverLoopback) {
  FrameClient client;
  client.connect(control(), milliseconds(2000));
  client.send(msg::Hello{kToken, "t", 1});
  EXPECT_EQ(msg::decode<msg::Welcome>(client.receive(milliseconds(2000))).spec.views, 1);
  client.send(msg::GetTask{});
  const msg::Task task = msg::decode<msg::Task>(client.receive(milliseconds(2000)));
  EXPECT_EQ(task.task.file, "shard-000000.h5");
  client.send(msg::TaskDone{task.lease, task.attempt_file, 4, ""});
  EXPECT_TRUE(msg::decode<msg::DoneAck>(client.receive(milliseconds(2000))).committed);
  client.close();
  // The disconnect is seen on the io thread.
  bool leased = true;
  for (int i = 0; i < 100 && leased; ++i) {
    server->run_on_io([&] { leased = table.count(TaskState::kLeased) > 0; });
    std::this_thread::sleep_for(milliseconds(10));
  }
  server->run_on_io([&] { EXPECT_EQ(table.count(TaskState::kDone), 1); });
}

// A local worker inherited the coordinator's listening sockets and
// kept both ports open after the coordinator died. Every listening socket
// and every accepted connection of the server is close-on-exec.
TEST_F(ServerTest, ListeningAndAcceptedSocketsAreCloseOnExec) {
  FrameClient client;
  client.connect(control(), milliseconds(2000));
  client.send(msg::Hello{kToken, "t", 1});
  ASSERT_EQ(client.receive(milliseconds(2000)).type, MessageType::kWelcome);
  const int http = connect_raw(server->http_address());
  std::this_thread::sleep_for(milliseconds(100));  // time to accept it
  // Scan the descriptors with the io thread stopped (its sockets stay open):
  // fstat racing its own close would be a false alarm under TSan.
  const HostPort control_at = control(), http_at = parse_host_port(server->http_address(), "t");
  server->stop();
  int listening = 0, inheritable = 0;
  DIR* fds = ::opendir("/proc/self/fd");
  ASSERT_NE(fds, nullptr);
  std::vector<int> sockets;
  while (const dirent* e = ::readdir(fds)) {
    const int fd = std::atoi(e->d_name);
    struct stat st {};
    if (e->d_name[0] != '.' && fd != ::dirfd(fds) && ::fstat(fd, &st) == 0 &&
        S_ISSOCK(st.st_mode)) {
      sockets.push_back(fd);
    }
  }
  ::closedir(fds);
  for (const int fd : sockets) {
    int accepting = 0;
    socklen_t len = sizeof accepting;
    ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len);
    listening += accepting;
    // The test's own client ends (FrameClient, connect_raw) are not the server's.
    if (fd == http) continue;
    sockaddr_in local{};
    socklen_t size = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size);
    const int server_port = static_cast<int>(ntohs(local.sin_port));
    const bool ours = server_port == control_at.port || server_port == http_at.port;
    if (ours && (::fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) ++inheritable;
  }
  EXPECT_EQ(listening, 2);
  EXPECT_EQ(inheritable, 0);
  ::close(http);
}

TEST_F(ServerTest, TricklingClientDroppedByTheDeadlineOthersServed) {
  const int slow = connect_raw(server->control_address());
  const std::string hello = msg::encode(msg::Hello{kToken, "slow", 0});
  ASSERT_EQ(::send(slow, hello.data(), 2, 0), 2);  // then nothing more
  FrameClient other;
  other.connect(control(), milliseconds(2000));
  other.send(msg::Hello{kToken, "other", 0});
  EXPECT_EQ(other.receive(milliseconds(2000)).type, MessageType::kWelcome);
  // The other worker heartbeats (as real ones do) while the slow one idles.
  bool dropped = false;
  for (int i = 0; i < 60 && !dropped; ++i) {
    other.send(msg::Heartbeat{});
    dropped = closed_within(slow, 100);
  }
  EXPECT_TRUE(dropped);
  ::close(slow);
  other.send(msg::GetTask{});
  EXPECT_EQ(other.receive(milliseconds(2000)).type, MessageType::kTask);
}

TEST_F(ServerTest, GarbageAndWrongTokenDropped) {
  const int garbage = connect_raw(server->control_address());
  const std::string junk = "\xff\xff\xff\xff garbage";
  ASSERT_GT(::send(garbage, junk.data(), junk.size(), 0), 0);
  EXPECT_TRUE(closed_within(garbage, 800));  // before the read deadline
  ::close(garbage);
  FrameClient wrong;
  wrong.connect(control(), milliseconds(2000));
  wrong.send(msg::Hello{"nope", "wrong", 0});
  EXPECT_EQ(wrong.receive(milliseconds(2000)).type, MessageType::kRefused);
  EXPECT_THROW(wrong.receive(milliseconds(2000)), RuntimeFailure);  // then closed
}

TEST_F(ServerTest, HttpStatusAndNotFound) {
  for (const auto& [path, code] :
       {std::pair<std::string, std::string>{"/status", "200"}, {"/nope", "404"}}) {
    const int fd = connect_raw(server->http_address());
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
      reply.append(buf, static_cast<size_t>(n));
    ::close(fd);
    EXPECT_EQ(reply.rfind("HTTP/1.1 " + code, 0), 0u) << reply;
    if (code == "200") EXPECT_NE(reply.find("\"tasks\""), std::string::npos);
  }
}

TEST(ServerAddress, BadListenAddressIsAUsageErrorNamingTheFlag) {
  ServerOptions o;
  o.control_listen = "127.0.0.1:99999";
  NoEffects fx;
  TaskTable table({}, std::chrono::seconds(1));
  ControlHandler handler(table, kToken, LabelSpec{}, fx, HandlerOptions{});
  try {
    ControlServer server(handler, o, HttpRoutes{});
    FAIL() << "bound " << server.control_address();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--listen '127.0.0.1:99999'"), std::string::npos)
        << e.what();
  }
  o.control_listen = "127.0.0.1:0";
  o.http_listen = "nohost";
  EXPECT_THROW((ControlServer{handler, o, HttpRoutes{}}), UsageError);
}

TEST(ServerAddress, Ipv6LoopbackIsBracketed) {
  ServerOptions o;
  o.control_listen = "[::1]:0";
  NoEffects fx;
  TaskTable table({}, std::chrono::seconds(1));
  ControlHandler handler(table, kToken, LabelSpec{}, fx, HandlerOptions{});
  std::unique_ptr<ControlServer> server;
  try {
    server = std::make_unique<ControlServer>(handler, o, HttpRoutes{});
  } catch (const UsageError& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  const HostPort at = parse_host_port(server->control_address(), "test");
  EXPECT_EQ(at.host, "::1");
  EXPECT_EQ(server->control_address(), "[::1]:" + std::to_string(at.port));
  FrameClient client;
  client.connect(at, milliseconds(2000));
  client.send(msg::Hello{kToken, "v6", 0});
  EXPECT_EQ(client.receive(milliseconds(2000)).type, MessageType::kWelcome);
}

}  // namespace
}  // namespace condenser
