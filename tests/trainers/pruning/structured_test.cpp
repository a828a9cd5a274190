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

// Declared: a stem conv (l0) feeding two residual blocks, a strided conv
// after them, then global pooling.
ModelSpec residual_spec() {
  ModelSpec spec;
  spec.name = "student";
  spec.input_shape = {3, 8, 8};
  spec.input_mean = {0.5};
  spec.input_std = {0.25};
  spec.layers = parse_model_layers(R"(
- {conv: 8}
- batch_norm
- relu
- {residual: [{conv: 12}, batch_norm, relu, {conv: 8}, batch_norm]}
- {residual: [{conv: 6, kernel: 1}, gelu, {conv: 8}]}
- {conv: 10, stride: 2}
- relu
- batch_norm
- flatten
- {linear: 16}
- {residual: [{linear: 24}, tanh, {linear: 16}]}
- batch_norm
- {linear: 5}
)", "student.layers");
  return spec;
}

torch::jit::Module with_stats(const ModelSpec& spec, uint64_t seed) {
  torch::jit::Module m = build_model(spec, seed);
  torch::NoGradGuard no_grad;
  m.train();
  for (int i = 0; i < 3; ++i) m.forward({torch::rand({16, 3, 8, 8})});
  for (const auto& p : m.named_parameters()) {
    if (p.value.dim() == 1) p.value.uniform_(-0.5, 1.5);
  }
  return m;
}

TEST(StructuredPruning, ResidualBlocksKeepTheirCoupledChannels) {
  const ModelSpec spec = residual_spec();
  const torch::jit::Module model = build_model(spec, 1);
  const StructuredPlan plan = plan_structured(model, spec, 0.5, "l1");
  // Coupled by the adds: the stem l0, the bodies' last layers l3_3, l4_2,
  // the linear l9 before the flat residual and its body's last l10_2.
  for (size_t coupled : {0u, 9u}) EXPECT_EQ(plan.keep.count(coupled), 0u) << coupled;
  for (const char* coupled : {"l3_3", "l4_2", "l10_2"}) {
    EXPECT_EQ(plan.body_keep.count(coupled), 0u) << coupled;
  }
  EXPECT_EQ(plan.keep.count(12), 0u);  // the class layer
  // Inside the bodies, and the strided conv after them, channels are cut.
  EXPECT_EQ(plan.body_keep.at("l3_0").size(), 6u);
  EXPECT_EQ(plan.body_keep.at("l4_0").size(), 3u);
  EXPECT_EQ(plan.body_keep.at("l10_0").size(), 12u);
  EXPECT_EQ(plan.keep.at(5).size(), 5u);

  CompactModel small = compact(model, spec, plan);
  EXPECT_EQ(small.spec.layers[0].out, 8);
  EXPECT_EQ(small.spec.layers[3].body[0].out, 6);
  EXPECT_EQ(small.spec.layers[3].body[3].out, 8);
  EXPECT_EQ(small.spec.layers[5].out, 5);
  EXPECT_EQ(small.spec.layers[5].stride, 2);
  EXPECT_EQ(parameter_count(small.spec), count_parameters(small.module));

  StructuredPlan excluded = plan;
  exclude_from_plan(excluded, "l3_0_w");
  exclude_from_plan(excluded, "l5_w");
  EXPECT_EQ(excluded.body_keep.count("l3_0"), 0u);
  EXPECT_EQ(excluded.keep.count(5), 0u);
  EXPECT_EQ(excluded.body_keep.count("l4_0"), 1u);
}

TEST(StructuredPruning, CompactedResidualModelEqualsTheMaskedModel) {
  torch::manual_seed(2);
  const ModelSpec spec = residual_spec();
  torch::jit::Module model = with_stats(spec, 4);
  const StructuredPlan plan = plan_structured(model, spec, 0.5, "l2");
  CompactModel small = compact(model, spec, plan);
  structured_masks(model, spec, plan).apply_to_weights(model);
  const at::Tensor x = torch::rand({8, 3, 8, 8});
  for (bool training : {false, true}) {
    model.train(training);
    small.module.train(training);
    const at::Tensor a = model.forward({x}).toTensor(), b = small.module.forward({x}).toTensor();
    EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-5))
        << "training=" << training << " max diff " << (a - b).abs().max().item<float>();
  }
  EXPECT_LT(count_parameters(small.module), count_parameters(model) * 8 / 10);
  testing_util::TempDir tmp("compact_residual");
  small.module.save(tmp.path + "/small.pt");
  torch::jit::Module loaded = torch::jit::load(tmp.path + "/small.pt");
  loaded.eval();
  small.module.eval();
  EXPECT_TRUE(torch::equal(loaded.forward({x}).toTensor(), small.module.forward({x}).toTensor()));
}

}  // namespace
}  // namespace condenser
