// protocol/tcp_client.h and frame_client.h against a real loopback listener
// (plain POSIX, no coordinator): connect, send all, receive with a deadline,
// a silent peer times out in time, a closed peer reads as 0, nobody
// listening is a kConnect error, and frames arrive split across reads.
#include "protocol/tcp_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "protocol/frame_client.h"

namespace condenser {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A listening socket on 127.0.0.1 and a free port.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    socklen_t len = sizeof at;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len);
    port = ntohs(at.sin_port);
  }
  ~Listener() { ::close(fd); }
  HostPort address() const { return {"127.0.0.1", port}; }
  int accept_one() const { return ::accept(fd, nullptr, nullptr); }
};

std::string read_exactly(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, &out[got], n - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

TEST(TcpClient, SendsAllAndReceivesUntilClose) {
  Listener server;
  TcpClient client;
  client.connect(server.address(), milliseconds(2000));
  const int peer = server.accept_one();
  const std::string big(1 << 20, 'x');  // more than one socket buffer
  std::thread reader([&] { EXPECT_EQ(read_exactly(peer, big.size()), big); });
  client.send_all(big);
  reader.join();
  ASSERT_EQ(::send(peer, "pong", 4, 0), 4);
  ::close(peer);
  std::string inbox;
  const auto deadline = Clock::now() + milliseconds(2000);
  while (client.receive_some(&inbox, deadline) > 0) {
  }
  EXPECT_EQ(inbox, "pong");
}

TEST(TcpClient, SilentPeerTimesOutAtTheDeadline) {
  Listener server;
  TcpClient client;
  client.connect(server.address(), milliseconds(2000));
  const int peer = server.accept_one();
  std::string inbox;
  const auto start = Clock::now();
  try {
    client.receive_some(&inbox, start + milliseconds(200));
    FAIL() << "received from a silent peer";
  } catch (const TcpError& e) {
    EXPECT_EQ(e.kind(), TcpError::Kind::kTimeout);
  }
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, milliseconds(190));
  EXPECT_LT(waited, milliseconds(2000));
  ::close(peer);
}

TEST(TcpClient, NobodyListeningIsAConnectError) {
  int port = 0;
  {
    Listener gone;  // a port that was free a moment ago
    port = gone.port;
  }
  TcpClient client;
  try {
    client.connect({"127.0.0.1", port}, milliseconds(2000));
    FAIL() << "connected to a closed port";
  } catch (const TcpError& e) {
    EXPECT_EQ(e.kind(), TcpError::Kind::kConnect);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos);
  }
  EXPECT_FALSE(client.connected());
  EXPECT_THROW(client.send_all("x"), TcpError);
}

TEST(TcpClient, UnknownHostIsAResolveError) {
  TcpClient client;
  try {
    client.connect({"no-such-host.invalid", 80}, milliseconds(2000));
    FAIL();
  } catch (const TcpError& e) {
    EXPECT_EQ(e.kind(), TcpError::Kind::kResolve);
  }
}

TEST(FrameClient, FramesSplitAcrossReadsAndTimeouts) {
  Listener server;
  FrameClient client;
  client.connect(server.address(), milliseconds(2000));
  const int peer = server.accept_one();
  client.send(msg::GetTask{});
  const std::string sent = read_exactly(peer, msg::encode(msg::GetTask{}).size());
  EXPECT_EQ(parse_frame(sent).frame.type, MessageType::kGetTask);
  // Two frames, the first split in the middle of its header.
  const std::string bytes = msg::encode(msg::Wait{7}) + msg::encode(msg::NoMoreWork{});
  ASSERT_EQ(::send(peer, bytes.data(), 3, 0), 3);
  std::thread rest([&] {
    std::this_thread::sleep_for(milliseconds(50));
    ::send(peer, bytes.data() + 3, bytes.size() - 3, 0);
  });
  EXPECT_EQ(msg::decode<msg::Wait>(client.receive(milliseconds(2000))).retry_ms, 7);
  rest.join();
  EXPECT_EQ(client.receive(milliseconds(2000)).type, MessageType::kNoMoreWork);
  EXPECT_THROW(client.receive(milliseconds(100)), RuntimeFailure);  // nothing more: timeout
  ::send(peer, "\xff\xff\xff\xff", 4, 0);
  EXPECT_THROW(client.receive(milliseconds(2000)), ProtocolError);  // oversized length
  ::close(peer);
}

}  // namespace
}  // namespace condenser
