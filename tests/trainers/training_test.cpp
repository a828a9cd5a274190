// train_stage / predict / accuracy: determinism, learning a separable
// problem, distillation from soft labels, metric records, train/eval flags.
#include "trainers/training.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "trainers/model_spec.h"

namespace condenser {
namespace {

std::vector<int64_t> range(int64_t begin, int64_t end, int64_t step = 1) {
  std::vector<int64_t> v;
  for (int64_t i = begin; i < end; i += step) v.push_back(i);
  return v;
}

// Four classes; class c has a bright 14x14 quadrant c on a dim noisy background.
LabelledSet quadrant_problem(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  at::Tensor images = torch::rand({n, 1, 28, 28}) * 0.3;
  at::Tensor labels = torch::randint(0, 4, {n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = labels[i].item<int64_t>(), r = (c / 2) * 14, col = (c % 2) * 14;
    images[i].narrow(1, r, 14).narrow(2, col, 14).add_(0.7);
  }
  return {images, labels, range(0, n)};
}

StageOptions adam_options(int epochs, int batch, double lr = 1e-3) {
  StageOptions o;
  o.stage = "test";
  o.seed = 17;
  o.log_every = 0;
  o.optim.optimizer = "adam";
  o.optim.epochs = epochs;
  o.optim.batch_size = batch;
  o.optim.lr = lr;
  return o;
}

const MetricSink kIgnore = [](const nlohmann::json&) {};

TEST(Training, SameSeedGivesBitwiseEqualParametersAndOtherSeedDiffers) {
  LabelledSet set = quadrant_problem(64, 1);
  uint64_t global_seed = 100;
  auto run = [&](uint64_t seed) {
    // "cnn" has dropout and BatchNorm: both must be reproducible.
    torch::jit::Module m = build_model(zoo_spec("cnn"), 4);
    StageOptions o = adam_options(1, 16);
    o.seed = seed;
    torch::manual_seed(++global_seed);  // train_stage must not depend on the global RNG state
    train_stage(m, set, set, o, nullptr, kIgnore);
    return m;
  };
  torch::jit::Module a = run(5), b = run(5), c = run(6);
  const auto pa = a.named_parameters(), pb = b.named_parameters(), pc = c.named_parameters();
  bool any_differs = false;
  for (auto ia = pa.begin(), ib = pb.begin(), ic = pc.begin(); ia != pa.end(); ++ia, ++ib, ++ic) {
    EXPECT_TRUE(torch::equal((*ia).value, (*ib).value)) << (*ia).name;
    any_differs = any_differs || !torch::equal((*ia).value, (*ic).value);
  }
  EXPECT_TRUE(any_differs) << "a different seed must change batch order and dropout";
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  for (auto ia = ba.begin(), ib = bb.begin(); ia != ba.end(); ++ia, ++ib) {
    EXPECT_TRUE(torch::equal((*ia).value, (*ib).value)) << (*ia).name;
  }
}

TEST(Training, CrossEntropyLearnsASeparableProblemAndRecordsEpochs) {
  LabelledSet all = quadrant_problem(320, 2);
  LabelledSet train{all.images, all.labels, range(0, 256)};
  LabelledSet validation{all.images, all.labels, range(256, 320)};
  torch::jit::Module m = build_model(zoo_spec("mlp"), 1);
  const double before = accuracy(m, validation);
  std::vector<nlohmann::json> epochs, steps;
  StageOptions o = adam_options(4, 32);
  o.log_every = 3;
  const StageResult r = train_stage(m, train, validation, o, nullptr, [&](const nlohmann::json& j) {
    (j.contains("val_accuracy") ? epochs : steps).push_back(j);
  });
  EXPECT_EQ(r.steps, 4 * 8);
  EXPECT_GT(r.val_accuracy, 0.9) << "accuracy before training " << before;
  EXPECT_DOUBLE_EQ(r.val_accuracy, accuracy(m, validation));
  EXPECT_TRUE(m.is_training());
  ASSERT_EQ(epochs.size(), 4u);
  for (size_t e = 0; e < epochs.size(); ++e) {
    EXPECT_EQ(epochs[e].at("stage"), "test");
    EXPECT_EQ(epochs[e].at("epoch"), int64_t(e) + 1);
    EXPECT_EQ(epochs[e].at("step"), 8 * (int64_t(e) + 1));
    const double val = epochs[e].at("val_accuracy").get<double>();
    EXPECT_TRUE(val >= 0.0 && val <= 1.0) << val;
    EXPECT_TRUE(epochs[e].contains("train_loss") && epochs[e].contains("train_accuracy"));
  }
  EXPECT_LT(epochs.back().at("train_loss").get<double>(),
            0.5 * epochs.front().at("train_loss").get<double>());
  EXPECT_DOUBLE_EQ(epochs.back().at("train_loss").get<double>(), r.last_epoch_loss);
  EXPECT_DOUBLE_EQ(epochs.back().at("val_accuracy").get<double>(), r.val_accuracy);
  ASSERT_EQ(steps.size(), size_t(32 / 3));  // one record every log_every steps
  EXPECT_EQ(steps[0].at("step"), 3);
  EXPECT_TRUE(steps[0].contains("loss") && steps[0].contains("lr"));
}

TEST(Training, CosineScheduleStartsAtLrAndDecays) {
  LabelledSet set = quadrant_problem(64, 3);
  torch::jit::Module m = build_model(zoo_spec("mlp"), 1);
  StageOptions o = adam_options(2, 16, 0.01);
  o.log_every = 1;
  std::vector<double> lrs;
  train_stage(m, set, set, o, nullptr, [&](const nlohmann::json& j) {
    if (j.contains("lr")) lrs.push_back(j.at("lr").get<double>());
  });
  ASSERT_EQ(lrs.size(), 8u);
  EXPECT_DOUBLE_EQ(lrs.front(), 0.01);
  for (size_t i = 1; i < lrs.size(); ++i) EXPECT_LT(lrs[i], lrs[i - 1]) << i;
  EXPECT_NEAR(lrs.back(), 0.01 * 0.5 * (1 + std::cos(M_PI * 7.0 / 8.0)), 1e-12);
}

// A teacher that is a linear function of 4 latent factors behind each image;
// hard labels deliberately disagree with it everywhere.
struct DistillProblem {
  LabelledSet train, validation;
  at::Tensor teacher_logits;  // [N, 10], rows by sample index
};

DistillProblem distill_problem() {
  torch::manual_seed(9);
  const int64_t n = 600;
  const at::Tensor z = torch::randn({n, 4});
  const at::Tensor basis = torch::randn({4, 784});
  const at::Tensor images = (0.5 + 0.1 * z.matmul(basis)).view({n, 1, 28, 28});
  const at::Tensor teacher = 3.0 * z.matmul(torch::randn({4, 10}));
  const at::Tensor wrong = (teacher.argmax(1) + 1) % 10;
  // Train on odd sample indices: soft_logits rows must be looked up by sample index.
  return {{images, wrong, range(1, 500, 2)}, {images, wrong, range(500, n)}, teacher};
}

double agreement(torch::jit::Module& m, const LabelledSet& set, const at::Tensor& teacher) {
  LabelledSet by_teacher{set.images, teacher.argmax(1), set.indices};
  return accuracy(m, by_teacher);
}

TEST(Training, DistillationAtAlphaOneLearnsTheTeacherNotTheHardLabels) {
  DistillProblem p = distill_problem();
  torch::jit::Module m = build_model(zoo_spec("mlp"), 2);
  StageOptions o = adam_options(15, 25, 3e-3);
  o.distill.soft.logits = p.teacher_logits;
  o.distill.temperature = 2.0;
  o.distill.alpha = 1.0;
  train_stage(m, p.train, p.validation, o, nullptr, kIgnore);
  EXPECT_GT(agreement(m, p.train, p.teacher_logits), 0.9);
  EXPECT_GT(agreement(m, p.validation, p.teacher_logits), 0.8);
  EXPECT_LT(accuracy(m, p.validation), 0.1);  // hard labels were ignored
}

TEST(Training, WithoutSoftLogitsTheHardLabelsAreLearned) {
  // The control for the test above: same data, cross-entropy on the hard labels.
  DistillProblem p = distill_problem();
  torch::jit::Module m = build_model(zoo_spec("mlp"), 2);
  train_stage(m, p.train, p.validation, adam_options(15, 25, 3e-3), nullptr, kIgnore);
  EXPECT_LT(agreement(m, p.train, p.teacher_logits), 0.2);
  EXPECT_GT(accuracy(m, p.train), 0.9);
}

// The no-teacher control repeats the distill stage's steps: same batches,
// views and mixing, and no soft label is read, so it equals distillation at
// alpha = 0 (cross-entropy only) and differs from any alpha > 0.
TEST(Training, AControlRepeatsTheDistillStepsWithoutTheSoftLabels) {
  DistillProblem p = distill_problem();
  // Two views per sample: rows sample * 2 + view.
  const at::Tensor soft = p.teacher_logits.repeat_interleave(2, 0);
  const auto run = [&](const std::string& stage, const std::string& order_of, bool with_soft,
                       double alpha) {
    torch::jit::Module m = build_model(zoo_spec("small_cnn"), 2);
    StageOptions o = adam_options(2, 25, 3e-3);
    o.stage = stage;
    o.order_of = order_of;
    o.distill.views_per_sample = 2;
    o.distill.augment_seed = 4;
    o.distill.mix = {"mixup", 0.4};
    o.distill.temperature = 2.0;
    o.distill.alpha = alpha;
    if (with_soft) o.distill.soft = {soft, {}, {}, {}, 2};
    train_stage(m, p.train, p.validation, o, nullptr, kIgnore);
    return m;
  };
  torch::jit::Module control = run("control", "distill", false, 0.0);
  torch::jit::Module ce = run("distill", "", true, 0.0);
  torch::jit::Module kd = run("distill", "", true, 0.9);
  torch::jit::Module own_order = run("control", "", false, 0.0);
  const auto pc = control.named_parameters(), pe = ce.named_parameters(),
             pk = kd.named_parameters(), po = own_order.named_parameters();
  bool kd_differs = false, order_differs = false;
  for (auto c = pc.begin(), e = pe.begin(), k = pk.begin(), o = po.begin(); c != pc.end();
       ++c, ++e, ++k, ++o) {
    EXPECT_TRUE(torch::allclose((*c).value, (*e).value, 1e-5, 1e-6)) << (*c).name;
    kd_differs = kd_differs || !torch::allclose((*c).value, (*k).value, 1e-3, 1e-4);
    order_differs = order_differs || !torch::allclose((*c).value, (*o).value, 1e-3, 1e-4);
  }
  EXPECT_TRUE(kd_differs) << "alpha 0.9 must train another student";
  EXPECT_TRUE(order_differs) << "without order_of the control would see other batches";
}

TEST(Training, PredictSelectsRowsInOrderUsesEvalModeAndRestoresTheFlag) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 3);
  {
    torch::NoGradGuard no_grad;
    m.attr("l1_mean").toTensor().fill_(0.2);  // eval-mode BatchNorm differs from batch stats
    m.attr("l1_var").toTensor().fill_(3.0);
  }
  torch::manual_seed(4);
  const at::Tensor images = torch::rand({9, 1, 28, 28});
  const std::vector<int64_t> idx = {7, 2, 2, 5, 0};
  m.eval();
  const at::Tensor expected = m.forward({images.index_select(0, torch::tensor(idx))}).toTensor();
  for (bool training : {true, false}) {
    m.train(training);
    const at::Tensor mean_before = m.attr("l1_mean").toTensor().clone();
    const at::Tensor got = predict(m, images, idx, /*batch_size=*/2);
    EXPECT_EQ(m.is_training(), training);
    EXPECT_FALSE(got.requires_grad());
    EXPECT_TRUE(torch::allclose(got, expected, 1e-5, 1e-6)) << "training=" << training;
    EXPECT_TRUE(torch::equal(m.attr("l1_mean").toTensor(), mean_before));
  }
}

TEST(Training, AccuracyCountsOnlyTheListedSamples) {
  torch::jit::Module m = build_model(zoo_spec("mlp"), 5);
  torch::manual_seed(6);
  const at::Tensor images = torch::rand({6, 1, 28, 28});
  const at::Tensor pred = predict(m, images, range(0, 6), 4).argmax(1);
  at::Tensor labels = pred.clone();
  labels[1] = (pred[1] + 1) % 10;  // wrong on samples 1 and 4
  labels[4] = (pred[4] + 1) % 10;
  EXPECT_DOUBLE_EQ(accuracy(m, {images, labels, {0, 1, 2, 3}}, 3), 0.75);
  EXPECT_DOUBLE_EQ(accuracy(m, {images, labels, {1, 4}}), 0.0);
  EXPECT_DOUBLE_EQ(accuracy(m, {images, labels, range(0, 6)}), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(accuracy(m, {images, labels, {}}), 0.0);
}

}  // namespace
}  // namespace condenser
