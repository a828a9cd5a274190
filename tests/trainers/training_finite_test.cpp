// A NaN or infinite training loss stops the stage before it reaches the
// weights, with a UsageError that names the stage, the step and the epoch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/errors.h"
#include "trainers/model_spec.h"
#include "trainers/training.h"

namespace condenser {
namespace {

std::vector<at::Tensor> copies(torch::jit::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.clone());
  return out;
}

TEST(TrainingFinite, ANanLossStopsTheStageNamingItsStepAndKeepsTheWeights) {
  torch::manual_seed(1);
  const int64_t n = 64;
  at::Tensor images = torch::rand({n, 1, 28, 28});
  const at::Tensor labels = torch::randint(0, 10, {n}, torch::kInt64);
  std::vector<int64_t> all(n);
  for (int64_t i = 0; i < n; ++i) all[size_t(i)] = i;
  StageOptions o;
  o.stage = "distill";
  o.seed = 3;
  o.log_every = 0;
  o.optim.optimizer = "adam";
  o.optim.epochs = 2;
  o.optim.batch_size = 16;
  o.optim.lr = 1e-3;
  torch::jit::Module m = build_model(zoo_spec("mlp"), 4);  // 10 classes
  // Soft targets with one NaN row: the batch that holds it has a NaN loss.
  DistillOptions& d = o.distill;
  d.soft.logits = torch::randn({n, 10});
  d.soft.logits[37][2] = std::nan("");
  d.soft.views = 1;
  d.temperature = 2.0;
  d.alpha = 0.5;
  int64_t steps_seen = 0;
  std::vector<at::Tensor> before = copies(m);
  o.checkpoint.on_step = [&](const StepState& s) {
    steps_seen = s.cursor.steps;
    before = copies(m);
    return false;
  };
  const LabelledSet set{images, labels, all};
  try {
    train_stage(m, set, set, o, nullptr, [](const nlohmann::json&) {});
    FAIL() << "a NaN loss was trained on";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("distill: the training loss is NaN at step " +
                        std::to_string(steps_seen + 1) + " (epoch 1"),
              std::string::npos)
        << what;
  }
  // The weights are those after the last good step (what a checkpoint kept).
  const std::vector<at::Tensor> after = copies(m);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(torch::equal(before[i], after[i])) << i;
    EXPECT_TRUE(torch::isfinite(after[i]).all().item<bool>()) << i;
  }
}

}  // namespace
}  // namespace condenser
