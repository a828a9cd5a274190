#pragma once
// What a soft-label shard holds (docs/architecture.md "Soft-label shards"): the layout
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
//
// Token windows and value formats (top-k only; written by condenser >= the
// language-model release, still schema_version 1 because a reader that
// predates them refuses such files — rank, class or type mismatch — rather
// than misreading them):
//   attribute positions (int; absent = 0): P > 0 means each row is a window
//     of P token positions, and the top-k datasets gain a position axis:
//     topk_values [N, P, k], topk_indices [N, P, k], logsumexp [N, P].
//     The full layout with P > 0 is refused (vocabularies are too large).
//   attribute value_format (string; absent = inferred: float16 or float32):
//     float32  topk_values IEEE float32
//     float16  topk_values IEEE float16
//     bfloat16 topk_values uint16 holding bfloat16 bits (h5py has no bf16)
//     int8     topk_values uint8 codes c, with /topk_offset and /topk_step
//              float32 [N] or [N, P]: value = offset - c * step (offset is
//              the position's top value, so c = 0 is exact)
//   topk_indices: int32, or uint16 when num_classes <= 65536 (new layout).
// A P = 0 float16 shard is written exactly as before (no new attribute,
// int32 indices), so the image path is bit-identical.
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <string>

namespace condenser {

// Bump when the layout changes incompatibly; readers reject other versions.
constexpr int kShardSchemaVersion = 1;

// How top-k values are stored (config soft_labels.topk_dtype). Readers
// always return float32 logits.
enum class TopKValueFormat { kFloat32, kFloat16, kBFloat16, kInt8 };

inline const char* value_format_name(TopKValueFormat f) {
  switch (f) {
    case TopKValueFormat::kFloat32: return "float32";
    case TopKValueFormat::kBFloat16: return "bfloat16";
    case TopKValueFormat::kInt8: return "int8";
    default: return "float16";
  }
}

// "float32" | "float16" | "bfloat16" | "int8" (the config's names). False on anything else.
inline bool parse_value_format(const std::string& name, TopKValueFormat* out) {
  for (TopKValueFormat f : {TopKValueFormat::kFloat32, TopKValueFormat::kFloat16,
                            TopKValueFormat::kBFloat16, TopKValueFormat::kInt8}) {
    if (name == value_format_name(f)) {
      *out = f;
      return true;
    }
  }
  return false;
}

// Stored bytes per top-k value (int8 adds 8 bytes per position for offset and step).
inline size_t value_format_bytes(TopKValueFormat f) {
  return f == TopKValueFormat::kFloat32 ? 4 : f == TopKValueFormat::kInt8 ? 1 : 2;
}

// Index type: uint16 holds class ids up to 65535.
inline bool narrow_indices(int num_classes) { return num_classes <= 65536; }

struct ShardMeta {
  int schema_version = kShardSchemaVersion;
  std::string teacher_sha256;       // identity of the teacher that produced the logits (SHA-256 of its parameters, buffers and code)
  std::string dataset_fingerprint;  // identifies the input data (and its split)
  double temperature = 1.0;         // logits are stored raw; T is recorded for the student
  int num_classes = 0;
  int top_k = 0;         // 0: dense logits; k > 0: top-k layout
  std::string producer;  // e.g. "condenser 0.1 worker host:pid"
  int positions = 0;     // 0: one distribution per row; P > 0: P token positions per row (top-k)
  TopKValueFormat value_format = TopKValueFormat::kFloat16;  // how top-k values are stored
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
// even; overflow gives +-inf, NaN stays NaN (keeping its top payload bits).
// half_to_float is exact.
inline uint16_t float_to_half_nan(uint32_t x) {
  return static_cast<uint16_t>(((x >> 16) & 0x8000u) | 0x7c00u | 0x200u | ((x >> 13) & 0x3ffu));
}

// Branch-free for every non-NaN input (the FP16 library's method, as in
// c10::Half): adding a power-of-two bias lets the FPU's own round-to-nearest-
// even do the rounding, subnormals included. Checked bit-exact against a
// reference rounding for all 2^32 floats; 2.4x faster on random logits than
// the branchy version because nothing mispredicts.
inline uint16_t float_to_half(float f) {
  uint32_t w;
  std::memcpy(&w, &f, sizeof(w));
  if ((w & 0x7fffffffu) > 0x7f800000u) return float_to_half_nan(w);
  const float scale_to_inf = 0x1.0p+112f, scale_to_zero = 0x1.0p-110f;
  float base = (std::fabs(f) * scale_to_inf) * scale_to_zero;
  const uint32_t shl1_w = w + w, sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xff000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  const uint32_t bias_bits = (bias >> 1) + 0x07800000u;
  float bias_f;
  std::memcpy(&bias_f, &bias_bits, sizeof(bias_f));
  base = bias_f + base;
  uint32_t bits;
  std::memcpy(&bits, &base, sizeof(bits));
  const uint32_t exp_bits = (bits >> 13) & 0x7c00u, mantissa_bits = bits & 0x0fffu;
  return static_cast<uint16_t>((sign >> 16) | (exp_bits + mantissa_bits));
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

// Largest chunk the writer uses, in bytes (at most 1 MiB, so a reader never holds more).
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
