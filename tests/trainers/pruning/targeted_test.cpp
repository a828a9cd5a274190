// Magnitude pruning with excluded weights and per-layer targets, and the
// FLOP count that goes with each prune stage.
#include "trainers/pruning/targeted.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/errors.h"
#include "trainers/model_flops.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

int64_t pruned(const PruneMasks& masks, const std::string& name) {
  const auto it = masks.masks().find(name);
  return it == masks.masks().end() ? 0 : it->second.eq(0).sum().item<int64_t>();
}

int64_t pruned(const PruneMasks& masks) {
  int64_t n = 0;
  for (const auto& m : masks.masks()) n += m.second.eq(0).sum().item<int64_t>();
  return n;
}

// small_cnn's prunable weights: l0_w conv 16x1x3x3 (144), l4_w conv 24x16x3x3
// (3456), l9_w linear 32x1176 (37632), l11_w linear 10x32 (320): 41552.
constexpr int64_t kTotal = 144 + 3456 + 37632 + 320;

TEST(TargetedPruning, ExcludedFirstAndLastStayDenseAndTheTotalIsExact) {
  const auto m = build_model(zoo_spec("small_cnn"), 3);
  EXPECT_EQ(prunable_names(m), (std::vector<std::string>{"l0_w", "l4_w", "l9_w", "l11_w"}));
  PruneTargets t;
  t.exclude = {"first", "last"};
  const PruneMasks masks = targeted_magnitude_masks(m, 0.9, t, 1.0, {});
  EXPECT_EQ(pruned(masks), static_cast<int64_t>(std::floor(0.9 * kTotal)));
  EXPECT_EQ(pruned(masks, "l0_w"), 0);
  EXPECT_EQ(pruned(masks, "l11_w"), 0);
  // One threshold over the pool: every kept pooled weight outweighs every pruned one.
  double max_pruned = 0, min_kept = 1e9;
  for (const char* name : {"l4_w", "l9_w"}) {
    const at::Tensor w = m.attr(name).toTensor().abs().flatten();
    const at::Tensor mask = masks.masks().at(name).flatten();
    max_pruned = std::max(max_pruned, w.masked_select(mask.eq(0)).max().item<double>());
    min_kept = std::min(min_kept, w.masked_select(mask.ne(0)).min().item<double>());
  }
  EXPECT_LE(max_pruned, min_kept);
}

TEST(TargetedPruning, OwnTargetsScaleAndThePoolTakesTheRest) {
  const auto m = build_model(zoo_spec("small_cnn"), 3);
  PruneTargets t;
  t.exclude = {"l0_w"};
  t.layer_sparsity = {{"l11_w", 0.5}};
  const PruneMasks masks = targeted_magnitude_masks(m, 0.6, t, 0.5, {});  // an earlier stage
  EXPECT_EQ(pruned(masks, "l11_w"), static_cast<int64_t>(std::floor(0.25 * 320)));
  EXPECT_EQ(pruned(masks, "l0_w"), 0);
  EXPECT_EQ(pruned(masks), static_cast<int64_t>(std::floor(0.6 * kTotal)));
}

TEST(TargetedPruning, PerLayerPrunesTheSameFractionOfEachPooledWeight) {
  const auto m = build_model(zoo_spec("small_cnn"), 3);
  PruneTargets t;
  t.exclude = {"first", "last"};
  t.per_layer = true;
  const PruneMasks masks = targeted_magnitude_masks(m, 0.8, t, 1.0, {});
  EXPECT_EQ(pruned(masks), static_cast<int64_t>(std::floor(0.8 * kTotal)));
  const double f4 = double(pruned(masks, "l4_w")) / 3456, f9 = double(pruned(masks, "l9_w")) / 37632;
  EXPECT_NEAR(f4, f9, 2.0 / 3456);  // equal up to the rounding of whole weights
}

TEST(TargetedPruning, NeverRevivesAPreviouslyPrunedWeight) {
  auto m = build_model(zoo_spec("small_cnn"), 3);
  PruneTargets t;
  t.exclude = {"first", "last"};
  const PruneMasks first = targeted_magnitude_masks(m, 0.5, t, 1.0, {});
  // Training moves weights: make some pruned ones large, as if they grew back.
  {
    torch::NoGradGuard no_grad;
    at::Tensor w = m.attr("l9_w").toTensor();
    w.add_(first.masks().at("l9_w").eq(0).to(w.dtype()) * 10.0);
  }
  const PruneMasks second = targeted_magnitude_masks(m, 0.8, t, 1.0, first);
  for (const auto& entry : first.masks()) {
    const at::Tensor revived = entry.second.eq(0) & second.masks().at(entry.first).ne(0);
    EXPECT_EQ(revived.sum().item<int64_t>(), 0) << entry.first;
  }
  EXPECT_EQ(pruned(second), static_cast<int64_t>(std::floor(0.8 * kTotal)));
}

TEST(TargetedPruning, UnknownNamesAndImpossibleTargetsAreUsageErrors) {
  const auto m = build_model(zoo_spec("small_cnn"), 3);
  PruneTargets t;
  t.exclude = {"conv1"};
  try {
    targeted_magnitude_masks(m, 0.5, t, 1.0, {});
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("prune.exclude: 'conv1' is not a prunable weight of this "
                                         "model; they are l0_w, l4_w, l9_w, l11_w"),
              std::string::npos)
        << e.what();
  }
  t.exclude = {"l9_w"};  // 90 % of all weights cannot come from the 3920 left
  EXPECT_THROW(targeted_magnitude_masks(m, 0.9, t, 1.0, {}), UsageError);
}

TEST(ModelFlops, CountsConvAndLinearMultiplyAddsAndOnlyNonzeroWeights) {
  const ModelSpec spec = zoo_spec("small_cnn");
  auto m = build_model(spec, 3);
  // conv 28x28 x 144, conv 14x14 x 3456 (after a 2x2 pool), linear 37632, linear 320; 2 FLOPs each.
  const int64_t dense = 2 * (28 * 28 * 144 + 14 * 14 * 3456 + 37632 + 320);
  ModelFlops f = model_flops(spec, m);
  EXPECT_EQ(f.dense, dense);
  EXPECT_EQ(f.effective, dense);
  ASSERT_EQ(f.layers.size(), 4u);
  EXPECT_EQ(f.layers[1].name, "l4_w");
  {
    torch::NoGradGuard no_grad;
    m.attr("l4_w").toTensor().narrow(0, 0, 12).zero_();  // half of conv2's output channels
  }
  f = model_flops(spec, m);
  EXPECT_EQ(f.dense, dense);
  EXPECT_EQ(f.effective, dense - 2 * 14 * 14 * 1728);
}

}  // namespace
}  // namespace condenser
