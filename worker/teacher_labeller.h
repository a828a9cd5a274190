#pragma once
// Teacher inference for one labelling task: the teacher runs once per
// (sample, view) over a contiguous slice of the labelled sample list, and its
// raw logits (not divided by the temperature; the shard records T), or their
// top-k with the tempered logsumexp, go to one HDF5 shard. Rows are ordered
// by position, then view. A task is protocol/label_task.h's LabelTask; its
// `file` is where the shard is written (a worker: its lease's attempt file).
// The coordinator commits the returned entry to the manifest.
#include <torch/script.h>

#include <string>
#include <vector>

#include "data/shards/manifest.h"
#include "data/shards/shard_format.h"
#include "data/shards/shard_writer.h"
#include "protocol/label_task.h"

namespace condenser {

struct LabellerSetup {
  at::Tensor images;             // all samples, [N, ...] float32
  std::vector<int64_t> samples;  // the labelled sample list (sample indices)
  ShardMeta meta;                // provenance written into every shard
  LogitDType dtype = LogitDType::kFloat32;  // full format
  int top_k = 0;          // 0: full logits; k > 0: top-k layout (meta.top_k must match)
  int views = 1;          // views per sample; view 0 is the original image
  uint64_t augment_seed = 0;  // views >= 1 are augment_view(image, seed, sample, view, flip)
  bool flip = true;
  int64_t batch_size = 500;
  std::string soft_label_dir;
  // Token windows (images = ids [N, T]): T, and the teacher gives [B, T, V]
  // logits, stored as their top-k per position (top_k > 0 required). 0: one
  // distribution per sample.
  int64_t positions = 0;
};

// A task's teacher outputs, rows ordered by position then view.
struct TaskLogits {
  std::vector<int64_t> sample_index;
  std::vector<int32_t> view;
  std::vector<float> logits;  // [rows, classes], raw (empty for token windows)
  int64_t rows = 0;
  int64_t positions = 0;  // token windows: their top-k per position is in `topk`
  TopK topk;              // [rows, positions, k] values and indices, [rows, positions] logsumexp
};

// The inference half: runs the teacher (eval mode, inference mode) over the
// task's samples. No I/O. UsageError naming the first sample whose logits
// are not finite (or overflow float16 storage): such a task is never written.
TaskLogits infer_task(torch::jit::Module& teacher, const LabellerSetup& setup,
                      const LabelTask& task);

// The I/O half: writes the shard durably (full or top-k) and returns the
// manifest entry (with the file's SHA-256). No LibTorch calls, so a worker
// can write task N on its one HDF5 thread while inferring task N + 1.
ManifestEntry write_task_shard(const LabellerSetup& setup, const LabelTask& task,
                               const TaskLogits& out);

// teacher.precision: "fp32" leaves the module as it is; "bf16" casts its
// floating-point parameters and buffers to bfloat16 (infer_task casts each
// batch to the module's dtype; logits come back as float32). Why weights and
// not autocast: TorchScript modules ignore the C++ autocast state in their
// scripted forward, and the zoo's models are small enough for bf16 weights.
// UsageError naming the key for any other value.
void set_teacher_precision(torch::jit::Module& teacher, const std::string& precision);

// Both halves in turn. Not thread-safe: one labeller per process does HDF5 I/O.
ManifestEntry label_task(torch::jit::Module& teacher, const LabellerSetup& setup,
                         const LabelTask& task);

}  // namespace condenser
