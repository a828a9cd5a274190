// protocol/address.h: HOST:PORT and [IPV6]:PORT parse; bad ports, empty
// hosts and unbracketed IPv6 are usage errors naming the flag and the value;
// format_host_port parses back equal.
#include "protocol/address.h"

#include <gtest/gtest.h>

#include <string>

#include "core/errors.h"

namespace condenser {
namespace {

// The UsageError text of parsing `address` ("" when it parses).
std::string error_of(const std::string& address) {
  try {
    parse_host_port(address, "--listen");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Address, HostNamesIpv4AndIpv6) {
  HostPort a = parse_host_port("127.0.0.1:7070", "--listen");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 7070);
  a = parse_host_port("node-7.cluster:0", "--listen");
  EXPECT_EQ(a.host, "node-7.cluster");
  EXPECT_EQ(a.port, 0);
  a = parse_host_port("[::1]:65535", "--listen");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 65535);
  a = parse_host_port("[fe80::1%eth0]:80", "--listen");
  EXPECT_EQ(a.host, "fe80::1%eth0");
}

TEST(Address, BadPortsAreRefused) {
  for (const char* bad : {"h:65536", "h:99999", "h:12x", "h:-1", "h:+80", "h: 80", "h:",
                          "h:0x50", "h:123456"}) {
    EXPECT_NE(error_of(bad).find("is not a number from 0 to 65535"), std::string::npos) << bad;
  }
  EXPECT_EQ(error_of("h:00080"), "");
}

TEST(Address, BadHostsAreRefused) {
  EXPECT_NE(error_of(":7070").find("empty host"), std::string::npos);
  EXPECT_NE(error_of("[]:7070").find("empty host"), std::string::npos);
  EXPECT_NE(error_of("nohost").find("no ':PORT'"), std::string::npos);
  EXPECT_NE(error_of("").find("no ':PORT'"), std::string::npos);
  EXPECT_NE(error_of("::1:7070").find("IPv6 host goes in brackets"), std::string::npos);
  EXPECT_NE(error_of("[::1:7070").find("unbalanced"), std::string::npos);
  EXPECT_NE(error_of("::1]:7070").find("brackets"), std::string::npos);
  EXPECT_NE(error_of("h]:7070").find("unbalanced"), std::string::npos);
}

TEST(Address, TheMessageNamesFlagValueAndForm) {
  EXPECT_EQ(error_of("h:99999"),
            "--listen 'h:99999': port '99999' is not a number from 0 to 65535; expected "
            "HOST:PORT, e.g. 127.0.0.1:7070 or [::1]:7070");
  try {
    parse_host_port("x", "--coordinator");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--coordinator 'x': ", 0), 0u) << e.what();
  }
}

TEST(Address, FormatParsesBackEqual) {
  for (const HostPort& a : {HostPort{"127.0.0.1", 1}, HostPort{"::", 7070}, HostPort{"h", 0}}) {
    const HostPort back = parse_host_port(format_host_port(a), "--listen");
    EXPECT_EQ(back.host, a.host);
    EXPECT_EQ(back.port, a.port);
  }
  EXPECT_EQ(format_host_port({"::1", 80}), "[::1]:80");
  EXPECT_EQ(format_host_port({"10.0.0.2", 80}), "10.0.0.2:80");
}

}  // namespace
}  // namespace condenser
