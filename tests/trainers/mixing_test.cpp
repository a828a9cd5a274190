// Mixup / CutMix (trainers/mixing.h): the weight's distribution, the images
// a batch is mixed into, determinism, and the claim the design rests on:
// mixing two KD losses by lambda has the gradient of the KD loss against
// the mixture of the two teacher distributions.
#include "trainers/mixing.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "core/errors.h"
#include "data/sampling.h"
#include "trainers/losses.h"

namespace condenser {
namespace {

// Mean and variance of n draws of Beta(a, a).
std::pair<double, double> beta_moments(double a, int n) {
  SplitMix64 g(11);
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = sample_beta(g, a);
    EXPECT_TRUE(x >= 0.0 && x <= 1.0) << x;
    sum += x;
    sq += x * x;
  }
  const double mean = sum / n;
  return {mean, sq / n - mean * mean};
}

TEST(Mixing, BetaDrawsHaveTheBetaMeanAndVariance) {
  // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)).
  for (double a : {0.2, 1.0, 4.0}) {
    const auto [mean, var] = beta_moments(a, 40000);
    EXPECT_NEAR(mean, 0.5, 0.01) << "a = " << a;
    EXPECT_NEAR(var, 1.0 / (4.0 * (2.0 * a + 1.0)), 0.006) << "a = " << a;
  }
  SplitMix64 g(1);
  EXPECT_THROW(sample_beta(g, 0.0), UsageError);
}

Batch constant_images(int64_t n) {
  Batch b;  // image i is filled with the value i + 1
  b.images = torch::arange(1, n + 1, torch::kFloat32).view({n, 1, 1, 1}).expand({n, 1, 8, 8}).clone();
  b.labels = torch::arange(n, torch::kInt64);
  b.rows = torch::arange(n, torch::kInt64);
  b.local_rows = b.global_rows = n;
  return b;
}

void expect_permutation(const at::Tensor& partner, int64_t n) {
  ASSERT_TRUE(partner.defined());
  std::set<int64_t> seen;
  for (int64_t i = 0; i < n; ++i) seen.insert(partner[i].item<int64_t>());
  EXPECT_EQ(seen.size(), size_t(n));
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), n - 1);
}

TEST(Mixing, MixupBlendsEachImageWithItsPartnerByLambda) {
  const int64_t n = 16;
  Batch b = constant_images(n);
  mix_batch(b, {"mixup", 1.0}, 5);
  expect_permutation(b.partner, n);
  ASSERT_GT(b.lambda, 0.0);
  ASSERT_LT(b.lambda, 1.0);
  for (int64_t i = 0; i < n; ++i) {
    const double want = b.lambda * double(i + 1) +
                        (1.0 - b.lambda) * double(b.partner[i].item<int64_t>() + 1);
    EXPECT_NEAR(b.images[i].mean().item<double>(), want, 1e-5) << i;
    EXPECT_NEAR(b.images[i].std().item<double>(), 0.0, 1e-6) << "mixup blends whole images";
  }
  Batch again = constant_images(n);
  mix_batch(again, {"mixup", 1.0}, 5);
  EXPECT_TRUE(torch::equal(again.partner, b.partner));
  EXPECT_EQ(again.lambda, b.lambda);
  Batch other = constant_images(n);
  mix_batch(other, {"mixup", 1.0}, 6);
  EXPECT_FALSE(torch::equal(other.partner, b.partner) && other.lambda == b.lambda);
}

TEST(Mixing, CutmixPastesABoxWhoseAreaIsOneMinusLambda) {
  const int64_t n = 12;
  int boxes = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Batch b = constant_images(n);
    mix_batch(b, {"cutmix", 1.0}, seed);
    expect_permutation(b.partner, n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = b.partner[i].item<int64_t>();
      if (j == i) continue;
      const at::Tensor own = b.images[i].eq(float(i + 1)), pasted = b.images[i].eq(float(j + 1));
      EXPECT_TRUE(own.logical_or(pasted).all().item<bool>()) << "every pixel is i's or j's";
      EXPECT_NEAR(own.to(torch::kFloat64).mean().item<double>(), b.lambda, 1e-9)
          << "lambda is the share of pixels kept";
    }
    boxes += b.lambda < 1.0;
  }
  EXPECT_GT(boxes, 15);
}

TEST(Mixing, NoneAndSingleRowsAreLeftAloneAndUnknownMethodsRefused) {
  Batch b = constant_images(4);
  const at::Tensor before = b.images.clone();
  mix_batch(b, {"none", 1.0}, 1);
  EXPECT_FALSE(b.partner.defined());
  EXPECT_TRUE(torch::equal(b.images, before));
  Batch one = constant_images(1);
  mix_batch(one, {"mixup", 1.0}, 1);
  EXPECT_FALSE(one.partner.defined());
  EXPECT_THROW(mix_batch(b, {"mixmatch", 1.0}, 1), UsageError);
  Batch flat;
  flat.images = torch::rand({4, 10});
  EXPECT_THROW(mix_batch(flat, {"cutmix", 1.0}, 1), UsageError);
  mix_batch(flat, {"mixup", 1.0}, 1);  // mixup works on any input shape
  EXPECT_TRUE(flat.partner.defined());
}

TEST(Mixing, MixedKdLossesHaveTheGradientOfKdAgainstTheMixedTeacher) {
  torch::manual_seed(3);
  const double t = 3.0, lambda = 0.3;
  const at::Tensor s = torch::randn({6, 10}).requires_grad_(true);
  const at::Tensor ti = torch::randn({6, 10}) * 4, tj = torch::randn({6, 10}) * 4;
  const at::Tensor y = torch::zeros({6}, torch::kInt64);
  (kd_loss(s, ti, y, t, 1.0) * lambda + kd_loss(s, tj, y, t, 1.0) * (1 - lambda)).backward();
  const at::Tensor ours = s.grad().clone();
  s.grad().zero_();
  // The reference: T^2 KL(m || softmax(s / T)) with m the mixture of the two distributions.
  const at::Tensor m = torch::softmax(ti / t, 1) * lambda + torch::softmax(tj / t, 1) * (1 - lambda);
  const at::Tensor kl = (m * (m.log() - torch::log_softmax(s / t, 1))).sum(1).mean() * (t * t);
  kl.backward();
  EXPECT_TRUE(torch::allclose(ours, s.grad(), 1e-5, 1e-6));
}

}  // namespace
}  // namespace condenser
