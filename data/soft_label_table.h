#pragma once
// Reads the teacher's cached soft labels back from the HDF5 shards listed in a
// manifest, for a training stage. Each shard's checksum and provenance are
// verified before a single value is used.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "data/manifest.h"

namespace condenser {

struct SoftLabelSource {
  std::string soft_label_dir;      // RUN_DIR/soft_labels
  std::string teacher_sha256;      // the teacher this job uses
  std::string dataset_fingerprint; // the dataset this job uses
};

// Returns [num_samples, C] float32 teacher logits indexed by sample index
// (rows of samples no shard covers are NaN). Throws UsageError when the
// manifest or a shard belongs to another teacher or dataset (naming both
// hashes), when a shard fails its checksum, or when a sample in `required`
// has no soft label.
at::Tensor load_soft_labels(const SoftLabelSource& source, const Manifest& manifest,
                            int64_t num_samples, const std::vector<int64_t>& required);

}  // namespace condenser
