// SHA-256 against the FIPS 180-2 / NIST example vectors.
#include "core/sha256.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "core/errors.h"

namespace condenser {
namespace {

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256_hex(m448.data(), m448.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, OneMillionAIncremental) {
  // Uneven update sizes cross block boundaries in every way.
  const std::string a(1000000, 'a');
  Sha256 h;
  size_t pos = 0, step = 1;
  while (pos < a.size()) {
    const size_t n = std::min(step, a.size() - pos);
    h.update(a.data() + pos, n);
    pos += n;
    step = step % 131 + 7;
  }
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_THROW(h.update("x", 1), RuntimeFailure);
  EXPECT_EQ(sha256_hex(a.data(), a.size()), h.hex_digest());
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding edges must match one-shot hashing
  // done byte by byte (a different code path through update()).
  for (size_t len : {55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u}) {
    const std::string s(len, 'q');
    Sha256 h;
    for (char c : s) h.update(&c, 1);
    EXPECT_EQ(h.hex_digest(), sha256_hex(s.data(), s.size())) << len;
  }
}

TEST(Sha256, FileMatchesBufferAndMissingFileNamesPath) {
  char tmpl[] = "/tmp/condenser_sha_XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  const std::string data = "The quick brown fox jumps over the lazy dog";
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  EXPECT_EQ(sha256_file(tmpl), "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
  std::remove(tmpl);
  try {
    sha256_file(tmpl);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(tmpl), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace condenser
