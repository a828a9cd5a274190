#pragma once
// Reads soft-label shards written by write_shard (or by h5py with the same
// layout, see data/shard_format.h). float16 logits come back as float32.
//
// Anything wrong with the file itself — missing, not HDF5 (e.g. truncated),
// a missing dataset or attribute, a wrong type, shapes that disagree, another
// schema_version — throws UsageError naming the file and the problem and
// telling the user to relabel ("run with --relabel or delete the shard").
#include <cstdint>
#include <string>
#include <vector>

#include "data/shard_format.h"

namespace condenser {

struct ShardData {
  ShardMeta meta;
  std::vector<int64_t> sample_index;  // rows entries
  std::vector<int32_t> view;          // rows entries
  std::vector<float> logits;  // rows * meta.num_classes, row-major (empty from read_shard_index)
  int64_t rows = 0;
  LogitDType dtype = LogitDType::kFloat32;  // how the logits are stored in the file
};

// Everything in the shard.
ShardData read_shard(const std::string& path);

// Attributes only (cheap: no dataset is read).
ShardMeta read_shard_meta(const std::string& path);

// meta, sample_index, view, rows and dtype; logits left empty. The logits
// dataset's shape and type are still validated. For inspection/coverage.
ShardData read_shard_index(const std::string& path);

}  // namespace condenser
