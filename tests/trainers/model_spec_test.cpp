#include "trainers/model_spec.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/errors.h"
#include "tests/common/module_util.h"
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

}  // namespace
}  // namespace condenser
