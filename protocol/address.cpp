#include "protocol/address.h"

#include "core/errors.h"

namespace condenser {
namespace {

// What is wrong with `address`, or "" when it is well formed (then `out` is set).
std::string parse(const std::string& address, HostPort* out) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "no ':PORT'";
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return "unbalanced '[' in the host";
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return "an IPv6 host goes in brackets";
  } else if (host.find(']') != std::string::npos) {
    return "unbalanced ']' in the host";
  }
  if (host.empty()) return "empty host";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return "port '" + port + "' is not a number from 0 to 65535";
  }
  out->host = host;
  out->port = std::stoi(port);
  return "";
}

}  // namespace

HostPort parse_host_port(const std::string& address, const std::string& what) {
  HostPort parsed;
  const std::string wrong = parse(address, &parsed);
  if (!wrong.empty()) {
    throw UsageError(what + " '" + address + "': " + wrong +
                     "; expected HOST:PORT, e.g. 127.0.0.1:7070 or [::1]:7070");
  }
  return parsed;
}

std::string format_host_port(const HostPort& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

}  // namespace condenser
