// Data-parallel training equals one process training the global batch:
// N ranks x local batch b for K steps end with the weights of 1 rank x N*b
// (fp32, 1e-5), for SGD and Adam, cross-entropy and distillation, a dataset
// size no world size divides, and several gradient buckets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cluster/gradient_reducer.h"
#include "tests/mpi/mpi_world.h"
#include "trainers/model_spec.h"
#include "trainers/pruning/magnitude.h"
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
  o.parallel.bucket_cap_bytes = 16 << 10;  // several buckets for a 100k-parameter MLP
  if (distill) {
    o.distill.soft = d.soft;
    o.distill.temperature = 3.0;
    o.distill.alpha = 0.7;
  }
  return o;
}

void expect_equivalent(const std::string& optimizer, bool distill) {
  const Data d = make_data();
  StageOptions parallel = options_for(optimizer, distill, d);
  parallel.parallel.comm = &world();
  StageOptions single = options_for(optimizer, distill, d);
  single.optim.batch_size = parallel.optim.batch_size * world().size();
  double acc_parallel = 0, acc_single = 0;
  torch::jit::Module a = trained(d, parallel, nullptr, &acc_parallel);
  torch::jit::Module b = trained(d, single, nullptr, &acc_single);
  const auto pa = a.named_parameters();
  const auto pb = b.named_parameters();
  // The summed gradients equal the global batch's to float32 rounding, but an
  // optimised BLAS (OpenBLAS) rounds an [8, F] and a [16, F] product
  // differently, and Adam's g / sqrt(v) turns last-bit differences of
  // near-zero gradients into steps of up to lr: SGD is held to 1e-5, Adam to
  // a sixth of its lr (0.003).
  const double tolerance = optimizer == "adam" ? 5e-4 : 1e-5;
  for (auto ia = pa.begin(), ib = pb.begin(); ia != pa.end(); ++ia, ++ib) {
    const double diff = ((*ia).value - (*ib).value).abs().max().item<double>();
    EXPECT_LT(diff, tolerance) << optimizer << (distill ? " kd " : " ce ") << (*ia).name;
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
  o.parallel.comm = &world();
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

// Rank r's loss is (r + 1) * sum_k <p_k, c_k>, so the summed gradient of p_k
// is c_k * (1 + ... + world).
void backward_of_rank(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& c) {
  at::Tensor loss = torch::zeros({});
  for (size_t k = 0; k < params.size(); ++k) loss = loss + (params[k] * c[k]).sum();
  (loss * double(world().rank() + 1)).backward();
}

void expect_sums(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& c,
                 double factor, const std::string& when) {
  for (size_t k = 0; k < params.size(); ++k) {
    ASSERT_TRUE(params[k].grad().defined()) << when << " parameter " << k;
    EXPECT_TRUE(torch::allclose(params[k].grad(), c[k] * factor)) << when << " parameter " << k;
  }
}

// .grad aliases the buckets (nothing copied), finish() leaves the sum over
// ranks, and gradients that zero_grad drops (LibTorch 2.x's default) before
// or after prepare() come back into the buckets; a rank without samples
// contributes zeros.
TEST(DataParallel, GradientsAreBucketViewsHoldingTheSumOverRanks) {
  const int w = world().size();
  const double all = w * (w + 1) / 2.0;
  std::vector<at::Tensor> params = {torch::ones({3, 5}).requires_grad_(),
                                    torch::ones({7}).requires_grad_(),
                                    torch::ones({4, 2}).requires_grad_()};
  std::vector<at::Tensor> c;
  for (const auto& p : params) {
    c.push_back(torch::arange(p.numel(), torch::kFloat).view(p.sizes()) - 3.0);
  }
  GradientReducer reducer(params, world(), 64);  // buckets {2, 1} and {0}
  ASSERT_EQ(reducer.bucket_layout().size(), 2u);
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.1));
  // Parameters 2 and 1 share the first bucket, back to back.
  EXPECT_EQ(params[2].grad().data_ptr<float>() + 8, params[1].grad().data_ptr<float>());
  const void* bucket = params[2].grad().data_ptr();

  sgd.zero_grad();  // LibTorch 1.x: zeroes the views in place (detach_ + zero_)
  reducer.prepare();
  backward_of_rank(params, c);
  reducer.finish();
  expect_sums(params, c, all, "zero_grad in place:");
  EXPECT_EQ(params[2].grad().data_ptr(), bucket);

  for (auto& p : params) p.mutable_grad().reset();  // LibTorch 2.x zero_grad
  reducer.prepare();
  backward_of_rank(params, c);
  reducer.finish();
  expect_sums(params, c, all, "grads dropped before prepare:");
  EXPECT_EQ(params[2].grad().data_ptr(), bucket);

  sgd.zero_grad();
  reducer.prepare();
  for (auto& p : params) p.mutable_grad().reset();  // dropped after prepare
  backward_of_rank(params, c);
  reducer.finish();
  expect_sums(params, c, all, "grads dropped after prepare:");
  EXPECT_EQ(params[2].grad().data_ptr(), bucket);

  sgd.zero_grad();
  reducer.prepare();
  if (world().rank() != 0) backward_of_rank(params, c);  // rank 0 has no samples
  reducer.finish();
  expect_sums(params, c, all - 1.0, "rank 0 without samples:");
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
