// Data-parallel training equals one process training the global batch:
// N ranks x local batch b for K steps end with the weights of 1 rank x N*b
// (fp32, 1e-5), for SGD and Adam, cross-entropy and distillation, a dataset
// size no world size divides, and several gradient buckets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cluster/gradient_reducer.h"
#include "tests/mpi/mpi_world.h"
#include "trainers/model_spec.h"
#include "trainers/pruning.h"
#include "trainers/training.h"

namespace condenser {
namespace {

using test::world;

constexpr int64_t kSamples = 101;  // prime: uneven shares and a short last batch

struct Data {
  LabelledSet train, validation;
  SoftTargets soft;
};

// The same synthetic data on every rank (fixed seed), learnable by an MLP.
Data make_data() {
  torch::manual_seed(1234);
  Data d;
  const at::Tensor images = torch::rand({kSamples, 1, 28, 28});
  const at::Tensor labels = torch::randint(0, 10, {kSamples}, torch::kLong);
  std::vector<int64_t> all(kSamples);
  for (int64_t i = 0; i < kSamples; ++i) all[size_t(i)] = i;
  d.train = {images, labels, all};
  d.validation = {images, labels, std::vector<int64_t>(all.begin(), all.begin() + 31)};
  d.soft.logits = torch::randn({kSamples, 10}) * 3;
  return d;
}

torch::jit::Module trained(const Data& d, const StageOptions& options, const PruneMasks* masks,
                           double* val_accuracy) {
  torch::jit::Module m = build_model(zoo_spec("mlp"), 99);
  const StageResult r =
      train_stage(m, d.train, d.validation, options, masks, [](const nlohmann::json&) {});
  *val_accuracy = r.val_accuracy;
  return m;
}

StageOptions options_for(const std::string& optimizer, bool distill, const Data& d) {
  StageOptions o;
  o.stage = "equivalence";
  o.seed = 5;
  o.log_every = 3;  // exercises the reduced step loss
  o.optim.epochs = 2;
  o.optim.batch_size = 8;
  o.optim.optimizer = optimizer;
  o.optim.lr = optimizer == "sgd" ? 0.05 : 0.003;
  o.optim.weight_decay = 1e-4;
  o.bucket_cap_bytes = 16 << 10;  // several buckets for a 100k-parameter MLP
  if (distill) {
    o.soft = d.soft;
    o.temperature = 3.0;
    o.alpha = 0.7;
  }
  return o;
}

void expect_equivalent(const std::string& optimizer, bool distill) {
  const Data d = make_data();
  StageOptions parallel = options_for(optimizer, distill, d);
  parallel.comm = &world();
  StageOptions single = options_for(optimizer, distill, d);
  single.optim.batch_size = parallel.optim.batch_size * world().size();
  double acc_parallel = 0, acc_single = 0;
  torch::jit::Module a = trained(d, parallel, nullptr, &acc_parallel);
  torch::jit::Module b = trained(d, single, nullptr, &acc_single);
  const auto pa = a.named_parameters();
  const auto pb = b.named_parameters();
  for (auto ia = pa.begin(), ib = pb.begin(); ia != pa.end(); ++ia, ++ib) {
    const double diff = ((*ia).value - (*ib).value).abs().max().item<double>();
    EXPECT_LT(diff, 1e-5) << optimizer << (distill ? " kd " : " ce ") << (*ia).name;
  }
  EXPECT_NEAR(acc_parallel, acc_single, 1e-9);
}

TEST(DataParallel, SgdCrossEntropyEqualsOneProcessWithTheGlobalBatch) {
  expect_equivalent("sgd", false);
}

TEST(DataParallel, AdamDistillationEqualsOneProcessWithTheGlobalBatch) {
  expect_equivalent("adam", true);
}

// Every rank ends with bitwise the same weights and keeps pruned weights at zero.
TEST(DataParallel, MaskedTrainingStaysIdenticalOnEveryRank) {
  const Data d = make_data();
  torch::jit::Module m = build_model(zoo_spec("mlp"), 99);
  const PruneMasks masks = global_magnitude_masks(m, 0.7);
  StageOptions o = options_for("adam", true, d);
  o.comm = &world();
  train_stage(m, d.train, d.validation, o, &masks, [](const nlohmann::json&) {});
  for (const auto& p : m.named_parameters()) {
    at::Tensor mine = p.value.detach().clone();
    at::Tensor root = mine.clone();
    wait_all(world().broadcast(root, 0));
    EXPECT_TRUE(mine.equal(root)) << p.name << " differs from rank 0 on rank " << world().rank();
    const auto mask = masks.masks().find(p.name);
    if (mask != masks.masks().end()) {
      EXPECT_EQ(mine.masked_select(mask->second.eq(0)).abs().sum().item<double>(), 0.0) << p.name;
    }
  }
}

TEST(DataParallel, BucketLayoutIsTheSameOnEveryRank) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 1);
  std::vector<at::Tensor> params;
  for (const auto& p : m.parameters()) params.push_back(p);
  GradientReducer reducer(params, world(), 64 << 10);
  std::vector<int64_t> flat;
  for (const auto& bucket : reducer.bucket_layout()) {
    flat.push_back(-1);
    for (size_t i : bucket) flat.push_back(int64_t(i));
  }
  const at::Tensor mine = torch::tensor(flat, torch::kLong);
  at::Tensor all = torch::zeros({mine.numel() * world().size()}, torch::kLong);
  wait_all(world().allgather(mine, all));
  for (int r = 0; r < world().size(); ++r) {
    EXPECT_TRUE(all.slice(0, r * mine.numel(), (r + 1) * mine.numel()).equal(mine));
  }
  EXPECT_GT(reducer.bucket_layout().size(), 1u);
  // Reverse parameter order: the last parameter is packed first.
  EXPECT_EQ(reducer.bucket_layout().front().front(), params.size() - 1);
}

}  // namespace
}  // namespace condenser
