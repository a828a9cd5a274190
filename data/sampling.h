#pragma once
// Deterministic splits and epoch orders. Everything here is a pure function of
// its arguments (own SplitMix64 generator, own Fisher-Yates), so every process
// and every platform derives the same order from (seed, epoch).
#include <cstdint>
#include <vector>

namespace condenser {

// The generator behind every random choice condenser makes itself (Steele et
// al.'s SplitMix64): tiny, fast, and the same on every platform, unlike
// std::uniform_int_distribution.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) without modulo bias (Lemire's rejection).
  uint64_t below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      const uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }

 private:
  uint64_t state_;
};

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

// Rank `rank`'s contiguous part of `count` items split over `world` ranks:
// [begin, end). Parts differ in size by at most one, cover every item once in
// rank order; some are empty when count < world.
struct RankShare {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
RankShare rank_share(int64_t count, int rank, int world);

// Optimizer steps in an epoch of `samples` when each step takes `batch_size`
// per rank on `world` ranks (the last step may be short).
int64_t steps_per_epoch(int64_t samples, int64_t batch_size, int world);

}  // namespace condenser
