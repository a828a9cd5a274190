// Global magnitude pruning: how many and which weights are pruned, what is
// never pruned, sparsity measurement, and that masks survive training.
#include "trainers/pruning/magnitude.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/errors.h"
#include "tests/common/module_util.h"
#include "trainers/model_spec.h"
#include "trainers/training.h"

namespace condenser {
namespace {

using testing_util::snapshot;

// small_cnn with every rank-1 parameter (biases, BatchNorm) set to tiny
// nonzero values: a pruner that ranked them with the weights would pick them first.
torch::jit::Module student_with_tiny_vectors() {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 11);
  torch::NoGradGuard no_grad;
  for (const auto& p : m.named_parameters()) {
    if (p.value.dim() == 1) p.value.copy_(torch::full_like(p.value, 1e-9));
  }
  return m;
}

// A one-layer model (flatten + linear 3x4) whose weights the test sets.
torch::jit::Module tiny_linear(const std::vector<float>& w, const std::vector<float>& b) {
  ModelSpec spec;
  spec.name = "tiny_linear";
  spec.input_shape = {1, 2, 2};
  spec.layers = {{LayerKind::kFlatten}, {LayerKind::kLinear, 3}};
  torch::jit::Module m = build_model(spec, 1);
  torch::NoGradGuard no_grad;
  m.attr("l1_w").toTensor().copy_(torch::tensor(w).view({3, 4}));
  m.attr("l1_b").toTensor().copy_(torch::tensor(b));
  return m;
}

TEST(Pruning, PrunesExactlyFloorOfSparsityTimesNTheSmallestMagnitudes) {
  for (double sparsity : {0.5, 0.37, 0.9, 0.999}) {
    torch::jit::Module m = student_with_tiny_vectors();
    const PruneMasks masks = global_magnitude_masks(m, sparsity);
    int64_t total = 0, pruned = 0;
    double max_pruned = 0.0, min_kept = INFINITY;
    for (const auto& p : m.named_parameters()) {
      if (p.value.dim() < 2) continue;
      ASSERT_EQ(masks.masks().count(p.name), 1u) << p.name;
      const at::Tensor mask = masks.masks().at(p.name);
      ASSERT_EQ(mask.sizes(), p.value.sizes()) << p.name;
      EXPECT_TRUE(torch::logical_or(mask.eq(0), mask.eq(1)).all().item<bool>()) << p.name;
      const at::Tensor mag = p.value.detach().abs();
      total += p.value.numel();
      pruned += mask.eq(0).sum().item<int64_t>();
      if (mask.eq(0).any().item<bool>()) {
        max_pruned = std::max(max_pruned, mag.masked_select(mask.eq(0)).max().item<double>());
      }
      if (mask.eq(1).any().item<bool>()) {
        min_kept = std::min(min_kept, mag.masked_select(mask.eq(1)).min().item<double>());
      }
    }
    EXPECT_EQ(pruned, static_cast<int64_t>(std::floor(sparsity * double(total)))) << sparsity;
    EXPECT_LE(max_pruned, min_kept) << "sparsity " << sparsity;
  }
}

TEST(Pruning, BiasesAndBatchNormAreNeverMaskedNorChanged) {
  torch::jit::Module m = student_with_tiny_vectors();
  const auto before = snapshot(m);
  const PruneMasks masks = global_magnitude_masks(m, 0.8);
  std::set<std::string> masked;
  for (const auto& [name, mask] : masks.masks()) masked.insert(name);
  EXPECT_EQ(masked, (std::set<std::string>{"l0_w", "l4_w", "l9_w", "l11_w"}));  // conv, linear
  masks.apply_to_weights(m);
  for (const auto& p : m.named_parameters()) {
    if (p.value.dim() == 1) {
      EXPECT_TRUE(torch::equal(p.value, before.at(p.name))) << p.name;
    } else {
      const at::Tensor mask = masks.masks().at(p.name);
      EXPECT_TRUE(torch::equal(p.value, before.at(p.name) * mask)) << p.name;
    }
  }
}

TEST(Pruning, TiesAreBrokenByPosition) {
  torch::jit::Module m = tiny_linear(
      {0.5f, -0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0.5f, 0.5f}, {1, 2, 3});
  const at::Tensor mask = global_magnitude_masks(m, 0.5).masks().at("l1_w").flatten();
  EXPECT_TRUE(torch::equal(
      mask, torch::tensor({0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f})));
}

TEST(Pruning, ZeroSparsityPrunesNothing) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 2);
  const auto before = snapshot(m);
  const PruneMasks masks = global_magnitude_masks(m, 0.0);
  for (const auto& [name, mask] : masks.masks()) EXPECT_TRUE(mask.eq(1).all().item<bool>());
  masks.apply_to_weights(m);
  for (const auto& p : m.named_parameters()) EXPECT_TRUE(torch::equal(p.value, before.at(p.name)));
}

TEST(Pruning, SparsityOutsideZeroToOneIsAUsageError) {
  torch::jit::Module m = build_model(zoo_spec("mlp"), 2);
  EXPECT_THROW(global_magnitude_masks(m, 1.0), UsageError);
  EXPECT_THROW(global_magnitude_masks(m, -0.1), UsageError);
  EXPECT_THROW(global_magnitude_masks(m, NAN), UsageError);
}

TEST(Pruning, MeasureSparsityCountsByHand) {
  // 12 weights with 3 zeros, 3 biases with 1 zero.
  torch::jit::Module m = tiny_linear({0, 1, 2, 3, 4, 0, 6, 7, 8, 9, -1, 0}, {0.5f, 0, -2});
  const SparsityReport r = measure_sparsity(m);
  EXPECT_EQ(r.parameters, 15);
  EXPECT_EQ(r.nonzeros, 11);
  ASSERT_EQ(r.layers.size(), 1u);
  EXPECT_EQ(r.layers[0].name, "l1_w");
  EXPECT_EQ(r.layers[0].numel, 12);
  EXPECT_EQ(r.layers[0].nonzero, 9);
  EXPECT_DOUBLE_EQ(r.layers[0].sparsity(), 0.25);
  EXPECT_DOUBLE_EQ(r.prunable_sparsity, 0.25);
}

TEST(Pruning, MeasureSparsityAfterGlobalPruning) {
  torch::jit::Module m = student_with_tiny_vectors();
  const SparsityReport dense = measure_sparsity(m);
  EXPECT_EQ(dense.prunable_sparsity, 0.0);
  EXPECT_EQ(dense.nonzeros, dense.parameters);
  global_magnitude_masks(m, 0.6).apply_to_weights(m);
  const SparsityReport r = measure_sparsity(m);
  ASSERT_EQ(r.layers.size(), 4u);
  int64_t numel = 0, nonzero = 0;
  for (const auto& l : r.layers) {
    numel += l.numel;
    nonzero += l.nonzero;
    EXPECT_DOUBLE_EQ(l.sparsity(), 1.0 - double(l.nonzero) / double(l.numel)) << l.name;
  }
  const int64_t pruned = static_cast<int64_t>(std::floor(0.6 * double(numel)));
  EXPECT_EQ(numel - nonzero, pruned);
  EXPECT_DOUBLE_EQ(r.prunable_sparsity, double(pruned) / double(numel));
  EXPECT_EQ(r.parameters, dense.parameters);
  EXPECT_EQ(r.nonzeros, dense.parameters - pruned);
}

// Masks applied, then a few optimizer steps: pruned weights stay exactly 0
// (whatever Adam's moments or SGD's momentum would do), kept weights move.
void check_mask_survives_training(const std::string& model, const std::string& optimizer) {
  torch::manual_seed(5);
  LabelledSet set{torch::rand({48, 1, 28, 28}), torch::randint(0, 10, {48}, torch::kInt64), {}};
  for (int64_t i = 0; i < 48; ++i) set.indices.push_back(i);
  torch::jit::Module m = build_model(zoo_spec(model), 3);
  const PruneMasks masks = global_magnitude_masks(m, 0.7);
  masks.apply_to_weights(m);
  const auto before = snapshot(m);
  StageOptions options;
  options.stage = "prune";
  options.optim.optimizer = optimizer;
  options.optim.lr = optimizer == "sgd" ? 0.05 : 0.01;
  options.optim.momentum = 0.9;
  options.optim.weight_decay = 1e-3;
  options.optim.epochs = 2;
  options.optim.batch_size = 16;
  train_stage(m, set, set, options, &masks, [](const nlohmann::json&) {});
  for (const auto& [name, mask] : masks.masks()) {
    const at::Tensor w = m.attr(name).toTensor().detach();
    EXPECT_TRUE(w.masked_select(mask.eq(0)).eq(0.0).all().item<bool>())
        << model << "/" << optimizer << " " << name << ": a pruned weight became nonzero";
    const at::Tensor kept_now = w.masked_select(mask.eq(1));
    const at::Tensor kept_before = before.at(name).masked_select(mask.eq(1));
    const double changed = kept_now.ne(kept_before).to(torch::kFloat64).mean().item<double>();
    EXPECT_GT(changed, 0.5) << model << "/" << optimizer << " " << name;
  }
  const SparsityReport r = measure_sparsity(m);
  EXPECT_GE(r.prunable_sparsity, 0.7 - 1e-4) << model << "/" << optimizer;
}

TEST(Pruning, MaskSurvivesTrainingWithAdam) { check_mask_survives_training("mlp", "adam"); }

TEST(Pruning, MaskSurvivesTrainingWithSgdMomentum) { check_mask_survives_training("mlp", "sgd"); }

TEST(Pruning, MaskSurvivesTrainingOfSmallCnnWithAdam) {
  check_mask_survives_training("small_cnn", "adam");
}

}  // namespace
}  // namespace condenser
