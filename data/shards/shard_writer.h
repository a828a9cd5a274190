#pragma once
// Writes one soft-label shard (layout in data/shards/shard_format.h) durably:
// everything goes to `final_path + ".tmp"`, which is closed, fsynced, renamed
// to `final_path`, and the parent directory fsynced. A crash leaves either no
// shard or a complete one (plus maybe a stale .tmp, overwritten next time),
// so the manifest entry may be committed right after this returns.
//
// Only one thread per process should do HDF5 I/O: the HDF5 C library is safe
// to call from several threads only when built thread-safe.
#include <cstdint>
#include <string>
#include <vector>

#include "data/shards/shard_format.h"
#include "data/shards/topk_codec.h"

namespace condenser {

// sample_index and view have N entries each; logits holds N * meta.num_classes
// floats, row-major. dtype picks the stored logits type (float16 is rounded
// to nearest even here, so the file holds exactly what a reader gets back).
// The file's top_k attribute is 0 whatever meta.top_k says.
// Throws RuntimeFailure on mismatched sizes, num_classes <= 0 or
// meta.positions != 0 (the full layout has no token windows: a caller
// bug) and on any I/O or HDF5 failure (the .tmp is removed).
void write_shard(const std::string& final_path, const ShardMeta& meta,
                 const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                 const std::vector<float>& logits, LogitDType dtype);

// HDF5 filters for the top-k datasets (both in Debian's HDF5). deflate -1
// (the default) picks by layout: shuffle + deflate level 1 for token windows
// (positions > 0), none for P = 0 (the image path stays byte for byte as
// before). Measured by `condenser bench topk_kl` (V = 4096 Zipf-like, k = 32,
// 16384 tokens): float16 133 -> 97 bytes/token (-27%) for +2 us/token
// written and +0.35 us/token read; level 6 saved 3% more at twice the write
// time; shuffle alone saves nothing.
struct ShardCompression {
  int deflate = -1;      // -1: by layout (above); 0: none; 1..9: gzip level
  bool shuffle = false;  // byte shuffle before deflate (when deflate >= 0)
};

struct TopKWriteOptions {
  ShardCompression compression;
  Int8Scheme int8_scheme = Int8Scheme::kRange;  // value_format int8 only
};

// The top-k layout: k = meta.top_k (1 <= k <= meta.num_classes), P =
// meta.positions (0: one distribution per row; P > 0: P token positions per
// row), G = rows * max(P, 1) distributions. topk_values (G * k, row-major,
// each group of k descending) are stored in meta.value_format (float16 and
// bfloat16 rounded to nearest even, int8 as in topk_codec.h), topk_indices
// (G * k) in [0, num_classes) as int32 or uint16 (narrow_indices), logsumexp
// (G) as float32. P = 0 with float16 writes the old layout byte for byte.
// Same durability and errors as write_shard.
void write_topk_shard(const std::string& final_path, const ShardMeta& meta,
                      const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                      const std::vector<float>& topk_values,
                      const std::vector<int32_t>& topk_indices,
                      const std::vector<float>& logsumexp,
                      const TopKWriteOptions& options = TopKWriteOptions());

struct TopK {
  int k = 0;
  std::vector<float> values;     // rows * k raw logits, each row descending
  std::vector<int32_t> indices;  // rows * k class indices (ties: lower index first)
  std::vector<float> logsumexp;  // rows: log sum_c exp(logit_c / temperature), all classes
};

// Top-k of each row of `logits` (rows * classes, row-major), 1 <= k <= classes,
// temperature > 0. NaN sorts above everything. logsumexp is taken over all
// classes at `temperature`, computed stably in double and rounded to float.
//
// The sparse KD loss needs exactly this normaliser: the teacher's tempered
// probability of a kept class c is exp(value_c / T - logsumexp), and the mass
// of the classes that were dropped is 1 - sum over the kept ones. Pass the
// shard's temperature (meta.temperature); a logsumexp taken at another T (or
// of the float16-rounded values) gives wrong probabilities.
// For token windows pass rows = windows * P (one distribution per token) and
// write with meta.positions = P: the layout is the same flat order.
// RuntimeFailure on bad arguments.
TopK topk_from_logits(const std::vector<float>& logits, int64_t rows, int classes, int k,
                      double temperature);

}  // namespace condenser
