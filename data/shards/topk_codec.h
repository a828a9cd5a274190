#pragma once
// Value formats of top-k shards (data/shards/shard_format.h): bfloat16 bits
// and the int8 quantisation, encoded by the writer and decoded by the reader,
// and the round trip a bench or test uses to see what a reader gets back.
// No LibTorch, no HDF5.
#include <cstdint>
#include <cstring>
#include <vector>

#include "data/shards/shard_format.h"

namespace condenser {

// bfloat16 = the top 16 bits of a float32, rounded to nearest even; NaN stays
// NaN (quiet), +-inf stays +-inf; overflow rounds to +-inf as IEEE does.
inline uint16_t float_to_bfloat16(float f) {
  uint32_t w;
  std::memcpy(&w, &f, sizeof(w));
  if ((w & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((w >> 16) | 0x40u);
  w += 0x7fffu + ((w >> 16) & 1u);
  return static_cast<uint16_t>(w >> 16);
}

inline float bfloat16_to_float(uint16_t b) {
  const uint32_t w = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &w, sizeof(f));
  return f;
}

// How int8 codes are chosen; the file layout (codes, offset, step) and the
// reader are the same for both, so the writer may pick either.
//   kRange: per position, step = (top - k-th value) / 255: the k values span
//           the whole code range (the finest grid for that position).
//   kGrid:  a fixed grid of kInt8GridNats tempered nats below the top value
//           (step = T / 16 raw logit units), clamped at code 255 (16 nats).
// Measured on Zipf-like logits (bench topk_kl, V = 4096, k = 32, T = 1):
// the mean KL each adds to float32 values is 8.7e-5 (range) vs 2.9e-4
// (grid) at the same 109.7 raw bytes/token (grid's constant step deflates to
// 75 vs 83 B/token, but both are far below the top-k truncation's 0.40), so
// kRange is the default.
enum class Int8Scheme { kRange, kGrid };
constexpr double kInt8GridNats = 1.0 / 16.0;

struct Int8Codes {
  std::vector<uint8_t> codes;  // groups * k; value = offset - code * step
  std::vector<float> offset;   // groups: the group's first (largest) value, exact
  std::vector<float> step;     // groups: >= 0
};

// values: groups of k descending raw logits (groups = values.size() / k).
// Non-finite values get code 255 (the worker refuses non-finite logits first).
Int8Codes encode_int8(const std::vector<float>& values, int k, double temperature,
                      Int8Scheme scheme);
std::vector<float> decode_int8(const Int8Codes& codes, int k);

// What a reader returns for `values` stored in `format` (float32: unchanged).
std::vector<float> round_trip_values(const std::vector<float>& values, int k,
                                     TopKValueFormat format, double temperature,
                                     Int8Scheme scheme = Int8Scheme::kRange);

}  // namespace condenser
