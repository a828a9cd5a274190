#pragma once
// What a soft-label shard holds (DESIGN.md "Soft-label shard"): the layout
// contract shared by the writer, the reader, the inspector and h5py users.
//
//   /sample_index  int64[N]     dataset index of each row's sample
//   /view          int32[N]     augmentation view of each row
// and then either the full layout (top_k == 0):
//   /logits        float32 or IEEE float16 [N, num_classes], row-major
// or the top-k layout (top_k == k > 0, k <= num_classes):
//   /topk_values   IEEE float16 [N, k]  raw logits of the k largest classes, descending
//   /topk_indices  int32 [N, k]         their class indices (ties: lower index first)
//   /logsumexp     float32 [N]          log sum_c exp(logit_c / temperature) over ALL classes
// root attributes: schema_version (int), teacher_sha256, dataset_fingerprint,
//   producer (variable-length UTF-8 strings), temperature (double),
//   num_classes, top_k (int; 0 = dense logits)
// Datasets are chunked along rows, each chunk at most 1 MiB (at least 1 row).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace condenser {

// Bump when the layout changes incompatibly; readers reject other versions.
constexpr int kShardSchemaVersion = 1;

struct ShardMeta {
  int schema_version = kShardSchemaVersion;
  std::string teacher_sha256;       // sha256 of the teacher file that produced the logits
  std::string dataset_fingerprint;  // identifies the input data (and its split)
  double temperature = 1.0;         // logits are stored raw; T is recorded for the student
  int num_classes = 0;
  int top_k = 0;         // 0: dense logits; k > 0: top-k layout
  std::string producer;  // e.g. "condenser 0.1 worker host:pid"
};

enum class LogitDType { kFloat32, kFloat16 };

// "float32" / "float16" (the names used in configs and manifest.json).
inline const char* logit_dtype_name(LogitDType d) {
  return d == LogitDType::kFloat16 ? "float16" : "float32";
}

// Parses "float32"/"fp32"/"float16"/"fp16"/"half". Returns false on anything else.
inline bool parse_logit_dtype(const std::string& name, LogitDType* out) {
  if (name == "float32" || name == "fp32") {
    *out = LogitDType::kFloat32;
  } else if (name == "float16" || name == "fp16" || name == "half") {
    *out = LogitDType::kFloat16;
  } else {
    return false;
  }
  return true;
}

inline size_t logit_dtype_bytes(LogitDType d) { return d == LogitDType::kFloat16 ? 2 : 4; }

// IEEE 754 binary16 conversions. float_to_half rounds to nearest, ties to
// even; overflow gives +-inf, NaN stays NaN. half_to_float is exact.
inline uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {  // inf stays inf; NaN keeps its top payload bits and stays quiet
    return static_cast<uint16_t>(sign | 0x7c00u |
                                 (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
  }
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (ax >= 0x38800000u) {  // normal half (>= 2^-14): rebias, round 13 dropped bits
    uint32_t h = ((ax >> 23) - 112u) << 10 | ((ax >> 13) & 0x3ffu);
    const uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right
    return static_cast<uint16_t>(sign | h);
  }
  const uint32_t e = ax >> 23;
  if (e < 102) return static_cast<uint16_t>(sign);  // below 2^-25: rounds to zero
  // Subnormal half: value in units of 2^-24 is mant * 2^(e-126).
  const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24
  uint32_t h = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1u);
  if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    x = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    x = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    x = sign | ((112u - static_cast<uint32_t>(e)) << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &x, sizeof(f));
  return f;
}

// Largest chunk the writer uses, in bytes (DESIGN.md: at most 1 MiB).
constexpr size_t kShardChunkBytes = size_t{1} << 20;

// Rows per chunk for rows of `row_bytes` bytes: at most max(1, 1 MiB / row_bytes),
// balanced so the chunks split `rows` evenly. HDF5 allocates every chunk
// whole, so 40000 rows in 26214-row chunks would store 52428 rows; balanced
// (20000-row) chunks waste less than one row per chunk.
inline uint64_t shard_chunk_rows(uint64_t rows, size_t row_bytes) {
  uint64_t per = row_bytes == 0 ? rows : kShardChunkBytes / row_bytes;
  if (per > rows) per = rows;
  if (per == 0) return 1;
  const uint64_t chunks = (rows + per - 1) / per;
  return (rows + chunks - 1) / chunks;
}

}  // namespace condenser
