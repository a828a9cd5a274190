#pragma once
// Deterministic splits and epoch orders. Everything here is a pure function of
// its arguments (own SplitMix64 generator, own Fisher-Yates), so every process
// and every platform derives the same order from (seed, epoch).
#include <cstdint>
#include <vector>

namespace condenser {

// 64-bit mix of a seed and a salt; different salts give independent streams.
uint64_t mix_seed(uint64_t seed, uint64_t salt);

// A uniformly random permutation of [0, n) determined by `seed` alone.
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

struct TrainValSplit {
  std::vector<int64_t> train;       // sample indices, ascending
  std::vector<int64_t> validation;  // sample indices, ascending, disjoint from train
};

// Carves `validation_size` samples out of [0, n) at random (from seed); the
// rest is train, cut to its first `train_subset` (0 = all) in permuted order.
// validation is cut to `validation_size` before train, so subsets never overlap.
TrainValSplit make_train_val_split(int64_t n, int64_t validation_size, int64_t train_subset,
                                   uint64_t seed);

// The order of positions [0, n) visited in `epoch` of a stage (salted by stage).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, uint64_t stage_salt, int64_t epoch);

}  // namespace condenser
