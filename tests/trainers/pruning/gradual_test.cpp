// Gradual pruning: the Zhu & Gupta cubic schedule, which steps prune, and
// masks that never revive a weight pruned at an earlier step.
#include "trainers/pruning/gradual.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/errors.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

int64_t count_pruned(const PruneMasks& masks) {
  int64_t pruned = 0;
  for (const auto& kv : masks.masks()) pruned += kv.second.eq(0).sum().item<int64_t>();
  return pruned;
}

int64_t prunable_total(const torch::jit::Module& m) {
  int64_t total = 0;
  for (const auto& p : m.named_parameters()) {
    if (is_prunable(p.name, p.value)) total += p.value.numel();
  }
  return total;
}

// Redraws every parameter from another seed, as training would move them.
void redraw(torch::jit::Module& m, uint64_t seed) {
  torch::jit::Module other = build_model(zoo_spec("small_cnn"), seed);
  torch::NoGradGuard no_grad;
  for (const auto& p : other.named_parameters()) m.attr(p.name).toTensor().copy_(p.value);
}

TEST(CubicSparsity, MatchesHandComputedValues) {
  // s_i = 0, s_f = 0.8, t0 = 0, n = 10, dt = 5: the ramp ends at step 50.
  EXPECT_DOUBLE_EQ(cubic_sparsity(-1, 0.0, 0.8, 0, 10, 5), 0.0);
  EXPECT_DOUBLE_EQ(cubic_sparsity(0, 0.0, 0.8, 0, 10, 5), 0.0);
  EXPECT_NEAR(cubic_sparsity(25, 0.0, 0.8, 0, 10, 5), 0.7, 1e-12);  // 0.8 - 0.8 * 0.5^3
  EXPECT_NEAR(cubic_sparsity(5, 0.0, 0.8, 0, 10, 5), 0.8 - 0.8 * 0.729, 1e-12);
  EXPECT_DOUBLE_EQ(cubic_sparsity(50, 0.0, 0.8, 0, 10, 5), 0.8);
  EXPECT_DOUBLE_EQ(cubic_sparsity(100, 0.0, 0.8, 0, 10, 5), 0.8);
  // s_i = 0.1, s_f = 0.9, t0 = 10, n = 4, dt = 10: the ramp is steps 10..50.
  EXPECT_DOUBLE_EQ(cubic_sparsity(9, 0.1, 0.9, 10, 4, 10), 0.1);
  EXPECT_DOUBLE_EQ(cubic_sparsity(10, 0.1, 0.9, 10, 4, 10), 0.1);
  EXPECT_NEAR(cubic_sparsity(30, 0.1, 0.9, 10, 4, 10), 0.9 - 0.8 * 0.125, 1e-12);
  EXPECT_DOUBLE_EQ(cubic_sparsity(50, 0.1, 0.9, 10, 4, 10), 0.9);
  // n = 0: everything at once from t0.
  EXPECT_DOUBLE_EQ(cubic_sparsity(2, 0.0, 0.5, 3, 0, 1), 0.0);
  EXPECT_DOUBLE_EQ(cubic_sparsity(3, 0.0, 0.5, 3, 0, 1), 0.5);
}

TEST(CubicSparsity, IsMonotoneNonDecreasingAndStaysInRange) {
  double last = -1.0;
  for (int64_t step = -20; step <= 200; ++step) {
    const double s = cubic_sparsity(step, 0.2, 0.95, 7, 12, 9);
    EXPECT_GE(s, last) << step;
    EXPECT_GE(s, 0.2) << step;
    EXPECT_LE(s, 0.95) << step;
    last = s;
  }
  EXPECT_DOUBLE_EQ(last, 0.95);
}

TEST(CubicSparsity, RejectsBadArguments) {
  EXPECT_THROW(cubic_sparsity(0, 0.0, 1.0, 0, 10, 5), UsageError);
  EXPECT_THROW(cubic_sparsity(0, -0.1, 0.5, 0, 10, 5), UsageError);
  EXPECT_THROW(cubic_sparsity(0, 0.6, 0.5, 0, 10, 5), UsageError);
  EXPECT_THROW(cubic_sparsity(0, 0.0, 0.5, 0, -1, 5), UsageError);
  EXPECT_THROW(cubic_sparsity(0, 0.0, 0.5, 0, 10, 0), UsageError);
}

TEST(PruneSchedule, IsPruneStepAtT0PlusMultiplesOfDtUpToNSteps) {
  // t0 = 3, n = 4, dt = 5: steps 3, 8, 13, 18, 23.
  for (int64_t step : {3, 8, 13, 18, 23}) EXPECT_TRUE(is_prune_step(step, 3, 4, 5)) << step;
  for (int64_t step : {-2, 0, 2, 4, 7, 9, 22, 24, 28, 33}) {
    EXPECT_FALSE(is_prune_step(step, 3, 4, 5)) << step;
  }
  EXPECT_TRUE(is_prune_step(0, 0, 0, 1));
  EXPECT_FALSE(is_prune_step(1, 0, 0, 1));
  EXPECT_THROW(is_prune_step(0, 0, 4, 0), UsageError);
  EXPECT_THROW(is_prune_step(0, 0, -1, 1), UsageError);
}

TEST(PruneSchedule, WithNoPreviousMasksMatchesGlobalMagnitudeMasks) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 4);
  for (double s : {0.0, 0.3, 0.8}) {
    const PruneMasks a = global_magnitude_masks_from(m, s, PruneMasks{});
    const PruneMasks b = global_magnitude_masks(m, s);
    ASSERT_EQ(a.masks().size(), b.masks().size());
    for (const auto& kv : b.masks()) EXPECT_TRUE(a.masks().at(kv.first).equal(kv.second)) << s;
  }
}

TEST(PruneSchedule, AWeightMaskedAtHalfStaysMaskedAtEightyPercent) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 4);
  const int64_t total = prunable_total(m);
  const PruneMasks half = global_magnitude_masks_from(m, 0.5, PruneMasks{});
  // The weights move between pruning steps (here: redrawn, unmasked), so a
  // plain magnitude ranking would revive some pruned weights.
  redraw(m, 99);
  const PruneMasks plain = global_magnitude_masks(m, 0.8);
  int64_t revived_by_plain = 0;
  for (const auto& kv : half.masks()) {
    revived_by_plain += (kv.second.eq(0) & plain.masks().at(kv.first).eq(1)).sum().item<int64_t>();
  }
  ASSERT_GT(revived_by_plain, 0) << "test needs a case a plain ranking gets wrong";

  const PruneMasks eighty = global_magnitude_masks_from(m, 0.8, half);
  for (const auto& kv : half.masks()) {
    const at::Tensor now = eighty.masks().at(kv.first);
    EXPECT_EQ((kv.second.eq(0) & now.eq(1)).sum().item<int64_t>(), 0) << kv.first;
  }
  EXPECT_EQ(count_pruned(eighty), static_cast<int64_t>(std::floor(0.8 * double(total))));
  // Asking for less than already pruned keeps exactly the previous mask.
  const PruneMasks lower = global_magnitude_masks_from(m, 0.3, eighty);
  for (const auto& kv : eighty.masks()) EXPECT_TRUE(lower.masks().at(kv.first).equal(kv.second));
}

TEST(PruneSchedule, SparsityIsMonotoneAlongTheCubicSchedule) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 6);
  PruneMasks masks;
  int64_t last_pruned = 0;
  for (int64_t step = 0; step <= 40; ++step) {
    if (!is_prune_step(step, 0, 4, 10)) continue;
    redraw(m, 100 + static_cast<uint64_t>(step));
    const PruneMasks next =
        global_magnitude_masks_from(m, cubic_sparsity(step, 0.0, 0.9, 0, 4, 10), masks);
    for (const auto& kv : masks.masks()) {
      EXPECT_EQ((kv.second.eq(0) & next.masks().at(kv.first).eq(1)).sum().item<int64_t>(), 0)
          << "step " << step << " " << kv.first;
    }
    EXPECT_GE(count_pruned(next), last_pruned) << step;
    last_pruned = count_pruned(next);
    masks = next;
  }
  EXPECT_EQ(last_pruned, static_cast<int64_t>(std::floor(0.9 * double(prunable_total(m)))));
}

TEST(PruneSchedule, RejectsBadSparsityAndMismatchedPreviousMasks) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 1);
  EXPECT_THROW(global_magnitude_masks_from(m, 1.0, PruneMasks{}), UsageError);
  EXPECT_THROW(global_magnitude_masks_from(m, -0.1, PruneMasks{}), UsageError);
  PruneMasks bad;
  for (const auto& p : m.named_parameters()) {
    if (is_prunable(p.name, p.value)) {
      bad.set(p.name, torch::ones({3}));
      break;
    }
  }
  EXPECT_THROW(global_magnitude_masks_from(m, 0.5, bad), UsageError);
}

}  // namespace
}  // namespace condenser
