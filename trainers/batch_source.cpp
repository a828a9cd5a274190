#include "trainers/batch_source.h"

#include <torch/torch.h>

#include <algorithm>

#include "data/augment.h"
#include "data/sampling.h"

namespace condenser {
namespace {

// The images of `ids`: augmented when several views are trained, else the rows as they are.
at::Tensor images_of(const LabelledSet& set, const std::vector<int64_t>& ids,
                     const std::vector<int>& views, int views_per_sample, uint64_t augment_seed,
                     bool flip) {
  return views_per_sample > 1 ? augment_batch(set.images, ids, views, augment_seed, flip)
                              : set.images.index_select(0, index_tensor(ids, 0, ids.size()));
}

}  // namespace

at::Tensor index_tensor(const std::vector<int64_t>& indices, size_t begin, size_t end) {
  return torch::from_blob(const_cast<int64_t*>(indices.data() + begin),
                          {static_cast<int64_t>(end - begin)}, torch::kInt64)
      .clone();
}

TableBatches::TableBatches(const LabelledSet& set, SoftTargets soft, SampleViews views,
                           uint64_t seed, uint64_t salt, BatchShare share)
    : set_(set), soft_(std::move(soft)), views_(views), seed_(seed), salt_(salt), share_(share) {}

int64_t TableBatches::samples_per_epoch() const {
  return static_cast<int64_t>(set_.indices.size());
}

void TableBatches::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  order_ = epoch_order_for(epoch);
  samples_.assign(set_.indices.size(), 0);
  fill_samples(0);
  begin_ = 0;
}

std::vector<int64_t> TableBatches::epoch_order_for(int64_t epoch) {
  return epoch_order(samples_per_epoch(), seed_, salt_, epoch);
}

void TableBatches::fill_samples(size_t from) {
  for (size_t i = from; i < std::min(samples_.size(), order_.size()); ++i) {
    samples_[i] = set_.indices[static_cast<size_t>(order_[i])];
  }
}

void TableBatches::skip(int64_t batches) { begin_ += size_t(batches) * share_.global_batch; }

std::optional<Batch> TableBatches::next() {
  const size_t n = samples_.size();
  if (begin_ >= n) return std::nullopt;
  const size_t end = std::min(n, begin_ + share_.global_batch);
  order_up_to(end);
  const RankShare share = rank_share(static_cast<int64_t>(end - begin_), share_.rank, share_.world);
  const size_t lo = begin_ + size_t(share.begin);
  const size_t hi = begin_ + size_t(share.end);
  // Sample s with view v is soft-target row s * K + v.
  const int k = views_.views;
  const std::vector<int64_t> ids(samples_.begin() + static_cast<std::ptrdiff_t>(lo),
                                 samples_.begin() + static_cast<std::ptrdiff_t>(hi));
  std::vector<int> views(ids.size(), 0);
  std::vector<int64_t> rows(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (k > 1) views[i] = view_for_epoch(ids[i], epoch_, k);
    rows[i] = ids[i] * k + views[i];
  }
  Batch b;
  b.images = images_of(set_, ids, views, k, views_.augment_seed, views_.flip);
  b.labels = set_.labels.index_select(0, index_tensor(samples_, lo, hi));
  b.soft = soft_;
  b.rows = index_tensor(rows, 0, rows.size());
  b.local_rows = static_cast<int64_t>(hi - lo);
  b.global_rows = static_cast<int64_t>(end - begin_);
  begin_ = end;
  return b;
}

PipelinedBatches::PipelinedBatches(EpochOrderSource& orders, const LabelledSet& set,
                                   SoftTargets soft, SampleViews views, uint64_t seed,
                                   uint64_t salt, BatchShare share)
    : TableBatches(set, std::move(soft), views, seed, salt, share), orders_(orders) {}

std::vector<int64_t> PipelinedBatches::epoch_order_for(int64_t epoch) {
  growing_ = orders_.orders(epoch);
  // A growing order starts empty: positions arrive with the shards.
  return growing_ ? std::vector<int64_t>() : TableBatches::epoch_order_for(epoch);
}

void PipelinedBatches::order_up_to(size_t end) {
  if (!growing_ || order_.size() >= end) return;
  const size_t known = order_.size();
  orders_.extend(epoch_, end, order_);
  fill_samples(known);
}

StreamBatches::StreamBatches(ShardStream& stream, const LabelledSet& set, uint64_t augment_seed,
                             bool flip, BatchShare share)
    : stream_(stream), set_(set), augment_seed_(augment_seed), flip_(flip), share_(share) {}

void StreamBatches::skip(int64_t batches) {
  for (int64_t i = 0; i < batches; ++i) stream_.next(share_.global_batch, &current_);
}

std::optional<Batch> StreamBatches::next() {
  if (!stream_.next(share_.global_batch, &current_)) return std::nullopt;
  const auto global_rows = static_cast<int64_t>(current_.samples.size());
  const RankShare share = rank_share(global_rows, share_.rank, share_.world);
  const std::vector<int64_t> ids(current_.samples.begin() + share.begin,
                                 current_.samples.begin() + share.end);
  const std::vector<int> views(current_.views.begin() + share.begin,
                               current_.views.begin() + share.end);
  Batch b;
  b.images = images_of(set_, ids, views, stream_.views(), augment_seed_, flip_);
  b.labels = set_.labels.index_select(0, index_tensor(ids, 0, ids.size()));
  // The batch's targets hold one row per sample of the global batch, in order.
  b.soft = current_.targets;
  b.rows = torch::arange(share.begin, share.end, torch::kInt64);
  b.local_rows = share.size();
  b.global_rows = global_rows;
  return b;
}

}  // namespace condenser
