// sparse_kd_loss (top-k teacher + remainder bucket) against kd_loss at k = C,
// against an independent double-loop reference here (value and gradient), and
// against PyTorch in Python (tests/interop/sparse_kd_reference.py).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "tests/common/python_reference.h"
#include "tests/common/temp_dir.h"
#include "trainers/losses.h"

namespace condenser {
namespace {

using Rows = std::vector<std::vector<double>>;
using Index = std::vector<std::vector<int64_t>>;

// Same hand-chosen logits as losses_test.cpp: ties and values that overflow exp().
const Rows kStudent = {{1.5, -0.3, 2.2, 0.0}, {-4.0, 3.1, 0.7, 8.5}, {0.25, 0.25, -1.0, 12.0}};
const Rows kTeacher = {{2.0, 0.1, -1.2, 0.4}, {0.0, 5.0, -2.5, 1.0}, {95.0, -30.0, 0.5, 91.0}};
const std::vector<int64_t> kLabels = {2, 1, 0};
const std::vector<std::pair<double, double>> kCases = {{1.0, 1.0}, {4.0, 1.0}, {1.0, 0.0},
                                                       {4.0, 0.7}, {2.5, 0.3}, {0.5, 0.9}};

at::Tensor to_tensor(const Rows& rows, at::ScalarType type = torch::kFloat64) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kFloat64)
      .view({int64_t(rows.size()), int64_t(rows[0].size())})
      .to(type);
}

Rows to_rows(const at::Tensor& t) {
  const at::Tensor d = t.to(torch::kFloat64).contiguous();
  Rows rows(size_t(d.size(0)));
  for (int64_t b = 0; b < d.size(0); ++b)
    for (int64_t c = 0; c < d.size(1); ++c) rows[size_t(b)].push_back(d[b][c].item<double>());
  return rows;
}

double logsumexp(const std::vector<double>& x) {
  const double m = *std::max_element(x.begin(), x.end());
  double sum = 0.0;
  for (double v : x) sum += std::exp(v - m);
  return m + std::log(sum);
}

std::vector<double> scaled(const std::vector<double>& row, double t) {
  std::vector<double> out;
  for (double v : row) out.push_back(v / t);
  return out;
}

// The k largest teacher logits per row (ties to the lower class), in descending order.
Index top_k(const Rows& teacher, size_t k) {
  Index out;
  for (const auto& row : teacher) {
    std::vector<int64_t> order(row.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return row[size_t(a)] > row[size_t(b)]; });
    out.emplace_back(order.begin(), order.begin() + long(k));
  }
  return out;
}

// The compressed teacher as sparse_kd_loss takes it.
struct Sparse {
  at::Tensor values, indices, lse;
};

Sparse make_sparse(const Rows& teacher, const Index& idx, double t,
                   at::ScalarType index_type = torch::kInt64) {
  Rows values;
  std::vector<double> lse;
  std::vector<int64_t> flat;
  for (size_t b = 0; b < teacher.size(); ++b) {
    values.emplace_back();
    for (int64_t c : idx[b]) values.back().push_back(teacher[b][size_t(c)]);
    flat.insert(flat.end(), idx[b].begin(), idx[b].end());
    lse.push_back(logsumexp(scaled(teacher[b], t)));
  }
  const int64_t k = int64_t(idx[0].size());
  return {to_tensor(values, torch::kFloat32),
          torch::tensor(flat, torch::kInt64).view({int64_t(idx.size()), k}).to(index_type),
          torch::tensor(lse, torch::kFloat64).to(torch::kFloat32)};
}

// Independent reference: teacher softmax in double, remainder = 1 - kept mass,
// student remainder = sum of the non-kept student probabilities.
double sparse_ref(const Rows& s, const Rows& te, const Index& idx, const std::vector<int64_t>& y,
                  double t, double alpha) {
  double kl = 0.0, ce = 0.0;
  for (size_t b = 0; b < s.size(); ++b) {
    const double ls = logsumexp(scaled(s[b], t)), lt = logsumexp(scaled(te[b], t));
    double kept_p = 0.0, rest_q = 0.0;
    std::vector<bool> kept(s[b].size(), false);
    for (int64_t c : idx[b]) {
      const double log_p = te[b][size_t(c)] / t - lt, log_q = s[b][size_t(c)] / t - ls;
      kl += std::exp(log_p) * (log_p - log_q);
      kept_p += std::exp(log_p);
      kept[size_t(c)] = true;
    }
    for (size_t c = 0; c < s[b].size(); ++c)
      if (!kept[c]) rest_q += std::exp(s[b][c] / t - ls);
    const double r = std::max(0.0, 1.0 - kept_p);
    if (r > 0.0 && rest_q > 0.0) kl += r * (std::log(r) - std::log(rest_q));
    ce -= s[b][size_t(y[b])] - logsumexp(s[b]);
  }
  const double batch = double(s.size());
  return alpha * t * t * kl / batch + (1.0 - alpha) * ce / batch;
}

double sparse_of(const Rows& s, const Sparse& sp, const std::vector<int64_t>& y, double t,
                 double alpha) {
  return sparse_kd_loss(to_tensor(s, torch::kFloat32), sp.values, sp.indices, sp.lse,
                        torch::tensor(y, torch::kInt64), t, alpha)
      .item<double>();
}

void expect_close(double actual, double expected, const std::string& what, double tol = 1e-5) {
  EXPECT_NEAR(actual, expected, tol * std::max(1.0, std::abs(expected))) << what;
}

std::string label(double t, double alpha, size_t k) {
  return "T=" + std::to_string(t) + " a=" + std::to_string(alpha) + " k=" + std::to_string(k);
}

// `grad` (autograd's, of the student) against central differences of
// sparse_ref, on every `stride`-th row.
void expect_reference_gradient(const at::Tensor& grad, const Rows& s, const Rows& te,
                               const Index& idx, const std::vector<int64_t>& y, double t,
                               double alpha, size_t stride, const std::string& what) {
  for (size_t b = 0; b < s.size(); b += stride) {
    for (size_t c = 0; c < s[b].size(); ++c) {
      Rows plus = s, minus = s;
      plus[b][c] += 1e-5;
      minus[b][c] -= 1e-5;
      const double fd =
          (sparse_ref(plus, te, idx, y, t, alpha) - sparse_ref(minus, te, idx, y, t, alpha)) / 2e-5;
      EXPECT_NEAR(grad[int64_t(b)][int64_t(c)].item<double>(), fd, 1e-4)
          << what << " row " << b << " class " << c;
    }
  }
}

// 16 x 10 logits with spread, a fixed torch seed.
std::pair<Rows, Rows> random_logits() {
  torch::manual_seed(1234);
  return {to_rows(torch::randn({16, 10}) * 3), to_rows(torch::randn({16, 10}) * 4)};
}

// Labels for random_logits().
const std::vector<int64_t> kRandomLabels = {0, 7, 4, 1, 8, 5, 2, 9, 6, 3, 0, 7, 4, 1, 8, 5};

TEST(SparseKdLoss, EqualsKdLossWhenEveryClassIsKept) {
  const auto [rs, rt] = random_logits();
  for (const auto& [t, alpha] : kCases) {
    for (const auto& [s, te, y] :
         {std::tie(kStudent, kTeacher, kLabels), std::tie(rs, rt, kRandomLabels)}) {
      const size_t c = s[0].size();
      Index idx = top_k(te, c);
      for (auto& row : idx) std::reverse(row.begin(), row.end());  // order must not matter
      const double full = kd_loss(to_tensor(s, torch::kFloat32), to_tensor(te, torch::kFloat32),
                                  torch::tensor(y, torch::kInt64), t, alpha)
                              .item<double>();
      expect_close(sparse_of(s, make_sparse(te, idx, t), y, t, alpha), full, label(t, alpha, c));
      expect_close(sparse_of(s, make_sparse(te, idx, t, torch::kInt32), y, t, alpha), full,
                   "int32 " + label(t, alpha, c));
    }
  }
}

TEST(SparseKdLoss, MatchesDoubleLoopReferenceBelowFullK) {
  const auto [rs, rt] = random_logits();
  for (const auto& [t, alpha] : kCases) {
    for (size_t k : {1, 2, 3}) {
      const Index idx = top_k(kTeacher, k);
      expect_close(sparse_of(kStudent, make_sparse(kTeacher, idx, t), kLabels, t, alpha),
                   sparse_ref(kStudent, kTeacher, idx, kLabels, t, alpha), label(t, alpha, k));
    }
    for (size_t k : {1, 3, 5, 9}) {
      const Index idx = top_k(rt, k);
      expect_close(sparse_of(rs, make_sparse(rt, idx, t), kRandomLabels, t, alpha),
                   sparse_ref(rs, rt, idx, kRandomLabels, t, alpha),
                   "random " + label(t, alpha, k));
    }
  }
  // Not trivially equal to the dense loss: dropping classes changes the value.
  EXPECT_GT(std::abs(sparse_ref(rs, rt, top_k(rt, 3), kRandomLabels, 4.0, 1.0) -
                     sparse_ref(rs, rt, top_k(rt, 10), kRandomLabels, 4.0, 1.0)),
            1e-3);
}

TEST(SparseKdLoss, GradientMatchesFiniteDifferencesOfTheReference) {
  const auto [rs, rt] = random_logits();
  for (const auto& [t, alpha] : {std::pair{1.0, 1.0}, std::pair{4.0, 0.7}}) {
    for (size_t k : {1, 4, 10}) {
      const Index idx = top_k(rt, k);
      const at::Tensor s = to_tensor(rs).requires_grad_(true);  // double student
      const Sparse sp = make_sparse(rt, idx, t);
      sparse_kd_loss(s, sp.values, sp.indices, sp.lse, torch::tensor(kRandomLabels), t, alpha)
          .backward();
      ASSERT_TRUE(s.grad().defined());
      expect_reference_gradient(s.grad(), rs, rt, idx, kRandomLabels, t, alpha, 5,
                                label(t, alpha, k));
    }
  }
}

TEST(SparseKdLoss, GradientIsFiniteAndTheTeacherGetsNone) {
  // Extreme rows: a teacher whose kept mass rounds to 1 (r == 0) and a student
  // whose non-kept mass underflows, at k = 1, k < C and k = C.
  const Rows student = {{60.0, -60.0, 0.0, 1.0}, {0.0, 0.0, 0.0, 0.0}, {-80.0, 90.0, 3.0, 2.0}};
  const Rows teacher = {{-50.0, 70.0, 1.0, 0.0}, {100.0, -100.0, 0.0, 0.0}, {4.0, 3.0, 2.0, 1.0}};
  for (size_t k : {1, 2, 4}) {
    for (double t : {1.0, 4.0}) {
      const Sparse sp = make_sparse(teacher, top_k(teacher, k), t);
      const at::Tensor s = to_tensor(student, torch::kFloat32).requires_grad_(true);
      const at::Tensor v = sp.values.clone().requires_grad_(true);
      const at::Tensor lse = sp.lse.clone().requires_grad_(true);
      const at::Tensor loss = sparse_kd_loss(s, v, sp.indices, lse, torch::tensor(kLabels), t, 0.5);
      EXPECT_TRUE(std::isfinite(loss.item<double>())) << "k=" << k << " T=" << t;
      loss.backward();
      ASSERT_TRUE(s.grad().defined());
      EXPECT_TRUE(torch::isfinite(s.grad()).all().item<bool>()) << "k=" << k << " T=" << t;
      EXPECT_FALSE(v.grad().defined());
      EXPECT_FALSE(lse.grad().defined());
    }
  }
}

TEST(SparseKdLoss, TailStaysExactInFloatWhenTheKeptMassIsNearlyOne) {
  // The student puts 1 - 3e-7 of its mass on the kept classes: 1 minus the kept
  // mass would be rounding noise in float, the sum of the tail is not. The
  // teacher keeps 90 % there, so the tail term carries the loss.
  const Rows student = {{18.0, 17.0, 0.0, 0.5, -1.0, 0.2}, {3.0, 16.0, 15.5, -2.0, 0.0, 1.0}};
  const Rows teacher = {{3.0, 2.5, 0.0, 0.4, -0.5, 0.1}, {0.0, 2.9, 2.6, -1.0, 0.3, 0.2}};
  const std::vector<int64_t> y = {0, 2};
  const Index idx = top_k(teacher, 2);
  for (const auto& [t, alpha] : {std::pair{1.0, 1.0}, std::pair{1.0, 0.5}, std::pair{2.0, 0.7}}) {
    const Sparse sp = make_sparse(teacher, idx, t);
    const at::Tensor s = to_tensor(student, torch::kFloat32).requires_grad_(true);
    const at::Tensor loss =
        sparse_kd_loss(s, sp.values, sp.indices, sp.lse, torch::tensor(y), t, alpha);
    expect_close(loss.item<double>(), sparse_ref(student, teacher, idx, y, t, alpha),
                 label(t, alpha, 2));
    loss.backward();
    expect_reference_gradient(s.grad(), student, teacher, idx, y, t, alpha, 1, label(t, alpha, 2));
  }
}

TEST(SparseKdLoss, TopOneKeepsOnlyTheArgmaxAndTheRemainder) {
  // k = 1: KL between the two-bucket distributions (p_top, 1 - p_top).
  const Index idx = top_k(kTeacher, 1);
  const double t = 2.0;
  const double got = sparse_of(kStudent, make_sparse(kTeacher, idx, t), kLabels, t, 1.0);
  double kl = 0.0;
  for (size_t b = 0; b < kStudent.size(); ++b) {
    const size_t c = size_t(idx[b][0]);
    const double p = std::exp(kTeacher[b][c] / t - logsumexp(scaled(kTeacher[b], t)));
    const double q = std::exp(kStudent[b][c] / t - logsumexp(scaled(kStudent[b], t)));
    kl += p * std::log(p / q) + (1 - p) * std::log((1 - p) / (1 - q));
  }
  expect_close(got, t * t * kl / double(kStudent.size()), "k=1");
}

TEST(SparseKdLoss, RejectsMismatchedShapes) {
  const Sparse sp = make_sparse(kTeacher, top_k(kTeacher, 2), 1.0);
  const at::Tensor s = to_tensor(kStudent, torch::kFloat32), y = torch::tensor(kLabels);
  EXPECT_THROW(sparse_kd_loss(s, sp.values, sp.indices.slice(1, 0, 1), sp.lse, y, 1, 1),
               UsageError);
  EXPECT_THROW(sparse_kd_loss(s, sp.values, sp.indices, sp.lse.slice(0, 0, 2), y, 1, 1),
               UsageError);
  EXPECT_THROW(sparse_kd_loss(s, sp.values, sp.indices.to(torch::kFloat32), sp.lse, y, 1, 1),
               UsageError);
  EXPECT_THROW(sparse_kd_loss(s.slice(1, 0, 1), sp.values, sp.indices, sp.lse, y, 1, 1),
               UsageError);
}

TEST(SparseKdLoss, MatchesPyTorchInPython) {
  testing_util::TempDir tmp("sparse_kd");
  const auto [rs, rt] = random_logits();
  nlohmann::json cases = nlohmann::json::array();
  std::vector<double> expected;
  for (const auto& [t, alpha] : kCases) {
    for (size_t k : {1, 3, 10}) {
      const Sparse sp = make_sparse(rt, top_k(rt, k), t);
      cases.push_back({{"T", t},
                       {"alpha", alpha},
                       {"values", to_rows(sp.values)},
                       {"indices", top_k(rt, k)},
                       {"logsumexp", to_rows(sp.lse.unsqueeze(1))}});
      expected.push_back(sparse_of(rs, sp, kRandomLabels, t, alpha));
    }
  }
  const nlohmann::json input = {{"student", rs}, {"labels", kRandomLabels}, {"cases", cases}};
  const nlohmann::json output =
      testing_util::run_python_reference("sparse_kd_reference.py", input, tmp.path);
  ASSERT_FALSE(output.is_null());
  const auto& losses = output.at("losses");
  ASSERT_EQ(losses.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    expect_close(expected[i], losses[i].get<double>(), "python case " + std::to_string(i));
  }
}

}  // namespace
}  // namespace condenser
