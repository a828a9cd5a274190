#include "trainers/model_spec.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>

#include "core/errors.h"
#include "tests/common/module_util.h"
#include "tests/common/temp_dir.h"
#include "trainers/prune_masks.h"

namespace condenser {
namespace {

using testing_util::count_parameters;

TEST(ModelSpec, ZooModelsRunForwardWithTheRightOutputShape) {
  for (const auto& name : zoo_names()) {
    torch::jit::Module m = build_model(zoo_spec(name), 1);
    const at::Tensor y = m.forward({torch::rand({3, 1, 28, 28})}).toTensor();
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, 10})) << name;
  }
}

TEST(ModelSpec, StudentIsUnderTenPercentOfTeacher) {
  const int64_t teacher = count_parameters(build_model(zoo_spec("cnn"), 1));
  const int64_t student = count_parameters(build_model(zoo_spec("small_cnn"), 1));
  EXPECT_GT(teacher, 300000);
  EXPECT_LE(student * 10, teacher) << "student " << student << " teacher " << teacher;
}

TEST(ModelSpec, SameSeedSameWeightsDifferentSeedDifferentWeights) {
  auto a = build_model(zoo_spec("small_cnn"), 7), b = build_model(zoo_spec("small_cnn"), 7),
       c = build_model(zoo_spec("small_cnn"), 8);
  const at::Tensor wa = a.attr("l0_w").toTensor(), wb = b.attr("l0_w").toTensor(),
                   wc = c.attr("l0_w").toTensor();
  EXPECT_TRUE(torch::equal(wa, wb));
  EXPECT_FALSE(torch::equal(wa, wc));
}

TEST(ModelSpec, EvalModeIsDeterministicAndTrainModeUsesBatchStatistics) {
  torch::jit::Module m = build_model(zoo_spec("cnn"), 3);
  const at::Tensor x = torch::rand({4, 1, 28, 28});
  m.eval();
  const at::Tensor e1 = m.forward({x}).toTensor(), e2 = m.forward({x}).toTensor();
  EXPECT_TRUE(torch::equal(e1, e2));
  m.train();
  torch::NoGradGuard no_grad;
  m.forward({x});  // updates BatchNorm running statistics
  m.eval();
  EXPECT_FALSE(torch::allclose(m.forward({x}).toTensor(), e1));
}

TEST(ModelSpec, SavesAndLoadsAsTorchScript) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 5);
  m.eval();
  const auto path = std::filesystem::temp_directory_path() / "condenser_model_spec_test.pt";
  m.save(path.string());
  torch::jit::Module loaded = torch::jit::load(path.string());
  const at::Tensor x = torch::rand({2, 1, 28, 28});
  EXPECT_TRUE(torch::allclose(m.forward({x}).toTensor(), loaded.forward({x}).toTensor()));
  std::filesystem::remove(path);
}

TEST(ModelSpec, UnknownNameListsTheZoo) {
  try {
    zoo_spec("resnet9000");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("small_cnn"), std::string::npos);
  }
}

// A ResNet-ish declared model for 3x8x8 images.
ModelSpec resnetish() {
  ModelSpec spec;
  spec.name = "student";
  spec.input_shape = {3, 8, 8};
  spec.input_mean = {0.5, 0.4, 0.3};
  spec.input_std = {0.2};
  spec.layers = parse_model_layers(R"(
- {conv: 8}
- batch_norm
- relu
- {residual: [{conv: 8}, batch_norm, relu, {conv: 8}, batch_norm]}
- relu
- {conv: 16, stride: 2}
- batch_norm
- gelu
- {avg_pool: 2}
- {residual: [{conv: 16, kernel: 1}, tanh]}
- global_avg_pool
- {dropout: 0.2}
- {linear: 10}
)", "student.layers");
  return spec;
}

std::string spec_error(const ModelSpec& spec, int64_t classes) {
  try {
    check_spec(spec, classes, "student.layers");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not in: " << text;
}

TEST(DeclaredModel, ResNetOnSmallImagesBuildsRunsAndCountsItsParameters) {
  const ModelSpec spec = resnetish();
  EXPECT_NO_THROW(check_spec(spec, 10, "student.layers"));
  torch::jit::Module m = build_model(spec, 3);
  EXPECT_TRUE(m.hasattr("l3_0_w"));
  EXPECT_TRUE(m.hasattr("l3_3_w"));
  EXPECT_TRUE(m.hasattr("l3_4_var"));
  EXPECT_EQ(m.attr("l5_w").toTensor().sizes(), (std::vector<int64_t>{16, 8, 3, 3}));
  for (bool training : {true, false}) {
    m.train(training);
    const at::Tensor y = m.forward({torch::rand({4, 3, 8, 8})}).toTensor();
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{4, 10}));
  }
  EXPECT_EQ(parameter_count(spec), count_parameters(m));
  for (const auto& name : zoo_names()) {
    EXPECT_EQ(parameter_count(zoo_spec(name)), count_parameters(build_model(zoo_spec(name), 1)));
  }
}

TEST(DeclaredModel, PerChannelNormalisationIsPartOfTheModel) {
  ModelSpec plain = resnetish();
  plain.input_mean.clear();
  plain.input_std.clear();
  EXPECT_EQ(model_source(plain).find("x = (x -"), std::string::npos);
  torch::jit::Module a = build_model(resnetish(), 5), b = build_model(plain, 5);
  a.eval();
  b.eval();
  const at::Tensor x = torch::rand({2, 3, 8, 8});
  const at::Tensor mean = torch::tensor({0.5, 0.4, 0.3}).view({3, 1, 1});
  EXPECT_TRUE(torch::allclose(a.forward({x}).toTensor(), b.forward({(x - mean) / 0.2}).toTensor(),
                              1e-5, 1e-5));
}

TEST(DeclaredModel, SourceRoundTripsThroughSaveAndLoad) {
  torch::jit::Module m = build_model(resnetish(), 6);
  m.eval();
  testing_util::TempDir tmp("declared");
  m.save(tmp.path + "/m.pt");
  torch::jit::Module loaded = torch::jit::load(tmp.path + "/m.pt");
  const at::Tensor x = torch::rand({3, 3, 8, 8});
  EXPECT_TRUE(torch::equal(m.forward({x}).toTensor(), loaded.forward({x}).toTensor()));
  loaded.train();
  EXPECT_EQ(loaded.forward({x}).toTensor().sizes(), (std::vector<int64_t>{3, 10}));
}

TEST(DeclaredModel, TabularMlpWithAResidualOnFiveFeatures) {
  ModelSpec spec;
  spec.name = "tabular";
  spec.input_shape = {5};
  spec.input_mean = {1, 2, 3, 4, 5};
  spec.input_std = {2, 2, 2, 2, 4};
  spec.layers = parse_model_layers(
      "[flatten, batch_norm, {linear: 16}, relu, {residual: [{linear: 32}, relu, {linear: 16}]},"
      " {linear: 3}]",
      "student.layers");
  check_spec(spec, 3, "student.layers");
  torch::jit::Module m = build_model(spec, 2);
  const at::Tensor y = m.forward({torch::rand({7, 5})}).toTensor();
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{7, 3}));
  EXPECT_EQ(parameter_count(spec), count_parameters(m));
  EXPECT_EQ(parameter_count(spec), 2 * 5 + (5 * 16 + 16) + (16 * 32 + 32) + (32 * 16 + 16) +
                                       (16 * 3 + 3));
}

TEST(DeclaredModel, CheckSpecNamesTheLayerThatDoesNotFit) {
  ModelSpec flat;
  flat.input_shape = {5};
  flat.layers = parse_model_layers("[{linear: 8}, relu, {conv: 4}, {linear: 3}]", "x");
  EXPECT_TRUE(Contains(spec_error(flat, 3),
                       "student.layers[2]: conv needs an image input [C,H,W] but gets a flat "
                       "input of 8 features"));

  ModelSpec image = resnetish();
  image.layers = parse_model_layers("[{conv: 4}, relu, {linear: 10}]", "x");
  EXPECT_TRUE(Contains(spec_error(image, 10), "student.layers[2]: linear needs a flat input but "
                                              "gets a 4x8x8 image (CxHxW); add flatten or "
                                              "global_avg_pool before it"));
  image.layers = parse_model_layers("[{max_pool: 4}, {max_pool: 4}, flatten, {linear: 10}]", "x");
  EXPECT_TRUE(Contains(spec_error(image, 10), "student.layers[1]: max_pool 4 shrinks a 3x2x2 "
                                              "image (CxHxW) to 0x0"));
  image.layers = parse_model_layers(
      "[{conv: 4}, {residual: [relu, {conv: 4, stride: 2}]}, flatten, {linear: 10}]", "x");
  EXPECT_TRUE(Contains(spec_error(image, 10), "student.layers[1]: the residual body turns a "
                                              "4x8x8 image (CxHxW) into a 4x4x4 image"));
  image.layers = parse_model_layers("[{residual: [{conv: 4}, {residual: [{linear: 3}]}]}]", "x");
  EXPECT_TRUE(Contains(spec_error(image, 10), "student.layers[0].residual[1].residual[0]: linear"));
  image.layers = parse_model_layers("[global_avg_pool, {linear: 7}]", "x");
  EXPECT_TRUE(Contains(spec_error(image, 10), "student.layers[1]: the last linear has 7 outputs "
                                              "but the data has 10 classes"));
  image.layers = parse_model_layers("[global_avg_pool, {linear: 10}, relu]", "x");
  EXPECT_TRUE(Contains(spec_error(image, 10), "student.layers[2]: the last layer must be "
                                              "{linear: 10}"));
  image.input_mean = {0.1, 0.2};
  image.layers = parse_model_layers("[global_avg_pool, {linear: 10}]", "x");
  EXPECT_TRUE(Contains(spec_error(image, 10), "2 mean values for 3 channels"));
  EXPECT_THROW(build_model(flat, 1), UsageError);
}

TEST(DeclaredModel, ZooAdaptsToOtherShapesAndClasses) {
  const ModelSpec rgb = zoo_spec("small_cnn", {3, 32, 32}, 100);
  EXPECT_TRUE(rgb.input_mean.empty());
  EXPECT_EQ(model_source(rgb).find("x = (x -"), std::string::npos);
  torch::jit::Module m = build_model(rgb, 1);
  EXPECT_EQ(m.forward({torch::rand({2, 3, 32, 32})}).toTensor().sizes(),
            (std::vector<int64_t>{2, 100}));
  EXPECT_NE(model_source(zoo_spec("cnn")).find("x = (x - 0.28"), std::string::npos);
  const ModelSpec tab = zoo_spec("mlp", {5}, 3);
  EXPECT_EQ(build_model(tab, 1).forward({torch::rand({4, 5})}).toTensor().sizes(),
            (std::vector<int64_t>{4, 3}));
  try {
    zoo_spec("cnn", {5}, 3);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_TRUE(Contains(e.what(), "model 'cnn' layers[0]: conv needs an image input"));
  }
  EXPECT_THROW(zoo_spec("cnn", {1, 2, 2}, 10), UsageError);  // pooled to 0x0
}

}  // namespace
}  // namespace condenser
