#include "trainers/pruning/structured.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "tests/common/module_util.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::count_parameters;

// A trained-looking model: random BatchNorm statistics so eval mode matters.
torch::jit::Module model_with_stats(const std::string& zoo, uint64_t seed) {
  torch::jit::Module m = build_model(zoo_spec(zoo), seed);
  torch::NoGradGuard no_grad;
  m.train();
  for (int i = 0; i < 3; ++i) m.forward({torch::rand({16, 1, 28, 28})});
  for (const auto& p : m.named_parameters()) {
    if (p.value.dim() == 1) p.value.uniform_(-0.5, 1.5);  // BN scales/shifts, biases
  }
  return m;
}

TEST(StructuredPruning, CompactedModelEqualsTheMaskedModelAndIsSmaller) {
  for (const std::string zoo : {"small_cnn", "cnn", "mlp"}) {
    torch::manual_seed(1);
    const ModelSpec spec = zoo_spec(zoo);
    torch::jit::Module model = model_with_stats(zoo, 3);
    const StructuredPlan plan = plan_structured(model, spec, 0.5, "l1");
    CompactModel small = compact(model, spec, plan);
    structured_masks(model, spec, plan).apply_to_weights(model);
    const at::Tensor x = torch::rand({8, 1, 28, 28});
    for (bool training : {false, true}) {
      model.train(training);
      small.module.train(training);
      torch::manual_seed(5);  // dropout draws the same masks only at equal shapes: eval only
      if (training && zoo == "cnn") continue;
      const at::Tensor a = model.forward({x}).toTensor(), b = small.module.forward({x}).toTensor();
      EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-5))
          << zoo << " training=" << training << " max diff " << (a - b).abs().max().item<float>();
    }
    EXPECT_LT(count_parameters(small.module), count_parameters(model) * 6 / 10) << zoo;
  }
}

TEST(StructuredPruning, KeepsTheLargestChannelsByNormAndNeverTheClassLayer) {
  const ModelSpec spec = zoo_spec("small_cnn");
  torch::jit::Module model = build_model(spec, 2);
  {
    torch::NoGradGuard no_grad;
    at::Tensor w = model.attr("l0_w").toTensor();  // 16 conv channels
    for (int64_t c = 0; c < 16; ++c) w[c].fill_(double(c % 8) + 0.1 * double(c));
  }
  const StructuredPlan plan = plan_structured(model, spec, 0.75, "l2");
  // Channel c's filter is constant c % 8 + 0.1 c: the four largest are
  // 15 (8.5), 7 (7.7), 14 (7.4) and 6 (6.6); kept ids come back ascending.
  EXPECT_EQ(plan.keep.at(0), (std::vector<int64_t>{6, 7, 14, 15}));
  const size_t last = spec.layers.size() - 1;
  EXPECT_EQ(spec.layers[last].kind, LayerKind::kLinear);
  EXPECT_EQ(plan.keep.count(last), 0u);
  CompactModel small = compact(model, spec, plan);
  EXPECT_EQ(small.spec.layers[0].out, 4);
  EXPECT_EQ(small.module.forward({torch::rand({2, 1, 28, 28})}).toTensor().size(1), 10);
}

TEST(StructuredPruning, CompactedModelSavesAndLoadsAsTorchScript) {
  const ModelSpec spec = zoo_spec("small_cnn");
  torch::jit::Module model = model_with_stats("small_cnn", 4);
  CompactModel small = compact(model, spec, plan_structured(model, spec, 0.5));
  small.module.eval();
  testing_util::TempDir tmp("compact");
  small.module.save(tmp.path + "/small.pt");
  torch::jit::Module loaded = torch::jit::load(tmp.path + "/small.pt");
  const at::Tensor x = torch::rand({3, 1, 28, 28});
  EXPECT_TRUE(torch::equal(loaded.forward({x}).toTensor(), small.module.forward({x}).toTensor()));
}

TEST(StructuredPruning, BadArgumentsAreUsageErrors) {
  const ModelSpec spec = zoo_spec("mlp");
  torch::jit::Module model = build_model(spec, 1);
  EXPECT_THROW(plan_structured(model, spec, 1.0), UsageError);
  EXPECT_THROW(plan_structured(model, spec, 0.5, "l3"), UsageError);
}

}  // namespace
}  // namespace condenser
