#pragma once
// Listening sockets shared by the control and HTTP listeners (internal to
// coordinator/control/): HOST:PORT resolved, bound and listening, with
// errors a user can fix as UsageError naming the address.
#include <fcntl.h>

#include <boost/asio.hpp>
#include <string>

#include "core/errors.h"
#include "protocol/address.h"

namespace condenser::asio_listen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline std::string endpoint_text(const tcp::endpoint& e) {
  return format_host_port({e.address().to_string(), e.port()});
}

inline tcp::endpoint resolve(asio::io_context& io, const std::string& address,
                             const std::string& what) {
  const HostPort at = parse_host_port(address, what);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(at.host, std::to_string(at.port), ec);
  if (ec || results.empty()) {
    throw UsageError(what + " " + address + ": cannot resolve '" + at.host + "' (" + ec.message() +
                     "); use an IP address such as 127.0.0.1 or 0.0.0.0");
  }
  return results.begin()->endpoint();
}

// Not inherited by any process this one starts (a local worker holding the
// coordinator's port would keep it open after the job died).
inline void close_on_exec(int fd) {
  if (fd >= 0) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

inline void open(tcp::acceptor& acceptor, const tcp::endpoint& at, const std::string& what) {
  boost::system::error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec) close_on_exec(acceptor.native_handle());
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw UsageError(what + ": cannot listen on " + endpoint_text(at) + " (" + ec.message() +
                     "); choose another HOST:PORT");
  }
}

}  // namespace condenser::asio_listen
