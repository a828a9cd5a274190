#pragma once
// Streams a manifest's soft-label shards through training epochs with bounded
// memory: each epoch visits the shards in a random order (from seed, salt and
// epoch) while a background ShardPrefetcher reads up to `depth` shards ahead,
// shuffles each shard's rows, and keeps only the view the epoch trains for
// each sample (view_for_epoch). Every labelled sample is seen exactly once an
// epoch; at most depth + 1 shards (plus one batch) are held in memory, so the
// label set may exceed RAM. A training step never calls HDF5 itself.
#include <memory>
#include <string>
#include <vector>

#include "data/shards/manifest.h"
#include "data/shards/soft_label_table.h"

namespace condenser {

class ShardPrefetcher;
struct ShardData;

struct StreamBatch {
  std::vector<int64_t> samples;  // sample indices
  std::vector<int> views;        // the view of each sample this epoch
  SoftTargets targets;           // one row per entry above (views = 1 in this table)
};

class ShardStream {
 public:
  // Verifies every shard (checksum, provenance) up front: UsageError naming
  // the file otherwise, as load_soft_labels does.
  ShardStream(const SoftLabelSource& source, Manifest manifest, int prefetch_depth,
              uint64_t seed);
  ~ShardStream();

  void start_epoch(int64_t epoch);
  // The next up to `batch_size` rows; false when the epoch is done.
  bool next(size_t batch_size, StreamBatch* out);

  int64_t samples_per_epoch() const { return manifest_.total_rows / manifest_.views; }
  int views() const { return manifest_.views; }
  double wait_seconds() const;  // time next() spent blocked on HDF5 reads, all epochs

 private:
  bool load_next_shard();

  SoftLabelSource source_;
  Manifest manifest_;
  size_t depth_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  size_t shards_loaded_ = 0;
  std::unique_ptr<ShardPrefetcher> prefetcher_;
  double finished_wait_ = 0.0;
  // Rows selected from loaded shards and not yet handed out.
  std::vector<int64_t> pending_samples_;
  std::vector<int> pending_views_;
  std::vector<float> pending_values_;     // full logits, or top-k values
  std::vector<int64_t> pending_indices_;  // top-k class ids
  std::vector<float> pending_lse_;        // top-k logsumexp (P per row with token windows)
  size_t pending_pos_ = 0;
};

}  // namespace condenser
