#pragma once
// Reads soft-label shards written by write_shard (or by h5py with the same
// layout, see data/shards/shard_format.h), full or top-k. float16 values come back
// as float32.
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
  std::vector<float> topk_values;     // rows * k raw logits (float16 widened), descending
  std::vector<int32_t> topk_indices;  // rows * k class indices, each in [0, num_classes)
  std::vector<float> logsumexp;       // rows: log sum_c exp(logit_c / meta.temperature)
  int64_t rows = 0;
  LogitDType dtype = LogitDType::kFloat32;  // how logits / topk_values are stored in the file
};

// Everything in the shard.
ShardData read_shard(const std::string& path);

// Attributes only (cheap: no dataset is read).
ShardMeta read_shard_meta(const std::string& path);

// meta, sample_index, view, rows and dtype; logits / top-k datasets left
// empty, but their shapes and types are still validated. For inspection/coverage.
ShardData read_shard_index(const std::string& path);

}  // namespace condenser
