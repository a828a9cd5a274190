// kd_loss against an independent double-precision reference written out by
// hand here, against its known gradient, and against PyTorch in Python
// (tests/interop/kd_reference.py run with CONDENSER_PYTHON).
#include "trainers/losses.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/common/python_reference.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using Rows = std::vector<std::vector<double>>;

// Hand-chosen logits: mixed signs, ties, and large values that overflow exp()
// in float32 unless the max is subtracted.
const Rows kStudent = {{1.5, -0.3, 2.2, 0.0}, {-4.0, 3.1, 0.7, 8.5}, {0.25, 0.25, -1.0, 12.0}};
const Rows kTeacher = {{2.0, 0.1, -1.2, 0.4}, {0.0, 5.0, -2.5, 1.0}, {95.0, -30.0, 0.5, 91.0}};
const std::vector<int64_t> kLabels = {2, 1, 0};
const std::vector<std::pair<double, double>> kCases = {
    {1.0, 1.0}, {4.0, 1.0}, {1.0, 0.0}, {4.0, 0.0}, {1.0, 0.5}, {4.0, 0.7}, {2.5, 0.3}};

at::Tensor to_tensor(const Rows& rows) {
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kFloat32)
      .view({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
}

at::Tensor labels_tensor() { return torch::tensor(kLabels, torch::kInt64); }

// log softmax(row / T) with the max subtracted, in double.
std::vector<double> log_softmax_ref(const std::vector<double>& row, double t) {
  double m = -INFINITY;
  for (double v : row) m = std::max(m, v / t);
  double sum = 0.0;
  for (double v : row) sum += std::exp(v / t - m);
  std::vector<double> out;
  for (double v : row) out.push_back(v / t - m - std::log(sum));
  return out;
}

double kd_ref(const Rows& s, const Rows& te, const std::vector<int64_t>& y, double t,
              double alpha) {
  double kl = 0.0, ce = 0.0;
  for (size_t b = 0; b < s.size(); ++b) {
    const auto log_q = log_softmax_ref(s[b], t), log_p = log_softmax_ref(te[b], t);
    for (size_t c = 0; c < log_p.size(); ++c) kl += std::exp(log_p[c]) * (log_p[c] - log_q[c]);
    ce -= log_softmax_ref(s[b], 1.0)[static_cast<size_t>(y[b])];
  }
  const double batch = double(s.size());
  return alpha * t * t * kl / batch + (1.0 - alpha) * ce / batch;
}

double loss_of(double t, double alpha) {
  return kd_loss(to_tensor(kStudent), to_tensor(kTeacher), labels_tensor(), t, alpha)
      .item<double>();
}

void expect_close(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, 1e-5 * std::max(1.0, std::abs(expected))) << what;
}

TEST(KdLoss, MatchesHandWrittenDoubleReference) {
  for (const auto& [t, alpha] : kCases) {
    const double expected = kd_ref(kStudent, kTeacher, kLabels, t, alpha);
    expect_close(loss_of(t, alpha), expected,
                 "T=" + std::to_string(t) + " alpha=" + std::to_string(alpha));
  }
}

TEST(KdLoss, PureCrossEntropyAtAlphaZeroIgnoresTheTeacher) {
  const double ce = kd_ref(kStudent, kTeacher, kLabels, 1.0, 0.0);
  for (double t : {1.0, 4.0}) {
    const at::Tensor other_teacher = torch::randn({3, 4}) * 10;
    expect_close(
        kd_loss(to_tensor(kStudent), other_teacher, labels_tensor(), t, 0.0).item<double>(), ce,
        "alpha=0 T=" + std::to_string(t));
  }
  EXPECT_GT(ce, 0.1);  // the reference itself is not trivially zero
}

TEST(KdLoss, TemperatureChangesTheSoftTerm) {
  // Guards against a reference and an implementation that both ignore T.
  EXPECT_GT(std::abs(loss_of(1.0, 1.0) - loss_of(4.0, 1.0)), 1e-3);
}

TEST(KdLoss, ZeroWhenStudentEqualsTeacherAtAlphaOne) {
  for (double t : {1.0, 4.0}) {
    const at::Tensor logits = to_tensor(kTeacher);
    EXPECT_NEAR(kd_loss(logits, logits.clone(), labels_tensor(), t, 1.0).item<double>(), 0.0, 1e-6);
  }
}

TEST(KdLoss, GradientAtAlphaOneIsTemperatureTimesSoftmaxDifferenceOverBatch) {
  const double batch = double(kStudent.size());
  for (double t : {1.0, 4.0}) {
    const at::Tensor s = to_tensor(kStudent).requires_grad_(true);
    kd_loss(s, to_tensor(kTeacher), labels_tensor(), t, 1.0).backward();
    ASSERT_TRUE(s.grad().defined());
    const auto grad = s.grad().accessor<float, 2>();
    for (size_t b = 0; b < kStudent.size(); ++b) {
      const auto log_q = log_softmax_ref(kStudent[b], t), log_p = log_softmax_ref(kTeacher[b], t);
      for (size_t c = 0; c < log_q.size(); ++c) {
        const double expected = t * (std::exp(log_q[c]) - std::exp(log_p[c])) / batch;
        EXPECT_NEAR(grad[int64_t(b)][int64_t(c)], expected, 1e-5)
            << "T=" << t << " row " << b << " class " << c;
      }
    }
  }
}

TEST(KdLoss, TeacherGetsNoGradient) {
  const at::Tensor s = to_tensor(kStudent).requires_grad_(true);
  const at::Tensor te = to_tensor(kTeacher).requires_grad_(true);
  kd_loss(s, te, labels_tensor(), 4.0, 0.5).backward();
  EXPECT_TRUE(s.grad().defined());
  EXPECT_FALSE(te.grad().defined());
}

// A fresh directory, removed with everything in it when the test ends.
using testing_util::TempDir;

TEST(KdLoss, MatchesPyTorchInPython) {
  TempDir tmp;
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& [t, alpha] : kCases) cases.push_back({t, alpha});
  const nlohmann::json input = {
      {"student", kStudent}, {"teacher", kTeacher}, {"labels", kLabels}, {"cases", cases}};
  const nlohmann::json output = testing_util::run_python_reference("kd_reference.py", input, tmp.path);
  ASSERT_FALSE(output.is_null());
  const auto& losses = output.at("losses");
  ASSERT_EQ(losses.size(), kCases.size());
  for (size_t i = 0; i < kCases.size(); ++i) {
    const auto [t, alpha] = kCases[i];
    expect_close(loss_of(t, alpha), losses[i].get<double>(),
                 "python T=" + std::to_string(t) + " alpha=" + std::to_string(alpha));
  }
}

}  // namespace
}  // namespace condenser
