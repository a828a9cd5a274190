// Base64 against RFC 4648's vectors and Python's encoder, and the
// shard_chunk message's checks (range, chunk size, checksum) on decode.
#include "protocol/base64.h"

#include <gtest/gtest.h>

#include <random>

#include "core/sha256.h"
#include "protocol/messages.h"

namespace condenser {
namespace {

TEST(Base64, MatchesTheRfcVectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},    {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    EXPECT_EQ(base64_encode(plain), coded);
    EXPECT_EQ(base64_decode(coded, "t"), plain);
  }
  // Every byte value, as Python's base64.b64encode(bytes(range(256)))[:24] starts.
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(base64_encode(all).substr(0, 24), "AAECAwQFBgcICQoLDA0ODxAR");
  EXPECT_EQ(base64_encode(all).substr(340), "/w==");
}

TEST(Base64, RoundTripsRandomBytesOfEveryLengthMod3) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    EXPECT_EQ(base64_decode(base64_encode(bytes), "t"), bytes) << n;
  }
}

TEST(Base64, RefusesWhatIsNotBase64NamingWhere) {
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "Zg==Zg==", "=Zm9", "Zm=v"}) {
    try {
      base64_decode(bad, "shard_chunk: field 'data'");
      ADD_FAILURE() << bad;
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find("shard_chunk: field 'data'"), std::string::npos);
    }
  }
}

Frame parsed(const std::string& bytes) { return parse_frame(bytes).frame; }

msg::ShardChunk chunk(int64_t offset, int64_t size, const std::string& data) {
  return {3, offset, size, data, sha256_hex(data.data(), data.size())};
}

TEST(ShardChunkMessage, RoundTripsBinaryBytes) {
  std::string data(70000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7919);
  const msg::ShardChunk m =
      msg::decode<msg::ShardChunk>(parsed(msg::encode(chunk(1000, 80000, data))));
  EXPECT_EQ(m.lease, 3);
  EXPECT_EQ(m.offset, 1000);
  EXPECT_EQ(m.size, 80000);
  EXPECT_EQ(m.data, data);
  // The largest chunk fits one frame.
  EXPECT_NO_THROW(msg::encode(chunk(0, msg::kMaxChunkBytes,
                                    std::string(static_cast<size_t>(msg::kMaxChunkBytes), 'x'))));
}

TEST(ShardChunkMessage, RefusesBytesOutsideTheFileOrNotMatchingTheirChecksum) {
  const auto refused = [](msg::ShardChunk m, const char* words) {
    try {
      msg::decode<msg::ShardChunk>(parsed(msg::encode(m)));
      ADD_FAILURE() << words;
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refused(chunk(5, 6, "ab"), "lie outside a file of 6");
  refused(chunk(-1, 6, "ab"), "lie outside");
  msg::ShardChunk bad = chunk(0, 6, "ab");
  bad.data = "ac";
  refused(bad, "do not match their sha256");
  const std::string big(static_cast<size_t>(msg::kMaxChunkBytes) + 1, 'x');
  refused(chunk(0, 1 << 30, big), "exceed the");
}

TEST(ShardChunkMessage, HelloSaysUploadOnlyWhenAsked) {
  EXPECT_FALSE(msg::decode<msg::Hello>(parsed(encode_frame(MessageType::kHello, {{"token", "t"}})))
                   .upload);
  EXPECT_TRUE(msg::decode<msg::Hello>(parsed(msg::encode(msg::Hello{"t", "n", 1, true}))).upload);
}

}  // namespace
}  // namespace condenser
