#pragma once
// `condenser inspect shards DIR`: checks a run's soft labels against its
// manifest without loading any logits. Reads manifest.json, hashes every
// shard, reads each shard's sample_index/view, and reports per-shard health
// and coverage of (sample_index, view) pairs. Full and top-k shards alike;
// bytes/sample is the file's size over its rows, whatever the layout. The CLI prints
// format_inspection() and exits 1 when !ok.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/shards/manifest.h"

namespace condenser {

enum class ChecksumState { kOk, kBad, kMissing };

struct ShardReport {
  ManifestEntry entry;  // as listed in the manifest
  ChecksumState checksum = ChecksumState::kMissing;
  std::string actual_sha256;  // empty when the file is missing
  int64_t file_rows = -1;     // rows in the file; -1 when it could not be read
  uint64_t file_bytes = 0;
  double bytes_per_sample = 0;  // file size / rows (0 when rows is 0 or unknown)
  int positions = 0;            // token positions per row (0: not token windows)
  double bytes_per_token = 0;   // file size / (rows * P) when P > 0, else bytes_per_sample
  // Provenance from the shard's own attributes (empty/0 when unreadable).
  std::string teacher_sha256;
  std::string dtype;  // storage of logits (full) or top-k value_format (float16, bfloat16, int8...)
  int top_k = 0;      // 0: full logits
  double temperature = 0;
  std::vector<std::string> problems;  // empty when this shard is fine
};

// A file in soft_labels/quarantine/: a shard an earlier resume moved out
// of use (bad checksum, unreadable, another teacher...), with why.
struct QuarantinedShard {
  std::string file;    // its name in the quarantine folder
  std::string reason;  // the "reason:" line of FILE.reason.txt ("" when there is none)
  uint64_t bytes = 0;
};

struct ShardInspection {
  std::string run_dir;         // holds manifest.json
  std::string soft_label_dir;  // holds the shards
  std::string manifest_path;
  Manifest manifest;
  std::vector<ShardReport> shards;  // manifest order
  // Coverage over all readable shards.
  int64_t expected_pairs = 0;   // manifest.total_rows
  int64_t distinct_pairs = 0;   // distinct (sample_index, view) pairs found
  int64_t duplicate_pairs = 0;  // rows whose pair was already seen
  int64_t missing_pairs = 0;    // max(0, expected_pairs - distinct_pairs)
  // Positions of the labelled sample list no shard covers, as [begin, end).
  std::vector<std::pair<int64_t, int64_t>> position_gaps;
  std::string quarantine_dir;                // soft_label_dir + "/quarantine"
  std::vector<QuarantinedShard> quarantined;  // sorted by name; not used, not a problem
  std::vector<std::string> problems;  // every problem found, one line each
  bool ok = false;  // no gap, duplicate, missing pair, bad checksum or unreadable shard
};

// `dir` is either the run dir (manifest.json + soft_labels/) or the
// soft_labels dir whose parent holds manifest.json. UsageError when neither
// has a manifest or it is malformed; problems with shards are reported in
// the result, not thrown. A manifest entry that is not a shard inside the
// soft_labels dir (is_contained_shard) is a problem and is never opened.
ShardInspection inspect_shards(const std::string& dir);

// A readable multi-line report: manifest summary, one table row per shard,
// coverage, what quarantine/ holds, and the problem list (ends with "OK" or
// "PROBLEMS: n").
std::string format_inspection(const ShardInspection& inspection);

}  // namespace condenser
