#include "protocol/tcp_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// One non-blocking connect attempt, so a dead host costs the deadline, not
// the kernel's minutes. Returns the socket or -1 with errno set.
int connect_one(const addrinfo& a, Clock::time_point deadline) {
  const int fd = ::socket(a.ai_family, a.ai_socktype | SOCK_CLOEXEC, a.ai_protocol);
  if (fd < 0) return -1;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  int err = ::connect(fd, a.ai_addr, a.ai_addrlen) == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    err = ETIMEDOUT;
    if (::poll(&p, 1, remaining_ms(deadline)) == 1) {
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
  }
  if (err != 0) {
    ::close(fd);
    errno = err;
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // small frames, answered at once
  return fd;
}

}  // namespace

void TcpClient::connect(const HostPort& to, std::chrono::milliseconds timeout) {
  close();
  const std::string where = format_host_port(to);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(to.port);
  if (const int rc = ::getaddrinfo(to.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw TcpError(TcpError::Kind::kResolve, "cannot resolve " + to.host + ": " + gai_strerror(rc));
  }
  std::string why = "no address";
  const Clock::time_point deadline = Clock::now() + timeout;
  for (const addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
    fd_ = connect_one(*a, deadline);
    if (fd_ < 0) why = std::strerror(errno);
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) throw TcpError(TcpError::Kind::kConnect, "cannot connect to " + where + ": " + why);
}

void TcpClient::send_all(std::string_view bytes) {
  if (fd_ < 0) throw TcpError(TcpError::Kind::kClosed, "not connected");
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw TcpError(TcpError::Kind::kIo, std::string("send failed: ") + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
}

size_t TcpClient::receive_some(std::string* inbox, Deadline deadline) {
  for (;;) {
    if (fd_ < 0) throw TcpError(TcpError::Kind::kClosed, "not connected");
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw TcpError(TcpError::Kind::kIo, std::string("poll: ") + std::strerror(errno));
    if (ready == 0) throw TcpError(TcpError::Kind::kTimeout, "no answer before the deadline");
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw TcpError(TcpError::Kind::kIo, std::string("receive failed: ") + std::strerror(errno));
    inbox->append(chunk, static_cast<size_t>(n));
    return static_cast<size_t>(n);
  }
}

void TcpClient::close() {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
  }
  fd_ = -1;
}

}  // namespace condenser
