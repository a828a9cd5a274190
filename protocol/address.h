#pragma once
// HOST:PORT, the one address form of every flag that names an endpoint
// (--listen, --http, --coordinator): a host name or IPv4 address, or an IPv6
// address in brackets ([::1]:7070), then a decimal port 0..65535 (0: let the
// system pick a free one, when listening). Pure text, no resolving.
#include <string>

namespace condenser {

struct HostPort {
  std::string host;  // without brackets
  int port = 0;
};

// Parses `address`; UsageError naming `what` (the flag, e.g. "--listen"), the
// value, what is wrong and the expected form.
HostPort parse_host_port(const std::string& address, const std::string& what);

// "host:port", or "[v6]:port" when the host has a ':' (parses back equal).
std::string format_host_port(const HostPort& address);

}  // namespace condenser
