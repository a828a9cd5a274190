// Width and depth pruning of declared transformers: importance ranks what is
// silenced first, plans reach their parameter targets, masks read back to
// the same plan, and the compacted model computes what the masked one does.
#include "trainers/pruning/lm_prune.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "tests/common/module_util.h"
#include "tests/trainers/lm_test_models.h"

namespace condenser {
namespace {

using testing_util::count_parameters;
using testing_util::lm_spec;
using testing_util::logits;
using testing_util::random_ids;

// V 40, T 12, D 24, four blocks of 4 heads x 8, MLP 48.
ModelSpec lm(const std::string& positions) {
  return lm_spec("[{embedding: 24, positions: " + positions +
                     "}, {block: 4, mlp: 48, head_dim: 8, repeat: 4}, layer_norm, lm_head]",
                 40, 12);
}

torch::jit::Module model_of(const ModelSpec& spec) {
  torch::jit::Module m = build_model(spec, 5);
  testing_util::perturb(m, 6, 0.05);
  m.eval();
  return m;
}

at::Tensor p(torch::jit::Module& m, const std::string& name) { return m.attr(name).toTensor(); }

// Silences head 2 of block l2 (its v rows), neuron 7 of block l3 (fc1 row and
// bias) and makes block l4 the identity (o and fc2 zero).
void silence(torch::jit::Module& m) {
  torch::NoGradGuard no_grad;
  p(m, "l2_qkv_w").narrow(0, 2 * 32 + 2 * 8, 8).zero_();
  p(m, "l2_qkv_b").narrow(0, 2 * 32 + 2 * 8, 8).zero_();
  p(m, "l3_fc1_w")[7].zero_();
  p(m, "l3_fc1_b")[7].zero_();
  for (const char* n : {"l4_o_w", "l4_o_b", "l4_fc2_w", "l4_fc2_b"}) p(m, n).zero_();
}

TEST(LmPrune, ImportanceRanksSilencedUnitsLowest) {
  const ModelSpec spec = lm("rotary");
  torch::jit::Module m = model_of(spec);
  silence(m);
  const LmImportance imp = lm_importance(m, spec, random_ids(10, 12, 40, 1));
  ASSERT_EQ(imp.blocks, (std::vector<size_t>{1, 2, 3, 4}));
  EXPECT_EQ(imp.windows, 10);
  EXPECT_EQ(imp.heads[1].argmin().item<int64_t>(), 2);
  EXPECT_EQ(imp.heads[1][2].item<double>(), 0.0);
  EXPECT_EQ(imp.neurons[2].argmin().item<int64_t>(), 7);
  EXPECT_NEAR(imp.block_distance[3], 0.0, 1e-6);
  for (size_t b = 0; b < 3; ++b) EXPECT_GT(imp.block_distance[b], 1e-4) << b;
  EXPECT_EQ(imp.channels.size(0), 24);
  EXPECT_EQ(imp.to_json()["blocks"].size(), 4u);
  // Width at a small target cuts the silenced head and neuron first.
  const LmPlan width = plan_lm_width(spec, imp, 0.2);
  EXPECT_EQ(std::count(width.keep_heads[1].begin(), width.keep_heads[1].end(), 2), 0);
  EXPECT_EQ(std::count(width.keep_neurons[2].begin(), width.keep_neurons[2].end(), 7), 0);
  // Depth drops the identity block first.
  const LmPlan depth = plan_lm_depth(spec, imp, 0.01);
  EXPECT_EQ(depth.keep_block, (std::vector<bool>{true, true, true, false}));
}

TEST(LmPrune, PlansReachTheirTargetAndCompactedModelsEqualMaskedOnes) {
  for (const std::string positions : {"rotary", "learned"}) {
    const ModelSpec spec = lm(positions);
    const int64_t dense = parameter_count(spec);
    for (const std::string method : {"width", "depth"}) {
      torch::jit::Module m = model_of(spec);
      const LmImportance imp = lm_importance(m, spec, random_ids(6, 12, 40, 2));
      const double target = 0.3;
      const LmPlan plan =
          method == "width" ? plan_lm_width(spec, imp, target) : plan_lm_depth(spec, imp, target);
      const PruneMasks masks = lm_masks(m, spec, plan);
      const LmPlan read = lm_plan_from_masks(spec, masks);
      EXPECT_EQ(read.keep_heads, plan.keep_heads) << method;
      EXPECT_EQ(read.keep_neurons, plan.keep_neurons) << method;
      EXPECT_EQ(read.keep_block, plan.keep_block) << method;

      masks.apply_to_weights(m);
      CompactModel small = compact_lm(m, spec, plan);
      const int64_t kept = count_parameters(small.module);
      EXPECT_EQ(kept, parameter_count(small.spec)) << method;
      EXPECT_LE(double(kept), (1.0 - target) * double(dense)) << method;
      EXPECT_GT(double(kept), 0.5 * double(dense)) << method << ": the smallest cut, not more";
      EXPECT_EQ(measure_sparsity(m).nonzeros, kept) << method << ": the masks zero what is cut";
      const at::Tensor ids = random_ids(3, 12, 40, 3);
      EXPECT_TRUE(torch::allclose(logits(small.module, ids), logits(m, ids), 1e-5, 1e-5))
          << method << " " << positions;

      // The masked model ranks its cut units lowest: the same cut again.
      const LmImportance again = lm_importance(m, spec, random_ids(6, 12, 40, 4));
      const LmPlan replan = method == "width" ? plan_lm_width(spec, again, target)
                                              : plan_lm_depth(spec, again, target);
      EXPECT_EQ(replan.keep_heads, plan.keep_heads) << method;
      EXPECT_EQ(replan.keep_neurons, plan.keep_neurons) << method;
      EXPECT_EQ(replan.keep_block, plan.keep_block) << method;
    }
  }
}

// A width cut on all three axes (embedding channels too), auto or fixed:
// with the layer norms counting the channels kept, the masked model computes
// what the compacted one does, and the cut reads back and replans the same.
TEST(LmPrune, EmbeddingChannelCutsCompactToWhatTheMaskedModelComputes) {
  WidthTargets shared;  // heads, mlp and embedding share one fraction
  shared.embedding.reset();
  const WidthTargets fixed{0.5, 0.25, 0.25};
  for (const std::string positions : {"rotary", "learned"}) {
    const ModelSpec spec = lm(positions);
    for (const WidthTargets& axes : {shared, fixed}) {
      torch::jit::Module m = model_of(spec);
      const LmPlan plan =
          plan_lm_width(spec, lm_importance(m, spec, random_ids(6, 12, 40, 2)), 0.4, axes);
      ASSERT_LT(plan.keep_channels.size(), 24u);
      const PruneMasks masks = lm_masks(m, spec, plan);
      EXPECT_EQ(lm_plan_from_masks(spec, masks).keep_channels, plan.keep_channels);
      EXPECT_EQ(lm_plan_from_masks(spec, masks).keep_heads, plan.keep_heads);
      masks.apply_to_weights(m);
      set_norm_width(m, lm_norm_width(spec, plan));
      CompactModel small = compact_lm(m, spec, plan);
      EXPECT_EQ(small.spec.layers.front().out, int64_t(plan.keep_channels.size()));
      EXPECT_EQ(norm_width(small.module), int64_t(plan.keep_channels.size()));
      const int64_t kept = count_parameters(small.module);
      EXPECT_EQ(kept, parameter_count(small.spec));
      EXPECT_EQ(measure_sparsity(m).nonzeros, kept) << "the masks zero what is cut";
      const at::Tensor ids = random_ids(3, 12, 40, 3);
      EXPECT_TRUE(torch::allclose(logits(small.module, ids), logits(m, ids), 1e-5, 1e-5))
          << positions;
      const LmPlan replan =
          plan_lm_width(spec, lm_importance(m, spec, random_ids(6, 12, 40, 4)), 0.4, axes);
      EXPECT_EQ(replan.keep_channels, plan.keep_channels) << "a cut channel ranks lowest";
      EXPECT_EQ(replan.keep_heads, plan.keep_heads);
    }
    // Fixed axes cut exactly their fraction, whatever the sparsity.
    torch::jit::Module m = model_of(spec);
    const LmPlan plan =
        plan_lm_width(spec, lm_importance(m, spec, random_ids(6, 12, 40, 2)), 0.01, fixed);
    EXPECT_EQ(plan.keep_channels.size(), 18u);
    EXPECT_EQ(plan.keep_heads[0].size(), 2u);
    EXPECT_EQ(plan.keep_neurons[0].size(), 36u);
  }
}

// Without the masked norm the zeroed channels would still count in the
// statistics: the masked model would not be the compacted one.
TEST(LmPrune, NormWidthDefaultsToTheModelsWidth) {
  const ModelSpec spec = lm("rotary");
  torch::jit::Module m = model_of(spec);
  EXPECT_EQ(norm_width(m), 24);
  const LmPlan plan = plan_lm_width(spec, lm_importance(m, spec, random_ids(4, 12, 40, 2)), 0.3,
                                    WidthTargets{0.0, 0.0, 0.5});
  lm_masks(m, spec, plan).apply_to_weights(m);
  const at::Tensor ids = random_ids(2, 12, 40, 3);
  const at::Tensor unmasked_norm = logits(m, ids);
  set_norm_width(m, lm_norm_width(spec, plan));
  EXPECT_EQ(norm_width(m), 12);
  const at::Tensor masked_norm = logits(m, ids);
  EXPECT_FALSE(torch::allclose(unmasked_norm, masked_norm, 1e-3, 1e-3));
  CompactModel small = compact_lm(m, spec, plan);
  EXPECT_TRUE(torch::allclose(logits(small.module, ids), masked_norm, 1e-5, 1e-5));
}

// Depth by skip perplexity: a block that is already the identity costs
// nothing when skipped, a dropped (all zero) block scores 0, and the depth
// plan drops the identity first.
TEST(LmPrune, SkipPerplexityRanksTheIdentityBlockFirst) {
  const ModelSpec spec = lm("rotary");
  torch::jit::Module m = model_of(spec);
  silence(m);
  const at::Tensor ids = random_ids(6, 12, 40, 1);
  // Next tokens, the last position padding.
  const LabelledSet windows{
      ids, random_ids(6, 12, 40, 2).index_fill_(1, torch::tensor({11}), -100), {0, 1, 2, 3, 4, 5}};
  LmImportance imp = lm_importance(m, spec, ids);
  add_skip_perplexity(m, windows, &imp);
  ASSERT_EQ(imp.block_perplexity.size(), 4u);
  EXPECT_GT(imp.perplexity, 1.0);
  EXPECT_NEAR(imp.block_perplexity[3], imp.perplexity, 1e-9 * imp.perplexity);
  for (size_t b = 0; b < 3; ++b) EXPECT_NE(imp.block_perplexity[b], imp.perplexity) << b;
  EXPECT_EQ(&imp.block_score(), &imp.block_perplexity);
  EXPECT_EQ(imp.to_json()["blocks"][3]["skipped_perplexity"].get<double>(),
            imp.block_perplexity[3]);
  // The weights are restored after each skip.
  const at::Tensor before = logits(m, ids);
  add_skip_perplexity(m, windows, &imp);
  EXPECT_TRUE(torch::equal(before, logits(m, ids)));
  // A dropped block stays first.
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : m.named_parameters())
      if (p.name.rfind("l2_", 0) == 0) p.value.zero_();
  }
  add_skip_perplexity(m, windows, &imp);
  EXPECT_EQ(imp.block_perplexity[1], 0.0);
  EXPECT_EQ(plan_lm_depth(spec, imp, 0.01).keep_block,
            (std::vector<bool>{true, false, true, true}));
}

TEST(LmPrune, LimitsAndRefusals) {
  const ModelSpec spec = lm("rotary");
  EXPECT_GT(lm_max_sparsity(spec, "width"), 0.5);
  EXPECT_LT(lm_max_sparsity(spec, "width"), 0.9);  // the embedding is not cut by default
  WidthTargets all_auto;
  all_auto.embedding.reset();
  EXPECT_GT(lm_max_sparsity(spec, "width", all_auto), 0.95);
  ModelSpec linear_head = lm_spec(
      "[{embedding: 24, positions: rotary}, {block: 4, mlp: 48, head_dim: 8}, layer_norm, "
      "{linear: 40}]",
      40, 12);
  EXPECT_THROW(check_lm_channel_cut(linear_head), UsageError);
  EXPECT_NO_THROW(check_lm_channel_cut(spec));
  EXPECT_GT(lm_max_sparsity(spec, "depth"), lm_max_sparsity(spec, "width") * 0.9);
  ModelSpec image;
  image.name = "cnn";
  image.layers = parse_model_layers("[{conv: 8}, relu, flatten, {linear: 10}]", "student.layers");
  EXPECT_THROW(check_lm_prunable(image), UsageError);
  // Beyond the axes' limit a width plan keeps one head and one neuron per block.
  torch::jit::Module m = model_of(spec);
  const LmPlan all = plan_lm_width(spec, lm_importance(m, spec, random_ids(2, 12, 40, 5)), 0.99);
  for (size_t b = 0; b < all.blocks.size(); ++b) {
    EXPECT_EQ(all.keep_heads[b].size(), 1u);
    EXPECT_EQ(all.keep_neurons[b].size(), 1u);
  }
}

}  // namespace
}  // namespace condenser
