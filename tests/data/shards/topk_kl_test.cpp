// topk_reconstruction_kl against a full-softmax PyTorch reference
// (tests/interop/topk_kl_reference.py) on a small random case, for every
// value format, plus the limits it must meet (k = V gives ~0, smaller k more).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <numeric>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/shards/shard_writer.h"
#include "data/shards/topk_codec.h"
#include "data/shards/topk_kl.h"
#include "tests/common/python_reference.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

constexpr int64_t kRows = 7;
constexpr int kVocab = 50;

std::vector<float> random_logits() {
  torch::manual_seed(99);
  const at::Tensor x = (torch::randn({kRows, kVocab}) * 3).contiguous();
  return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
}

std::vector<std::vector<double>> rows_of(const std::vector<float>& v, int width) {
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < v.size(); i += size_t(width)) out.emplace_back(v.begin() + i, v.begin() + i + width);
  return out;
}

TEST(TopKKl, MatchesFullSoftmaxInPyTorch) {
  testing_util::TempDir tmp("topk_kl");
  const std::vector<float> logits = random_logits();
  const double t = 1.7;
  for (int k : {1, 5, 20}) {
    for (TopKValueFormat f : {TopKValueFormat::kFloat16, TopKValueFormat::kInt8}) {
      const TopK top = topk_from_logits(logits, kRows, kVocab, k, t);
      const std::vector<float> values = round_trip_values(top.values, k, f, t);
      const std::vector<double> kl =
          topk_reconstruction_kl(logits, kRows, kVocab, k, values, top.indices, top.logsumexp, t);
      std::vector<std::vector<int64_t>> idx;
      for (int64_t r = 0; r < kRows; ++r)
        idx.emplace_back(top.indices.begin() + r * k, top.indices.begin() + (r + 1) * k);
      const nlohmann::json input = {{"logits", rows_of(logits, kVocab)}, {"T", t},
                                    {"values", rows_of(values, k)}, {"indices", idx},
                                    {"logsumexp", top.logsumexp}};
      const nlohmann::json out = testing_util::run_python_reference("topk_kl_reference.py", input, tmp.path);
      ASSERT_FALSE(out.is_null());
      ASSERT_EQ(out["kl"].size(), size_t(kRows));
      for (int64_t r = 0; r < kRows; ++r) {
        const double want = out["kl"][size_t(r)].get<double>();
        EXPECT_NEAR(kl[size_t(r)], want, 1e-9 + 1e-6 * std::abs(want))
            << "k=" << k << " " << value_format_name(f) << " row " << r;
        EXPECT_GT(kl[size_t(r)], -1e-9);
      }
    }
  }
}

TEST(TopKKl, ShrinksWithKAndVanishesAtFullK) {
  const std::vector<float> logits = random_logits();
  double previous = 1e9;
  for (int k : {1, 4, 16, 49}) {
    const TopK top = topk_from_logits(logits, kRows, kVocab, k, 1.0);
    const std::vector<double> kl =
        topk_reconstruction_kl(logits, kRows, kVocab, k, top.values, top.indices, top.logsumexp, 1.0);
    const double mean = std::accumulate(kl.begin(), kl.end(), 0.0) / kRows;
    EXPECT_LT(mean, previous) << "k=" << k;
    previous = mean;
  }
  const TopK all = topk_from_logits(logits, kRows, kVocab, kVocab, 1.0);
  for (double v : topk_reconstruction_kl(logits, kRows, kVocab, kVocab, all.values, all.indices,
                                         all.logsumexp, 1.0)) {
    EXPECT_NEAR(v, 0.0, 1e-6);
  }
}

}  // namespace
}  // namespace condenser
