#pragma once
// Reads the teacher's cached soft labels back from the HDF5 shards listed in a
// manifest, for a training stage. Each shard's checksum and provenance are
// verified before a single value is used.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "data/shards/manifest.h"

namespace condenser {

// The teacher's cached targets for distillation, one row per (sample, view):
// row = sample_index * views + view. Either full logits or top-k. With
// token windows (positions P > 0, top-k only) each row is a window of P tokens.
struct SoftTargets {
  at::Tensor logits;        // [rows, C] raw teacher logits (format full)
  at::Tensor topk_values;   // [rows, k] or [rows, P, k] raw logits of the kept classes (topk)
  at::Tensor topk_indices;  // [rows, k] or [rows, P, k] int64 class ids
  at::Tensor logsumexp;     // [rows] or [rows, P]: log sum_c exp(t_c / T) at the shards' T
  int views = 1;
  int positions = 0;        // P; 0: one distribution per row
  bool defined() const { return logits.defined() || topk_values.defined(); }
};

struct SoftLabelSource {
  std::string soft_label_dir;      // RUN_DIR/soft_labels
  std::string teacher_sha256;      // the teacher this job uses
  std::string dataset_fingerprint; // the dataset this job uses
};

// Reads every shard of the manifest (through the background prefetcher, up
// to `prefetch_depth` shards ahead) into SoftTargets with manifest.views rows
// per sample: full logits [num_samples * views, C] or top-k tables ([.., P, k]
// and [.., P] when manifest.positions = P > 0); rows no shard covers are NaN. Throws UsageError when the manifest or a shard
// belongs to another teacher or dataset (naming both hashes), when a shard
// fails its checksum, or when a (sample, view) of `required` has no label.
SoftTargets load_soft_labels(const SoftLabelSource& source, const Manifest& manifest,
                             int64_t num_samples, const std::vector<int64_t>& required,
                             int prefetch_depth = 2);

}  // namespace condenser
