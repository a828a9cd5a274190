#pragma once
// The language-model benchmarks (`condenser bench lm_label | lm_distill |
// lm_shards`) and what they share: the KJV token file (vocabulary 4096,
// windows of T = 128 tokens) and the lm_kjv models (configs/lm_kjv.yaml),
// or tiny ones with --quick. Every figure is also given in tokens/s.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/benches.h"
#include "config/model_decl.h"
#include "data/datasets.h"

namespace condenser {

BenchReport bench_lm_label(const BenchOptions& options);    // bench_lm_label.cpp
BenchReport bench_lm_distill(const BenchOptions& options);  // bench_lm_distill.cpp
BenchReport bench_lm_shards(const BenchOptions& options);   // bench_lm_shards.cpp

constexpr int64_t kLmVocab = 4096, kLmSeqLen = 128;
constexpr int kLmTopK = 32;
constexpr int64_t kLmLabelBatch = 32;  // lm_kjv soft_labels.batch_size
constexpr uint64_t kLmSplitSeed = 7;

// The KJV token file the benches read: text_token_file at vocabulary 4096 in
// $CONDENSER_CACHE, or OUT/cache when that is unset (set for this process
// and its workers), so a second run reuses it.
std::string lm_token_file(const BenchOptions& options);

// `count` training windows of the token file, as a job with train_subset =
// count, no validation carve and split seed kLmSplitSeed picks them (the
// list a worker derives from the same LabelSpec).
struct LmWindows {
  std::string token_file;
  DatasetInfo info;
  ImageDataset train;            // all train windows: ids [N, T], next-token labels [N, T]
  std::vector<int64_t> samples;  // the picked windows (indices into train)
};
LmWindows lm_windows(const BenchOptions& options, int64_t count);

// lm_kjv's teacher (6 blocks, D 256) and student (4 blocks, D 128); with
// quick, lm_tiny's (D 64 and 32). Input [T], vocabulary kLmVocab.
ModelSpec lm_teacher_spec(bool quick);
ModelSpec lm_student_spec(bool quick);

}  // namespace condenser
