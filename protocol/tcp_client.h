#pragma once
// A small blocking TCP client with deadlines, for the worker's control
// connection (frame_client.h) and `condenser status --coordinator`'s HTTP
// GET: connect within a timeout (each resolved address in turn, in the time
// left), send all bytes, receive what arrives before a deadline. POSIX
// sockets, no threads of its own; one thread may send while another
// receives, but connect and close need the caller's exclusion.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/errors.h"
#include "protocol/address.h"

namespace condenser {

// A failed socket operation; `kind` says which, for callers that word the
// cases differently (an unreachable coordinator is a usage error to status).
class TcpError : public RuntimeFailure {
 public:
  enum class Kind { kResolve, kConnect, kTimeout, kClosed, kIo };
  TcpError(Kind kind, const std::string& message) : RuntimeFailure(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class TcpClient {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  TcpClient() = default;
  ~TcpClient() { close(); }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Closes any previous connection first. TcpError kResolve (with
  // getaddrinfo's reason) or kConnect (refused, unreachable, timed out).
  void connect(const HostPort& to, std::chrono::milliseconds timeout);
  // TcpError kClosed when not connected, kIo when the peer is gone.
  void send_all(std::string_view bytes);
  // Appends what arrives before `deadline` to `*inbox` (waits for at least
  // one byte); returns how many bytes, 0 when the peer closed. TcpError
  // kTimeout at the deadline, kClosed when not connected, kIo on errors.
  size_t receive_some(std::string* inbox, Deadline deadline);
  void close();
  bool connected() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace condenser
