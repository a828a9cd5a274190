#pragma once
// RUN_DIR/manifest.json: which shards exist, which positions of the labelled
// sample list each covers, and the checksum of each file. An entry is added
// only after its shard was renamed into place (see data/shards/shard_writer.h), and
// the manifest itself is replaced atomically, so it never names a torn file.
//
// {
//   "schema_version": 1, "teacher_sha256": "...", "dataset_fingerprint": "...",
//   "num_classes": 10, "temperature": 4.0, "dtype": "float16", "total_rows": 120000,
//   "format": "topk", "top_k": 8, "views": 2,
//   "shards": [{"file": "shard-000000.h5", "task_begin": 0, "task_end": 4096,
//               "views": 2, "rows": 8192, "sha256": "..."}, ...]
// }
#include <cstdint>
#include <string>
#include <vector>

namespace condenser {

struct ManifestEntry {
  std::string file;                      // relative to the soft_labels dir
  int64_t task_begin = 0, task_end = 0;  // positions [begin, end) in the labelled sample list
  int views = 1;                         // views per sample; rows = (end - begin) * views
  int64_t rows = 0;
  std::string sha256;  // of the shard file
};

struct Manifest {
  int schema_version = 1;
  std::string teacher_sha256;
  std::string dataset_fingerprint;
  int num_classes = 0;
  double temperature = 1.0;
  std::string dtype = "float32";  // "float32" | "float16"; top-k also "bfloat16" | "int8" (value_format)
  int64_t total_rows = 0;         // rows expected once every task is labelled
  // Shard layout. Manifests written before these existed load with the defaults.
  std::string format = "full";  // "full" (logits) | "topk" (topk_values/indices/logsumexp)
  int top_k = 0;                // k of every shard when format == "topk", else 0
  int views = 1;                // augmentation views per sample
  int positions = 0;            // token positions per row (top-k only; 0: none, written only when > 0)
  std::string teacher_precision = "fp32";  // teacher.precision the logits were computed in
  bool flip = true;             // the views may be mirrored (soft_labels.flip)
  std::vector<ManifestEntry> shards;
};

// UsageError naming the path if the file is missing, is not a regular file
// of at most kMaxRecordBytes (core/bounded_read.h), is not valid JSON, lacks
// a field, has a field of the wrong type, names an unknown dtype or format,
// or has a top_k that does not fit the format (topk: > 0, full: 0), or views < 1.
// format, top_k, views, positions, teacher_precision and flip are optional
// (defaults "full", 0, 1, 0, "fp32", true).
Manifest load_manifest(const std::string& path);

// Pretty JSON, replaced atomically (atomic_write_file). RuntimeFailure on I/O errors.
void save_manifest(const std::string& path, const Manifest& manifest);

// True when `file` (a manifest entry) names a shard inside soft_label_dir:
// one path component (no '/', not "." or "..") that is not a symlink
// leading out of it (core/path_inside.h). Only such entries may be read,
// moved or listed: a manifest is a file anyone may have edited.
bool is_contained_shard(const std::string& soft_label_dir, const std::string& file);

// Checks that soft_label_dir/entry.file exists and its sha256 equals
// entry.sha256. UsageError naming the file (and expected vs actual hash)
// otherwise, with the advice to relabel; also when it is not
// is_contained_shard (then nothing is read).
void verify_shard(const std::string& soft_label_dir, const ManifestEntry& entry);

}  // namespace condenser
