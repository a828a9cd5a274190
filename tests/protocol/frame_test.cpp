// The frame parser on plain byte strings: round trips, split delivery, and
// every way the bytes can be wrong (garbage, oversized or undersized length,
// truncated frame, other version, unknown type, payload not a JSON object).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "protocol/frame.h"

namespace condenser {
namespace {

std::string header(uint32_t length, uint8_t version, uint8_t type) {
  std::string h;
  h.push_back(static_cast<char>(length >> 24));
  h.push_back(static_cast<char>(length >> 16));
  h.push_back(static_cast<char>(length >> 8));
  h.push_back(static_cast<char>(length));
  h.push_back(static_cast<char>(version));
  h.push_back(static_cast<char>(type));
  return h;
}

TEST(Protocol, RoundTripAndExactLength) {
  const std::string bytes = encode_frame(MessageType::kHello, {{"token", "abc"}, {"pid", 7}});
  const std::string payload = R"({"pid":7,"token":"abc"})";
  ASSERT_EQ(bytes, header(static_cast<uint32_t>(payload.size() + 2), 1, 1) + payload);
  const ParseResult r = parse_frame(bytes + "trailing");
  ASSERT_EQ(r.status, ParseStatus::kFrame) << r.error;
  EXPECT_EQ(r.consumed, bytes.size());
  EXPECT_EQ(r.frame.type, MessageType::kHello);
  EXPECT_EQ(r.frame.body["token"], "abc");
  EXPECT_EQ(r.frame.body["pid"], 7);
}

TEST(Protocol, EveryPrefixNeedsMore) {
  const std::string bytes = encode_frame(MessageType::kTaskDone, {{"lease", 3}});
  for (size_t n = 0; n < bytes.size(); ++n) {
    const ParseResult r = parse_frame(std::string_view(bytes).substr(0, n));
    EXPECT_EQ(r.status, ParseStatus::kNeedMore) << "prefix of " << n << " bytes";
  }
}

TEST(Protocol, TwoFramesBackToBack) {
  const std::string a = encode_frame(MessageType::kGetTask, nlohmann::json::object());
  const std::string b = encode_frame(MessageType::kHeartbeat, {{"leases", {1, 2}}});
  const std::string both = a + b;
  ParseResult r = parse_frame(both);
  ASSERT_EQ(r.status, ParseStatus::kFrame);
  EXPECT_EQ(r.frame.type, MessageType::kGetTask);
  r = parse_frame(std::string_view(both).substr(r.consumed));
  ASSERT_EQ(r.status, ParseStatus::kFrame);
  EXPECT_EQ(r.frame.type, MessageType::kHeartbeat);
  EXPECT_EQ(r.frame.body["leases"][1], 2);
}

TEST(Protocol, OversizedLengthRejectedFromTheHeaderAlone) {
  const ParseResult r = parse_frame(header(kMaxFrameBytes + 1, 1, 1).substr(0, 4));
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_NE(r.error.find("exceeds the limit"), std::string::npos) << r.error;
  EXPECT_EQ(parse_frame(header(0xffffffffu, 1, 1)).status, ParseStatus::kError);
  // The maximum itself is allowed (it only needs more bytes).
  EXPECT_EQ(parse_frame(header(kMaxFrameBytes, 1, 1)).status, ParseStatus::kNeedMore);
}

TEST(Protocol, UndersizedLength) {
  EXPECT_EQ(parse_frame(header(0, 1, 1)).status, ParseStatus::kError);
  EXPECT_EQ(parse_frame(header(1, 1, 1)).status, ParseStatus::kError);
}

TEST(Protocol, BadVersionRejectedBeforeTheBody) {
  const ParseResult r = parse_frame(header(100, 2, 1));
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_NE(r.error.find("protocol version 2"), std::string::npos) << r.error;
}

TEST(Protocol, UnknownType) {
  EXPECT_EQ(parse_frame(header(4, 1, 0) + "{}").status, ParseStatus::kError);
  EXPECT_EQ(parse_frame(header(4, 1, 200) + "{}").status, ParseStatus::kError);
}

TEST(Protocol, PayloadMustBeAJsonObject) {
  for (const std::string payload : {"[1,2]", "{\"a\":", "\xff\xfe{}", "42", ""}) {
    const std::string bytes = header(static_cast<uint32_t>(payload.size() + 2), 1, 4) + payload;
    const ParseResult r = parse_frame(bytes);
    EXPECT_EQ(r.status, ParseStatus::kError) << payload;
  }
}

TEST(Protocol, GarbageBytes) {
  // An HTTP request sent to the control port reads as a length of 0x47455420.
  EXPECT_EQ(parse_frame("GET / HTTP/1.1\r\n\r\n").status, ParseStatus::kError);
  EXPECT_EQ(parse_frame(std::string(16, '\0')).status, ParseStatus::kError);
}

TEST(Protocol, TruncatedFrameNeverCompletes) {
  const std::string bytes = encode_frame(MessageType::kHello, {{"token", std::string(500, 'x')}});
  EXPECT_EQ(parse_frame(std::string_view(bytes).substr(0, bytes.size() - 1)).status,
            ParseStatus::kNeedMore);
}

TEST(Protocol, EncodeRefusesOversizedBodies) {
  EXPECT_THROW(encode_frame(MessageType::kWelcome, {{"x", std::string(kMaxFrameBytes, 'a')}}),
               std::length_error);
}

TEST(Protocol, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace condenser
