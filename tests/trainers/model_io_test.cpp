// A model's identity (module_identity): what ties soft labels to a teacher.
#include "trainers/model_io.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "trainers/model_spec.h"

namespace condenser {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("condenser_model_io_" + name)).string();
}

torch::jit::Module saved_and_loaded(torch::jit::Module m, const std::string& name) {
  const std::string path = temp_path(name);
  save_module(m, path);
  torch::jit::Module back = load_module(path, "model");
  std::filesystem::remove(path);
  return back;
}

TEST(ModelIdentity, TheSameModelSavedTwiceHasOneIdentity) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 7);
  const std::string a = module_identity(saved_and_loaded(m, "a.pt"));
  const std::string b = module_identity(saved_and_loaded(m, "b.pt"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 64u);
}

TEST(ModelIdentity, ChangesWithAnyWeightOrBufferOrTheCode) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 7);
  const std::string base = module_identity(m);
  {
    torch::NoGradGuard no_grad;
    m.attr("l0_w").toTensor()[0][0][0][0] += 1e-3;  // one weight
  }
  const std::string weight_changed = module_identity(m);
  EXPECT_NE(weight_changed, base);
  {
    torch::NoGradGuard no_grad;
    m.attr("l1_mean").toTensor()[0] += 1e-3;  // a BatchNorm running mean
  }
  EXPECT_NE(module_identity(m), weight_changed);
  // Same parameters (seed, shapes, names), other code: only the dropout rate differs.
  ModelSpec spec = zoo_spec("cnn");
  torch::jit::Module a = build_model(spec, 3);
  for (LayerSpec& l : spec.layers)
    if (l.kind == LayerKind::kDropout) l.rate = 0.5;
  torch::jit::Module b = build_model(spec, 3);
  EXPECT_NE(module_identity(a), module_identity(b));
}

TEST(ModelIdentity, DoesNotDependOnTheTrainingFlag) {
  torch::jit::Module m = build_model(zoo_spec("mlp"), 1);
  m.train(true);
  const std::string training = module_identity(m);
  m.eval();
  EXPECT_EQ(module_identity(m), training);
}

}  // namespace
}  // namespace condenser
