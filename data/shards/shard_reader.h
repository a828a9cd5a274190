#pragma once
// Reads soft-label shards written by write_shard (or by h5py with the same
// layout, see data/shards/shard_format.h), full or top-k, with or without
// token positions. Values of any format (float16, bfloat16, int8) come back as
// float32 logits.
//
// Anything wrong with the file itself — missing, not HDF5 (e.g. truncated),
// a missing dataset or attribute, a wrong type, shapes that disagree, another
// schema_version — throws UsageError naming the file and the problem and
// telling the user to relabel ("run with --relabel or delete the shard").
#include <cstdint>
#include <string>
#include <vector>

#include "data/shards/shard_format.h"

namespace condenser {

struct ShardData {
  ShardMeta meta;
  std::vector<int64_t> sample_index;  // rows entries
  std::vector<int32_t> view;          // rows entries
  // Full layout (meta.top_k == 0): rows * meta.num_classes, row-major; empty
  // for top-k shards and from read_shard_index.
  std::vector<float> logits;
  // Top-k layout (meta.top_k == k > 0); empty otherwise and from read_shard_index.
  // G = rows * max(1, meta.positions) distributions (P > 0: row-major [rows, P, k]).
  std::vector<float> topk_values;     // G * k raw logits decoded to float32, descending
  std::vector<int32_t> topk_indices;  // G * k class indices (stored int32 or uint16), in [0, C)
  std::vector<float> logsumexp;       // G: log sum_c exp(logit_c / meta.temperature)
  int64_t rows = 0;
  // How logits / topk_values are stored: float16 also for bfloat16 and int8
  // top-k values (meta.value_format says which; it is inferred from the
  // dataset for shards without the attribute).
  LogitDType dtype = LogitDType::kFloat32;
};

// Everything in the shard.
ShardData read_shard(const std::string& path);

// Attributes only (cheap: no dataset is read).
ShardMeta read_shard_meta(const std::string& path);

// meta, sample_index, view, rows and dtype; logits / top-k datasets left
// empty, but their shapes and types are still validated. For inspection/coverage.
ShardData read_shard_index(const std::string& path);

}  // namespace condenser
