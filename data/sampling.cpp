#include "data/sampling.h"

#include <algorithm>

#include "core/errors.h"

namespace condenser {

uint64_t mix_seed(uint64_t seed, uint64_t salt) {
  SplitMix64 g(seed ^ (salt * 0xD1B54A32D192ED03ull));
  g.next();
  return g.next();
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  SplitMix64 g(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(p[i], p[g.below(static_cast<uint64_t>(i) + 1)]);
  }
  return p;
}

TrainValSplit make_train_val_split(int64_t n, int64_t validation_size, int64_t train_subset,
                                   uint64_t seed) {
  if (validation_size < 0 || validation_size >= n) {
    throw UsageError("data.validation_size = " + std::to_string(validation_size) +
                     " must be at least 0 and smaller than the training set (" +
                     std::to_string(n) + " samples)");
  }
  const std::vector<int64_t> p = permutation(n, mix_seed(seed, /*salt=*/0x5117));
  TrainValSplit split;
  split.validation.assign(p.begin(), p.begin() + validation_size);
  int64_t train_end = n;
  if (train_subset > 0) train_end = std::min(n, validation_size + train_subset);
  split.train.assign(p.begin() + validation_size, p.begin() + train_end);
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, uint64_t stage_salt, int64_t epoch) {
  return permutation(n, mix_seed(mix_seed(seed, stage_salt), static_cast<uint64_t>(epoch) + 1));
}

RankShare rank_share(int64_t count, int rank, int world) {
  // Floor of count * r / world for r and r + 1: sizes differ by at most one.
  return {count * rank / world, count * (rank + 1) / world};
}

int64_t steps_per_epoch(int64_t samples, int64_t batch_size, int world) {
  const int64_t global = batch_size * std::max(1, world);
  return (samples + global - 1) / global;
}

}  // namespace condenser
