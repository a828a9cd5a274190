#pragma once
// Where a training stage's batches come from (trainers/training.h runs the
// stage over one of these, trainers/train_step.h takes one step per batch).
//
// A source walks an epoch as a sequence of global batches of `global_batch`
// positions (world × the per-rank batch size; the last one may be short) and
// hands each rank only its rank_share of each (sizes differ by at most one;
// a rank may get none in the last step). Every rank makes the same calls in
// the same order: a source may be collective (EpochOrderSource::extend).
//
// Per epoch:  source.start_epoch(epoch); source.skip(batches_done);
//             while (auto batch = source.next()) { step on *batch }
// skip() is for a resumed epoch: the batch order is a function of the epoch
// only, so skipping the batches already trained is exact.
//
// Three sources: the in-memory table in epoch_order (TableBatches), that
// table in an order that grows as pipelined labelling commits shards
// (PipelinedBatches), and a stream over the shards (StreamBatches).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "data/shards/shard_stream.h"
#include "data/shards/soft_label_table.h"

namespace condenser {

// Samples a stage trains on: rows of `images`/`labels` listed in `indices`.
struct LabelledSet {
  at::Tensor images;             // [N, ...] float32, all samples
  at::Tensor labels;             // [N] int64
  std::vector<int64_t> indices;  // the sample indices in this set
};

// indices[begin, end) as an int64 tensor (a copy).
at::Tensor index_tensor(const std::vector<int64_t>& indices, size_t begin, size_t end);

// This rank's part of one global batch.
struct Batch {
  at::Tensor images;  // [local_rows, ...], augmented when the stage trains several views
  at::Tensor labels;  // [local_rows] int64
  // Distillation targets (undefined: cross-entropy on labels) and the rows
  // of them that hold these samples' targets.
  SoftTargets soft;
  at::Tensor rows;  // [local_rows] int64
  int64_t local_rows = 0;
  int64_t global_rows = 0;  // of the whole global batch, over every rank
  // Mixed (trainers/mixing.h): row i's image holds `lambda` of its own and
  // 1 - lambda of row partner[i]'s; the targets mix the same way. Undefined:
  // not mixed.
  at::Tensor partner;  // [local_rows] int64, on the CPU
  double lambda = 1.0;
};

// How each rank takes its share of each global batch. Fixed for the
// stage: next() and skip() both move by global_batch.
struct BatchShare {
  int rank = 0;
  int world = 1;
  size_t global_batch = 1;  // positions per step over all ranks
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Samples one epoch visits (all ranks together).
  virtual int64_t samples_per_epoch() const = 0;
  virtual void start_epoch(int64_t epoch) = 0;
  // Passes over the next `batches` global batches without building them.
  virtual void skip(int64_t batches) = 0;
  // The next global batch's share of this rank; nullopt at the epoch's end.
  virtual std::optional<Batch> next() = 0;
};

// Pipelined labelling (coordinator/stages/shard_pipeline.h): an epoch whose
// order is only known as soft-label shards are committed.
class EpochOrderSource {
 public:
  virtual ~EpochOrderSource() = default;
  virtual bool orders(int64_t epoch) const = 0;
  // Appends positions (into LabelledSet::indices) until `order` holds at
  // least `end`, blocking until their soft labels are in the table.
  // Collective: every rank calls it with the same arguments.
  virtual void extend(int64_t epoch, size_t end, std::vector<int64_t>& order) = 0;
};

// With views > 1, epoch e trains sample s on view view_for_epoch(s, e, views),
// augmented from (augment_seed, s, view).
struct SampleViews {
  int views = 1;
  uint64_t augment_seed = 0;
  bool flip = true;  // augment_view's flip: views may be mirrored
};

// The table: every sample of `set` once an epoch, in epoch_order(seed, salt,
// epoch). `soft` (undefined: cross-entropy) holds views rows per sample:
// row sample * views + view.
class TableBatches : public BatchSource {
 public:
  // Not owned: `set` must outlive the source.
  TableBatches(const LabelledSet& set, SoftTargets soft, SampleViews views, uint64_t seed,
               uint64_t salt, BatchShare share);

  int64_t samples_per_epoch() const override;
  void start_epoch(int64_t epoch) override;
  void skip(int64_t batches) override;
  std::optional<Batch> next() override;

 protected:
  // The epoch's order as far as it is known when the epoch starts.
  virtual std::vector<int64_t> epoch_order_for(int64_t epoch);
  // Makes sure the order holds positions [0, end) before next() uses them.
  virtual void order_up_to(size_t /*end*/) {}
  void fill_samples(size_t from);  // samples_[i] for the positions from `from` on

  const LabelledSet& set_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;    // positions into set_.indices
  std::vector<int64_t> samples_;  // set_.indices[order_[i]]

 private:
  const SoftTargets soft_;
  const SampleViews views_;
  const uint64_t seed_, salt_;
  const BatchShare share_;
  size_t begin_ = 0;  // the next global batch's first position
};

// The table in the order `orders` gives for the epochs it orders (growing
// before each batch it does not cover yet), in epoch_order for the others.
class PipelinedBatches : public TableBatches {
 public:
  PipelinedBatches(EpochOrderSource& orders, const LabelledSet& set, SoftTargets soft,
                   SampleViews views, uint64_t seed, uint64_t salt, BatchShare share);

 private:
  std::vector<int64_t> epoch_order_for(int64_t epoch) override;
  void order_up_to(size_t end) override;

  EpochOrderSource& orders_;
  bool growing_ = false;  // this epoch's order comes from orders_
};

// The shards, streamed: the stream's own shard-then-row order per epoch,
// every labelled sample once. Images and labels come from `set` (its
// indices are not used); the targets come with each batch.
class StreamBatches : public BatchSource {
 public:
  // Not owned: `stream` and `set` must outlive the source.
  StreamBatches(ShardStream& stream, const LabelledSet& set, uint64_t augment_seed, bool flip,
                BatchShare share);

  int64_t samples_per_epoch() const override { return stream_.samples_per_epoch(); }
  void start_epoch(int64_t epoch) override { stream_.start_epoch(epoch); }
  void skip(int64_t batches) override;
  std::optional<Batch> next() override;

 private:
  ShardStream& stream_;
  const LabelledSet& set_;
  const uint64_t augment_seed_;
  const bool flip_;
  const BatchShare share_;
  StreamBatch current_;
};

}  // namespace condenser
