// FLOPs per token of declared language models (model_flops.h), counted by
// hand here; and the forward time of the teacher/student sizes the docs quote
// (DISABLED_: run with --gtest_also_run_disabled_tests).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "tests/common/module_util.h"
#include "tests/trainers/lm_test_models.h"
#include "trainers/model_flops.h"

namespace condenser {
namespace {

using testing_util::lm_spec;

TEST(LmFlops, PerTokenMatmulsPlusCausalAttention) {
  const int64_t d = 24, hd = 32, m = 48, v = 40, t = 12;
  const ModelSpec spec = lm_spec(
      "[{embedding: 24, positions: rotary}, {block: 4, mlp: 48, head_dim: 8, repeat: 2}, "
      "layer_norm, lm_head]",
      v, t);
  torch::jit::Module model = build_model(spec, 1);
  ModelFlops f = model_flops(spec, model);
  EXPECT_TRUE(f.per_token);
  const int64_t matmuls = 2 * (3 * hd * d + d * hd + m * d + d * m);
  const int64_t attention = 2 * 2 * 4 * 8 * (t + 1) / 2;  // 2*2*t*H*d averaged over t = 1..T
  EXPECT_EQ(f.dense, 2 * (matmuls + attention) + 2 * v * d);
  EXPECT_EQ(f.effective, f.dense);
  ASSERT_EQ(f.layers.size(), 11u);
  EXPECT_EQ(f.layers[0].name, "l1_qkv_w");
  EXPECT_EQ(f.layers[4].name, "l1_attn");
  EXPECT_EQ(f.layers[4].dense, attention);
  EXPECT_EQ(f.layers[10].name, "lm_head(l0_w)");
  {
    torch::NoGradGuard no_grad;
    model.attr("l2_fc1_w").toTensor().zero_();
  }
  EXPECT_EQ(model_flops(spec, model).effective, f.dense - 2 * m * d);
  // Image models keep their per-sample count.
  ModelSpec mlp = zoo_spec("mlp");
  EXPECT_FALSE(model_flops(mlp, build_model(mlp, 1)).per_token);
}

double median_seconds(torch::jit::Module& m, const at::Tensor& ids, int rounds) {
  std::vector<double> s;
  for (int r = 0; r < rounds + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    testing_util::logits(m, ids);
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    if (r > 0) s.push_back(dt.count());  // the first round warms up
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

TEST(LmFlops, DISABLED_TeacherAndStudentForwardTimePerToken) {
  const int64_t v = 4096, t = 128;
  const std::vector<std::pair<std::string, std::string>> models = {
      {"teacher",
       "[{embedding: 256, positions: rotary}, {block: 4, mlp: 1024, repeat: 6}, "
       "layer_norm, lm_head]"},
      {"student",
       "[{embedding: 128, positions: rotary}, {block: 4, mlp: 384, repeat: 4}, "
       "layer_norm, lm_head]"}};
  std::cout << "threads " << at::get_num_threads() << "\n";
  for (const auto& [name, yaml] : models) {
    const ModelSpec spec = lm_spec(yaml, v, t);
    torch::jit::Module m = build_model(spec, 1);
    m.eval();
    const ModelFlops f = model_flops(spec, m);
    std::cout << name << ": " << parameter_count(spec) << " parameters, " << f.dense
              << " FLOPs/token";
    for (int64_t b : {1, 64}) {
      const double sec = median_seconds(m, testing_util::random_ids(b, t, v, 2), b == 1 ? 9 : 3);
      std::cout << ", B=" << b << ": " << sec * 1e6 / double(b * t) << " us/token ("
                << double(f.dense) * double(b * t) / sec / 1e9 << " GFLOP/s)";
    }
    std::cout << "\n";
  }
}

}  // namespace
}  // namespace condenser
