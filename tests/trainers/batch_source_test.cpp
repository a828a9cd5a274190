// Batch sources: each rank's shares make up the one-rank global batch, skip
// lands where next would, and a pipelined order grows only when a batch
// needs positions it lacks.
#include "trainers/batch_source.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace condenser {
namespace {

constexpr int64_t kSamples = 23;

LabelledSet make_set() {
  LabelledSet set;
  set.images = torch::arange(kSamples * 4, torch::kFloat32).reshape({kSamples, 1, 2, 2});
  set.labels = torch::arange(kSamples, torch::kInt64);  // label = sample index
  for (int64_t i = 0; i < kSamples; ++i) {
    if (i % 5 != 3) set.indices.push_back(i);  // a set that is not all samples
  }
  return set;
}

std::vector<Batch> epoch_of(BatchSource& source, int64_t epoch, int64_t skip = 0) {
  source.start_epoch(epoch);
  source.skip(skip);
  std::vector<Batch> out;
  while (auto b = source.next()) out.push_back(*b);
  return out;
}

TEST(TableBatches, RankSharesConcatenateToTheOneRankGlobalBatch) {
  const LabelledSet set = make_set();
  SoftTargets soft;
  soft.logits = torch::randn({kSamples, 3});
  const int world = 3;
  TableBatches one(set, soft, {}, 7, 11, {0, 1, size_t(4 * world)});
  const std::vector<Batch> whole = epoch_of(one, 2);
  std::vector<std::vector<Batch>> ranks;
  for (int r = 0; r < world; ++r) {
    TableBatches mine(set, soft, {}, 7, 11, {r, world, size_t(4 * world)});
    ranks.push_back(epoch_of(mine, 2));
  }
  ASSERT_EQ(whole.size(), (set.indices.size() + 11) / 12);
  for (size_t step = 0; step < whole.size(); ++step) {
    std::vector<at::Tensor> labels, rows, images;
    for (int r = 0; r < world; ++r) {
      const Batch& b = ranks[size_t(r)][step];
      EXPECT_EQ(b.global_rows, whole[step].global_rows);
      EXPECT_EQ(b.local_rows, b.labels.numel());
      EXPECT_TRUE(b.soft.logits.is_same(soft.logits));
      labels.push_back(b.labels);
      rows.push_back(b.rows);
      images.push_back(b.images);
    }
    EXPECT_TRUE(torch::equal(torch::cat(labels), whole[step].labels)) << step;
    EXPECT_TRUE(torch::equal(torch::cat(rows), whole[step].rows)) << step;
    EXPECT_TRUE(torch::equal(torch::cat(images), whole[step].images)) << step;
    // One view: the soft-target row is the sample itself.
    EXPECT_TRUE(torch::equal(whole[step].rows, whole[step].labels)) << step;
  }
}

TEST(TableBatches, SkipLandsWhereNextWouldAndEveryEpochVisitsTheSetOnce) {
  const LabelledSet set = make_set();
  TableBatches source(set, SoftTargets(), {}, 3, 5, {0, 1, 5});
  const std::vector<Batch> all = epoch_of(source, 1);
  const std::vector<Batch> tail = epoch_of(source, 1, 2);
  ASSERT_EQ(tail.size() + 2, all.size());
  for (size_t i = 0; i < tail.size(); ++i) {
    EXPECT_TRUE(torch::equal(tail[i].labels, all[i + 2].labels));
  }
  std::vector<at::Tensor> seen;
  for (const Batch& b : all) seen.push_back(b.labels);
  const at::Tensor sorted = std::get<0>(torch::cat(seen).sort());
  EXPECT_TRUE(torch::equal(sorted, torch::tensor(set.indices)));
  EXPECT_FALSE(torch::equal(torch::cat(seen), torch::tensor(set.indices)));  // shuffled
}

// Orders epoch 0 as the reverse of the set, 4 positions at a time.
class ReverseOrder : public EpochOrderSource {
 public:
  explicit ReverseOrder(size_t n) : n_(n) {}
  bool orders(int64_t epoch) const override { return epoch == 0; }
  void extend(int64_t epoch, size_t end, std::vector<int64_t>& order) override {
    EXPECT_EQ(epoch, 0);
    ends.push_back(end);
    while (order.size() < std::min(n_, end)) {
      for (size_t k = 0; k < 4 && order.size() < n_; ++k) {
        order.push_back(static_cast<int64_t>(n_ - 1 - order.size()));
      }
    }
  }
  std::vector<size_t> ends;

 private:
  size_t n_;
};

TEST(PipelinedBatches, GrowsTheOrderOnlyForBatchesItLacksAndFallsBackToTheEpochOrder) {
  const LabelledSet set = make_set();
  ReverseOrder order(set.indices.size());
  PipelinedBatches source(order, set, SoftTargets(), {}, 3, 5, {0, 1, 6});
  const std::vector<Batch> first = epoch_of(source, 0, 1);
  // 19 positions in batches of 6, 4 at a time: the skipped batch is not
  // fetched, [6, 12) asks for 12, [12, 18) for 18 (which brings all 19),
  // and [18, 19) asks for nothing.
  EXPECT_EQ(order.ends, (std::vector<size_t>{12, 18}));
  std::vector<at::Tensor> labels;
  for (const Batch& b : first) labels.push_back(b.labels);
  std::vector<int64_t> expected(set.indices.rbegin() + 6, set.indices.rend());
  EXPECT_TRUE(torch::equal(torch::cat(labels), torch::tensor(expected)));

  TableBatches table(set, SoftTargets(), {}, 3, 5, {0, 1, 6});
  const std::vector<Batch> a = epoch_of(source, 1), b = epoch_of(table, 1);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].labels, b[i].labels));
}

}  // namespace
}  // namespace condenser
