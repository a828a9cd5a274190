// Side-by-side latency: the JSON shape, medians inside min..max, the thread
// count pinned while measuring and restored afterwards.
#include "export/latency.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "trainers/model_spec.h"

namespace condenser {
namespace {

TEST(Latency, TeacherAndStudentSideBySide) {
  torch::jit::Module teacher = build_model(zoo_spec("cnn"), 1);
  torch::jit::Module student = build_model(zoo_spec("mlp"), 2);
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  LatencyOptions o;
  o.batch_sizes = {1, 8};
  o.repeats = 3;
  o.warmup = 1;
  o.round_seconds = 0.002;
  const nlohmann::json j = compare_latency(teacher, student, o);
  EXPECT_EQ(at::get_num_threads(), 2);  // the caller's count is back
  at::set_num_threads(before);
  EXPECT_EQ(j["threads"], 1);
  for (const char* who : {"teacher", "student"}) {
    for (const char* b : {"batch_1", "batch_8"}) {
      const nlohmann::json& t = j[who]["latency_ms"][b];
      EXPECT_GT(t["min"].get<double>(), 0.0) << who << b;
      EXPECT_LE(t["min"].get<double>(), t["median"].get<double>());
      EXPECT_LE(t["median"].get<double>(), t["max"].get<double>());
      EXPECT_GT(j[who]["throughput_samples_per_s"][b].get<double>(), 0.0);
    }
  }
  const double ratio = j["teacher"]["latency_ms"]["batch_8"]["median"].get<double>() /
                       j["student"]["latency_ms"]["batch_8"]["median"].get<double>();
  EXPECT_NEAR(j["speedup"]["batch_8"].get<double>(), ratio, 1e-9 * ratio);
  // The conv teacher does far more work than a one-hidden-layer MLP.
  EXPECT_GT(j["speedup"]["batch_8"].get<double>(), 1.0);
}

// Models of another input shape (tabular rows of 5 features) are timed on
// the sample given, repeated to each batch size (the default 1x28x28 input
// would not even fit them).
TEST(Latency, TimesModelsOnTheirOwnInputShape) {
  torch::jit::Module teacher = build_model(zoo_spec("mlp", {5}, 3), 1);
  torch::jit::Module student = build_model(zoo_spec("mlp", {5}, 3), 2);
  LatencyOptions o;
  o.batch_sizes = {1, 4};
  o.repeats = 1;
  o.warmup = 0;
  o.round_seconds = 0.001;
  o.sample = torch::randn({1, 5});
  const nlohmann::json j = compare_latency(teacher, student, o);
  EXPECT_GT(j["student"]["latency_ms"]["batch_4"]["median"].get<double>(), 0.0);
  o.sample = at::Tensor();
  EXPECT_ANY_THROW(compare_latency(teacher, student, o));
}

}  // namespace
}  // namespace condenser
