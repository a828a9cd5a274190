#pragma once
// Teacher inference for one labelling task: the teacher runs once over a
// contiguous slice of the labelled sample list, and its raw logits (not
// divided by the temperature; the shard records T) go to one HDF5 shard.
// The coordinator commits the returned entry to the manifest.
#include <torch/script.h>

#include <string>
#include <vector>

#include "data/manifest.h"
#include "data/shard_format.h"

namespace condenser {

struct LabelTask {
  int64_t begin = 0;  // positions [begin, end) in the labelled sample list
  int64_t end = 0;
  std::string file;   // shard file name inside the soft-label directory
};

struct LabellerSetup {
  at::Tensor images;             // all samples, [N, ...] float32
  std::vector<int64_t> samples;  // the labelled sample list (sample indices)
  ShardMeta meta;                // provenance written into every shard
  LogitDType dtype = LogitDType::kFloat32;
  int64_t batch_size = 500;
  std::string soft_label_dir;
};

// Runs the teacher (eval mode, inference mode) over the task's samples and
// writes the shard durably. Returns the manifest entry (with the file's
// SHA-256). Not thread-safe: one labeller per process does HDF5 I/O.
ManifestEntry label_task(torch::jit::Module& teacher, const LabellerSetup& setup,
                         const LabelTask& task);

}  // namespace condenser
