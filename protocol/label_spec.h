#pragma once
// What a worker needs to label any task of a job, sent by the coordinator in
// its welcome: where the teacher and data are, how the labelled sample list is
// drawn, and the shard layout. Workers share the run directory's file system
// (they write shards into soft_label_dir). The coordinator also stores it
// with its task table (a restart resumes leases only for the same spec).
// No LibTorch here.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace condenser {

struct LabelSpec {
  std::string teacher_path;    // TorchScript file (absolute)
  // The teacher's identity: SHA-256 of its parameters, buffers and code
  // (module_identity), checked by the worker on the file it loads.
  std::string teacher_sha256;
  // The labelled sample list: make_train_val_split(N, validation_size,
  // train_subset, split_seed).train over the dataset's training split.
  std::string dataset = "fashion_mnist";
  std::string data_dir;
  int64_t validation_size = 0, train_subset = 0;
  uint64_t split_seed = 0;
  std::string dataset_fingerprint;  // checked against the loaded data
  int64_t num_samples = 0;          // length of the list (checked)
  // data.seq_len: tokens per window of a token file (describe_dataset);
  // 0 from coordinators older than token datasets (and unused by other kinds).
  int64_t seq_len = 0;
  // Shards.
  std::string soft_label_dir;  // absolute
  double temperature = 1.0;
  int num_classes = 0;
  std::string dtype = "float32";
  int top_k = 0;
  int views = 1;
  uint64_t augment_seed = 0;
  bool flip = true;  // augmentation views may be mirrored
  int64_t batch_size = 500;
  std::string precision = "fp32";  // teacher.precision: fp32 | bf16 weights
  // soft_labels.topk_dtype: how top-k values are stored (float32 | float16 |
  // bfloat16 | int8); absent from older coordinators: float16.
  std::string topk_dtype = "float16";
};

nlohmann::json to_json(const LabelSpec& spec);
// ProtocolError (frame.h) naming `where` and the field when `j` lacks one
// or has the wrong type (only `precision`, `seq_len` and `topk_dtype` may be absent: fp32
// and 0), or when views or batch_size is below 1.
LabelSpec label_spec_from_json(const nlohmann::json& j, const std::string& where = "label spec");

}  // namespace condenser
