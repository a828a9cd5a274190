// float_to_half is branch-free (data/shards/shard_format.h); this checks it against
// a plain, branchy round-to-nearest-even conversion for every one of the 2^32
// float bit patterns, NaN payloads included (about 10 s).
#include <gtest/gtest.h>

#include <cstring>

#include "data/shards/shard_format.h"

namespace condenser {
namespace {

uint16_t reference_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {
    return static_cast<uint16_t>(sign | 0x7c00u |
                                 (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
  }
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (ax >= 0x38800000u) {
    uint32_t h = ((ax >> 23) - 112u) << 10 | ((ax >> 13) & 0x3ffu);
    const uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  const uint32_t e = ax >> 23;
  if (e < 102) return static_cast<uint16_t>(sign);
  const uint32_t mant = (ax & 0x7fffffu) | 0x800000u, shift = 126u - e;
  uint32_t h = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
  if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

TEST(FloatToHalf, MatchesTheReferenceForEveryFloat) {
  uint64_t mismatches = 0, first = 0;
  for (uint64_t w = 0; w <= 0xffffffffull; ++w) {
    const uint32_t bits = static_cast<uint32_t>(w);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (float_to_half(f) != reference_half(f)) {
      if (mismatches++ == 0) first = w;
    }
  }
  EXPECT_EQ(mismatches, 0u) << "first mismatch at bits 0x" << std::hex << first;
}

}  // namespace
}  // namespace condenser
