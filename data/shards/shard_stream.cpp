#include "data/shards/shard_stream.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "data/augment.h"
#include "data/sampling.h"
#include "data/shards/shard_prefetcher.h"
#include "data/shards/shard_reader.h"

namespace condenser {
namespace {

constexpr uint64_t kShardOrderSalt = 0x5a4d;

}  // namespace

ShardStream::ShardStream(const SoftLabelSource& source, Manifest manifest, int prefetch_depth,
                         uint64_t seed)
    : source_(source),
      manifest_(std::move(manifest)),
      depth_(static_cast<size_t>(std::max(1, prefetch_depth))),
      seed_(seed) {
  if (manifest_.teacher_sha256 != source_.teacher_sha256 ||
      manifest_.dataset_fingerprint != source_.dataset_fingerprint) {
    throw UsageError("manifest.json was made by teacher " + manifest_.teacher_sha256 +
                     " on dataset " + manifest_.dataset_fingerprint + ", but this job's are " +
                     source_.teacher_sha256 + " and " + source_.dataset_fingerprint +
                     "; run with --relabel to label again");
  }
  for (const ManifestEntry& entry : manifest_.shards) verify_shard(source_.soft_label_dir, entry);
}

ShardStream::~ShardStream() = default;

double ShardStream::wait_seconds() const {
  return finished_wait_ + (prefetcher_ ? prefetcher_->wait_seconds() : 0.0);
}

void ShardStream::start_epoch(int64_t epoch) {
  if (prefetcher_) finished_wait_ += prefetcher_->wait_seconds();
  epoch_ = epoch;
  const std::vector<int64_t> order =
      permutation(static_cast<int64_t>(manifest_.shards.size()),
                  mix_seed(mix_seed(seed_, kShardOrderSalt), static_cast<uint64_t>(epoch)));
  std::vector<std::string> paths;
  paths.reserve(order.size());
  for (int64_t i : order) {
    paths.push_back(source_.soft_label_dir + "/" + manifest_.shards[static_cast<size_t>(i)].file);
  }
  prefetcher_ = std::make_unique<ShardPrefetcher>(paths, depth_);
  shards_loaded_ = 0;
  pending_samples_.clear();
  pending_views_.clear();
  pending_values_.clear();
  pending_indices_.clear();
  pending_lse_.clear();
  pending_pos_ = 0;
}

bool ShardStream::load_next_shard() {
  if (shards_loaded_ == manifest_.shards.size()) return false;
  const std::optional<ShardData> next = prefetcher_->next();
  if (!next) throw RuntimeFailure("soft-label stream ended before its last shard");
  const ShardData& shard = *next;
  if (shard.meta.teacher_sha256 != source_.teacher_sha256) {
    throw UsageError("a shard in '" + source_.soft_label_dir + "' was made by teacher " +
                     shard.meta.teacher_sha256 + ", not " + source_.teacher_sha256 +
                     "; run with --relabel");
  }
  const bool topk = shard.meta.top_k > 0;
  if (shard.meta.positions != manifest_.positions) {
    throw UsageError("a shard in '" + source_.soft_label_dir + "' has " +
                     std::to_string(shard.meta.positions) + " positions per row, the manifest " +
                     std::to_string(manifest_.positions) + "; run with --relabel");
  }
  const int64_t groups = std::max(shard.meta.positions, 1);  // distributions per row
  const int64_t width = (topk ? shard.meta.top_k : shard.meta.num_classes) * groups;
  // Keep what was not handed out yet, then append this shard's rows for the epoch.
  auto drop_used = [&](auto& v, size_t per_row) {
    v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(pending_pos_ * per_row));
  };
  drop_used(pending_samples_, 1);
  drop_used(pending_views_, 1);
  drop_used(pending_values_, static_cast<size_t>(width));
  if (topk) {
    drop_used(pending_indices_, static_cast<size_t>(width));
    drop_used(pending_lse_, static_cast<size_t>(groups));
  }
  pending_pos_ = 0;
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < shard.rows; ++r) {
    const int64_t s = shard.sample_index[static_cast<size_t>(r)];
    if (shard.view[static_cast<size_t>(r)] == view_for_epoch(s, epoch_, manifest_.views)) {
      rows.push_back(r);
    }
  }
  const std::vector<int64_t> order =
      permutation(static_cast<int64_t>(rows.size()),
                  mix_seed(mix_seed(seed_, static_cast<uint64_t>(epoch_)), shards_loaded_));
  for (int64_t o : order) {
    const int64_t r = rows[static_cast<size_t>(o)];
    pending_samples_.push_back(shard.sample_index[static_cast<size_t>(r)]);
    pending_views_.push_back(shard.view[static_cast<size_t>(r)]);
    const auto& values = topk ? shard.topk_values : shard.logits;
    pending_values_.insert(pending_values_.end(), values.begin() + r * width,
                           values.begin() + (r + 1) * width);
    if (topk) {
      pending_indices_.insert(pending_indices_.end(), shard.topk_indices.begin() + r * width,
                              shard.topk_indices.begin() + (r + 1) * width);
      pending_lse_.insert(pending_lse_.end(), shard.logsumexp.begin() + r * groups,
                          shard.logsumexp.begin() + (r + 1) * groups);
    }
  }
  ++shards_loaded_;
  return true;
}

bool ShardStream::next(size_t batch_size, StreamBatch* out) {
  if (epoch_ < 0) throw RuntimeFailure("ShardStream::next before start_epoch");
  while (pending_samples_.size() - pending_pos_ < batch_size && load_next_shard()) {
  }
  const size_t n = std::min(batch_size, pending_samples_.size() - pending_pos_);
  if (n == 0) return false;
  const bool topk = manifest_.format == "topk";
  const int64_t p = manifest_.positions, groups = std::max<int64_t>(p, 1);
  const int64_t k = topk ? manifest_.top_k : manifest_.num_classes, width = k * groups;
  const size_t b = pending_pos_;
  out->samples.assign(pending_samples_.begin() + b, pending_samples_.begin() + b + n);
  out->views.assign(pending_views_.begin() + b, pending_views_.begin() + b + n);
  const auto rows = static_cast<int64_t>(n);
  // [rows, P, k] and [rows, P] with token windows, else [rows, k] and [rows].
  std::vector<int64_t> shape = {rows, k}, lse_shape = {rows};
  if (p > 0) {
    shape = {rows, p, k};
    lse_shape = {rows, p};
  }
  at::Tensor values = torch::from_blob(pending_values_.data() + b * width,
                                       topk ? shape : std::vector<int64_t>{rows, width},
                                       torch::kFloat32)
                          .clone();
  out->targets = SoftTargets();
  out->targets.positions = static_cast<int>(p);
  if (topk) {
    out->targets.topk_values = values;
    out->targets.topk_indices =
        torch::from_blob(pending_indices_.data() + b * width, shape, torch::kInt64).clone();
    out->targets.logsumexp =
        torch::from_blob(pending_lse_.data() + b * groups, lse_shape, torch::kFloat32).clone();
  } else {
    out->targets.logits = values;
  }
  pending_pos_ += n;
  return true;
}

}  // namespace condenser
