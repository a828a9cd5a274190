// N:M semi-structured masks: the group pattern, which weights are kept
// (against a brute-force loop), exact sparsity, ties, exclusions, errors.
#include "trainers/pruning/nm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/errors.h"
#include "tests/common/module_util.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

using testing_util::snapshot;

std::vector<std::string> prunable_names(const torch::jit::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) {
    if (is_prunable(p.name, p.value)) out.push_back(p.name);
  }
  return out;
}

// Brute force: per output row, per group of m along the flattened input
// axis, keep the n largest |w| (stable sort, so ties go to the lower index).
at::Tensor brute_force_mask(const at::Tensor& w, int n, int m) {
  const at::Tensor flat = w.detach().abs().reshape({w.size(0), -1}).to(torch::kDouble);
  const int64_t rows = flat.size(0), len = flat.size(1);
  auto acc = flat.accessor<double, 2>();
  at::Tensor mask = torch::zeros({rows, len}, torch::kFloat);
  auto out = mask.accessor<float, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t start = 0; start < len; start += m) {
      const int64_t end = std::min<int64_t>(start + m, len);
      std::vector<int64_t> idx(end - start);
      std::iota(idx.begin(), idx.end(), start);
      std::stable_sort(idx.begin(), idx.end(),
                       [&](int64_t a, int64_t b) { return acc[r][a] > acc[r][b]; });
      for (int64_t i = 0; i < std::min<int64_t>(n, end - start); ++i) out[r][idx[i]] = 1.0f;
    }
  }
  return mask.view(w.sizes());
}

// A one-layer model (flatten + linear 2x6) whose weights the test sets.
torch::jit::Module tiny_linear(const std::vector<float>& w) {
  ModelSpec spec;
  spec.name = "tiny_linear";
  spec.input_shape = {1, 2, 3};
  spec.layers = {{LayerKind::kFlatten}, {LayerKind::kLinear, 2}};
  torch::jit::Module m = build_model(spec, 1);
  torch::NoGradGuard no_grad;
  m.attr("l1_w").toTensor().copy_(torch::tensor(w).view({2, 6}));
  return m;
}

TEST(NmPruning, EveryGroupOfFourHasAtMostTwoNonzerosAfterApplying) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 3);
  const PruneMasks masks = nm_masks(m, 2, 4);
  masks.apply_to_weights(m);
  int checked = 0;
  for (const auto& p : m.named_parameters()) {
    if (!is_prunable(p.name, p.value)) continue;
    ASSERT_EQ(masks.masks().count(p.name), 1u) << p.name;
    const at::Tensor rows = p.value.detach().reshape({p.value.size(0), -1});
    for (int64_t start = 0; start < rows.size(1); start += 4) {
      const int64_t end = std::min<int64_t>(start + 4, rows.size(1));
      const at::Tensor nz = rows.slice(1, start, end).ne(0).sum(1);
      EXPECT_LE(nz.max().item<int64_t>(), 2) << p.name << " group at " << start;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 4);  // two convs, two linears
}

TEST(NmPruning, KeepsTheLargestOfEachGroupLikeABruteForceLoop) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 5);
  for (auto nm : std::vector<std::pair<int, int>>{{2, 4}, {1, 4}, {3, 8}, {2, 3}, {4, 4}}) {
    const PruneMasks masks = nm_masks(m, nm.first, nm.second);
    for (const auto& p : m.named_parameters()) {
      if (!is_prunable(p.name, p.value)) continue;
      const at::Tensor mask = masks.masks().at(p.name);
      ASSERT_EQ(mask.sizes(), p.value.sizes()) << p.name;
      EXPECT_TRUE(mask.equal(brute_force_mask(p.value, nm.first, nm.second)))
          << p.name << " " << nm.first << ":" << nm.second;
    }
  }
}

TEST(NmPruning, SparsityIsExactlyHalfWhenTheRowLengthDividesByFour) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 7);
  const PruneMasks masks = nm_masks(m);  // 2:4 by default
  int divisible = 0;
  for (const auto& p : m.named_parameters()) {
    if (!is_prunable(p.name, p.value)) continue;
    const int64_t rows = p.value.size(0), len = p.value.numel() / rows;
    const int64_t kept = masks.masks().at(p.name).sum().item<int64_t>();
    if (len % 4 == 0) {
      EXPECT_EQ(kept * 2, p.value.numel()) << p.name;
      ++divisible;
    } else {
      // The first conv's rows are 1*3*3 = 9 long: groups of 4, 4, 1 keep 2+2+1.
      EXPECT_EQ(len, 9) << p.name;
      EXPECT_EQ(kept, rows * 5) << p.name;
    }
  }
  EXPECT_EQ(divisible, 3);
}

TEST(NmPruning, TiesGoToTheLowerIndexAndAShortTrailingGroupKeepsMinOfNAndItsLength) {
  // Rows of 6 under 2:4: a full group of 4, then a trailing group of 2.
  torch::jit::Module m = tiny_linear({1, 1, 1, 1, 5, 5,  //
                                      0, 3, 3, 2, -7, 0});
  const at::Tensor mask = nm_masks(m, 2, 4).masks().at("l1_w");
  EXPECT_TRUE(mask.equal(torch::tensor({1.f, 1.f, 0.f, 0.f, 1.f, 1.f,  //
                                        0.f, 1.f, 1.f, 0.f, 1.f, 1.f})
                             .view({2, 6})));
  // 3:4: the trailing group of 2 keeps both.
  const at::Tensor mask3 = nm_masks(m, 3, 4).masks().at("l1_w");
  EXPECT_TRUE(mask3.equal(torch::tensor({1.f, 1.f, 1.f, 0.f, 1.f, 1.f,  //
                                         0.f, 1.f, 1.f, 1.f, 1.f, 1.f})
                              .view({2, 6})));
  // 1:4: the trailing group keeps its larger (or first of equal) entry.
  const at::Tensor mask1 = nm_masks(m, 1, 4).masks().at("l1_w");
  EXPECT_TRUE(mask1.equal(torch::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 0.f,  //
                                         0.f, 1.f, 0.f, 0.f, 1.f, 0.f})
                              .view({2, 6})));
}

TEST(NmPruning, ExcludedLayersGetNoMaskAndStayUntouched) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 9);
  const auto before = snapshot(m);
  const auto names = prunable_names(m);
  ASSERT_EQ(names.size(), 4u);
  const std::vector<std::string> exclude = {names.front(), names.back()};
  const PruneMasks masks = nm_masks(m, 2, 4, exclude);
  EXPECT_EQ(masks.masks().size(), 2u);
  masks.apply_to_weights(m);
  for (const auto& p : m.named_parameters()) {
    const bool excluded = std::count(exclude.begin(), exclude.end(), p.name) > 0;
    if (excluded || !is_prunable(p.name, p.value)) {
      EXPECT_EQ(masks.masks().count(p.name), 0u) << p.name;
      EXPECT_TRUE(p.value.equal(before.at(p.name))) << p.name;
    } else {
      EXPECT_FALSE(p.value.equal(before.at(p.name))) << p.name;
    }
  }
}

TEST(NmPruning, RejectsBadNAndMAndUnknownExcludedNames) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 1);
  EXPECT_THROW(nm_masks(m, 0, 4), UsageError);
  EXPECT_THROW(nm_masks(m, -1, 4), UsageError);
  EXPECT_THROW(nm_masks(m, 5, 4), UsageError);
  EXPECT_THROW(nm_masks(m, 2, 0), UsageError);
  EXPECT_THROW(nm_masks(m, 2, 4, {"no_such_weight"}), UsageError);
  EXPECT_NO_THROW(nm_masks(m, 4, 4));
}

TEST(NmPruning, IsDeterministic) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 2);
  const PruneMasks a = nm_masks(m), b = nm_masks(m);
  for (const auto& kv : a.masks()) EXPECT_TRUE(kv.second.equal(b.masks().at(kv.first)));
}

}  // namespace
}  // namespace condenser
