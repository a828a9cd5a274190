// Per-token losses for language models ([B, P, C], label -100 = padding):
// sparse_kd_loss, kd_loss and token_cross_entropy against PyTorch (values and
// gradients, tests/interop/sparse_kd_reference.py "sequence"), against the
// per-sample losses on the valid tokens, with NaN teacher rows at padding,
// all-padding batches and shape refusals.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/errors.h"
#include "tests/common/python_reference.h"
#include "tests/common/temp_dir.h"
#include "trainers/losses.h"

namespace condenser {
namespace {

constexpr int64_t kB = 3, kP = 4, kC = 12, kK = 4;

struct Batch {
  at::Tensor student, teacher, values, indices, lse, labels;
};

// Random logits; labels with padding at the ends of sequences 0 and 2.
Batch make_batch(double t) {
  torch::manual_seed(2024);
  Batch b;
  b.student = torch::randn({kB, kP, kC}, torch::kFloat64) * 2;
  b.teacher = torch::randn({kB, kP, kC}, torch::kFloat64) * 3;
  const auto top = b.teacher.topk(kK, 2);
  b.values = std::get<0>(top).to(torch::kFloat32);
  b.indices = std::get<1>(top);
  b.lse = torch::logsumexp(b.teacher / t, 2).to(torch::kFloat32);
  b.labels = torch::randint(0, kC, {kB, kP}, torch::kInt64);
  b.labels[0][3] = kIgnoreToken;
  b.labels[2][2] = kIgnoreToken;
  b.labels[2][3] = kIgnoreToken;
  return b;
}

std::vector<double> flat(const at::Tensor& t) {
  const at::Tensor d = t.to(torch::kFloat64).contiguous().reshape(-1);
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

nlohmann::json nested(const at::Tensor& t) {
  const at::Tensor d = t.to(torch::kFloat64).contiguous();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < d.size(0); ++i) out.push_back(d.dim() == 1 ? nlohmann::json(d[i].item<double>()) : nested(d[i]));
  return out;
}

nlohmann::json nested_int(const at::Tensor& t) {
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < t.size(0); ++i) {
    out.push_back(t.dim() == 1 ? nlohmann::json(t[i].item<int64_t>()) : nested_int(t[i]));
  }
  return out;
}

// loss and d loss / d student of `fn` on a double student.
template <class Fn>
std::pair<double, at::Tensor> loss_and_grad(const at::Tensor& student, Fn fn) {
  const at::Tensor s = student.clone().requires_grad_(true);
  const at::Tensor loss = fn(s);
  loss.backward();
  return {loss.item<double>(), s.grad()};
}

TEST(TokenLosses, MatchPyTorchValuesAndGradientsWithPadding) {
  testing_util::TempDir tmp("token_losses");
  for (const auto& [t, alpha] : {std::pair{2.0, 0.7}, std::pair{1.0, 1.0}}) {
    const Batch b = make_batch(t);
    const nlohmann::json seq = {{"student", nested(b.student)}, {"labels", nested_int(b.labels)},
                                {"T", t}, {"alpha", alpha}, {"values", nested(b.values)},
                                {"indices", nested_int(b.indices)}, {"logsumexp", nested(b.lse)},
                                {"teacher", nested(b.teacher)}};
    const nlohmann::json input = {{"student", {{0.0, 1.0}}}, {"labels", {0}},
                                  {"cases", nlohmann::json::array()}, {"sequence", seq}};
    const nlohmann::json out =
        testing_util::run_python_reference("sparse_kd_reference.py", input, tmp.path);
    ASSERT_FALSE(out.is_null());
    const auto sparse = loss_and_grad(b.student, [&](const at::Tensor& s) {
      return sparse_kd_loss(s, b.values, b.indices, b.lse, b.labels, t, alpha);
    });
    const auto kd = loss_and_grad(b.student, [&](const at::Tensor& s) {
      return kd_loss(s, b.teacher, b.labels, t, alpha);
    });
    const auto ce = loss_and_grad(b.student, [&](const at::Tensor& s) {
      return token_cross_entropy(s, b.labels);
    });
    for (const auto& [name, got] : {std::pair{"sparse", sparse}, std::pair{"kd", kd}, std::pair{"ce", ce}}) {
      const auto& ref = out["sequence"][name];
      EXPECT_NEAR(got.first, ref["loss"].get<double>(), 1e-5) << name << " T=" << t;
      std::vector<double> want;
      for (const auto& row : ref["grad"])
        for (const auto& pos : row)
          for (const auto& v : pos) want.push_back(v.get<double>());
      const std::vector<double> have = flat(got.second);
      ASSERT_EQ(have.size(), want.size());
      for (size_t i = 0; i < have.size(); ++i) EXPECT_NEAR(have[i], want[i], 1e-6) << name << " " << i;
    }
    // Padding positions get no gradient.
    EXPECT_EQ(sparse.second[2][3].abs().sum().item<double>(), 0.0);
    EXPECT_EQ(kd.second[0][3].abs().sum().item<double>(), 0.0);
  }
}

TEST(TokenLosses, EqualPerSampleLossesOnTheValidTokensAndIgnoreNaNPadding) {
  const double t = 1.5, alpha = 0.4;
  const Batch b = make_batch(t);
  const at::Tensor valid = torch::nonzero(b.labels.reshape(-1) != kIgnoreToken).reshape(-1);
  auto rows = [&](const at::Tensor& x) {
    std::vector<int64_t> shape = {kB * kP};
    for (int64_t d = 2; d < x.dim(); ++d) shape.push_back(x.size(d));
    return x.reshape(shape).index_select(0, valid);
  };
  const double per_sample = sparse_kd_loss(rows(b.student), rows(b.values), rows(b.indices),
                                           rows(b.lse), rows(b.labels), t, alpha)
                                .item<double>();
  // NaN teacher data at padding positions must not reach the loss or gradient.
  Batch nan = b;
  nan.values = b.values.clone();
  nan.lse = b.lse.clone();
  nan.teacher = b.teacher.clone();
  nan.values[2][3].fill_(NAN);
  nan.lse[0][3] = NAN;
  nan.teacher[2][2].fill_(NAN);
  const auto sparse = loss_and_grad(b.student, [&](const at::Tensor& s) {
    return sparse_kd_loss(s, nan.values, nan.indices, nan.lse, nan.labels, t, alpha);
  });
  EXPECT_NEAR(sparse.first, per_sample, 1e-9);
  EXPECT_TRUE(torch::isfinite(sparse.second).all().item<bool>());
  const double kd_rows =
      kd_loss(rows(b.student), rows(b.teacher), rows(b.labels), t, alpha).item<double>();
  const auto kd = loss_and_grad(b.student, [&](const at::Tensor& s) {
    return kd_loss(s, nan.teacher, nan.labels, t, alpha);
  });
  EXPECT_NEAR(kd.first, kd_rows, 1e-9);
  EXPECT_TRUE(torch::isfinite(kd.second).all().item<bool>());
  // k = C: sparse equals full KD per token too.
  const auto all = b.teacher.topk(kC, 2);
  const at::Tensor lse = torch::logsumexp(b.teacher / t, 2);
  EXPECT_NEAR(sparse_kd_loss(b.student, std::get<0>(all), std::get<1>(all), lse, b.labels, t, 1.0)
                  .item<double>(),
              kd_loss(b.student, b.teacher, b.labels, t, 1.0).item<double>(),
              1e-6);  // both take the teacher in float32
}

TEST(TokenLosses, AllPaddingIsZeroWithZeroGradient) {
  const Batch b = make_batch(1.0);
  const at::Tensor pad = torch::full({kB, kP}, kIgnoreToken, torch::kInt64);
  for (int which = 0; which < 3; ++which) {
    const auto r = loss_and_grad(b.student, [&](const at::Tensor& s) {
      if (which == 0) return sparse_kd_loss(s, b.values, b.indices, b.lse, pad, 1.0, 0.5);
      if (which == 1) return kd_loss(s, b.teacher, pad, 1.0, 0.5);
      return token_cross_entropy(s, pad);
    });
    EXPECT_EQ(r.first, 0.0) << which;
    EXPECT_EQ(r.second.abs().sum().item<double>(), 0.0) << which;
  }
}

TEST(TokenLosses, RefuseMismatchedShapes) {
  const Batch b = make_batch(1.0);
  EXPECT_THROW(sparse_kd_loss(b.student, b.values, b.indices, b.lse.reshape(-1), b.labels, 1, 1),
               UsageError);
  EXPECT_THROW(sparse_kd_loss(b.student, b.values, b.indices, b.lse, b.labels.reshape(-1), 1, 1),
               UsageError);
  EXPECT_THROW(kd_loss(b.student, b.teacher.slice(2, 0, 5), b.labels, 1, 1), UsageError);
  EXPECT_THROW(token_cross_entropy(b.student.reshape({kB * kP, kC}), b.labels), UsageError);
  EXPECT_THROW(token_cross_entropy(b.student, b.labels.to(torch::kInt32)), UsageError);
}

}  // namespace
}  // namespace condenser
