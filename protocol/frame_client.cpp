#include "protocol/frame_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

void FrameClient::connect(const std::string& address, std::chrono::milliseconds timeout) {
  close();
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw UsageError("--coordinator '" + address + "': expected HOST:PORT");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw RuntimeFailure("cannot resolve coordinator " + address + ": " + gai_strerror(rc));
  }
  std::string why = "no address";
  const Clock::time_point deadline = Clock::now() + timeout;
  for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    // Non-blocking connect so a dead host costs `timeout`, not minutes.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, remaining_ms(deadline)) == 1 ? 0 : -1;
      int err = rc == 0 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof err;
      if (rc == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        rc = -1;
        errno = err;
      }
    }
    if (rc != 0) {
      why = std::strerror(errno);
      ::close(fd);
      continue;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
  }
  freeaddrinfo(found);
  if (fd_ < 0) throw RuntimeFailure("cannot connect to coordinator " + address + ": " + why);
}

void FrameClient::send(MessageType type, const nlohmann::json& body) {
  const std::string bytes = encode_frame(type, body);
  std::lock_guard<std::mutex> lock(send_mutex_);
  if (fd_ < 0) throw RuntimeFailure("not connected to the coordinator");
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw RuntimeFailure(std::string("lost the coordinator: ") + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
}

Frame FrameClient::receive(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    const ParseResult r = parse_frame(inbox_);
    if (r.status == ParseStatus::kFrame) {
      inbox_.erase(0, r.consumed);
      return r.frame;
    }
    if (r.status == ParseStatus::kError) throw RuntimeFailure("coordinator sent a bad frame: " + r.error);
    if (fd_ < 0) throw RuntimeFailure("not connected to the coordinator");
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) throw RuntimeFailure("the coordinator did not answer within " +
                                         std::to_string(timeout.count()) + " ms");
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw RuntimeFailure("lost the coordinator (connection closed)");
    inbox_.append(chunk, static_cast<size_t>(n));
  }
}

void FrameClient::close() {
  std::lock_guard<std::mutex> lock(send_mutex_);
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
  }
  fd_ = -1;
  inbox_.clear();
}

}  // namespace condenser
