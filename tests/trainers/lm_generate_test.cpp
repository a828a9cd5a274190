// generate_tokens: greedy decoding equals the argmax of a step-by-step
// forward over the sliding context, sampling repeats for a seed, refusals.
#include "trainers/lm_generate.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "tests/trainers/lm_test_models.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

using testing_util::lm_spec;

torch::jit::Module tiny_lm(const std::string& positions = "rotary") {
  torch::jit::Module m =
      build_model(lm_spec("[{embedding: 16, positions: " + positions +
                              "}, {block: 2, mlp: 32, repeat: 2}, layer_norm, lm_head]",
                          30, 8),
                  5);
  testing_util::perturb(m, 6, 0.3);  // sharper distributions than the 0.02 init
  return m;
}

TEST(LmGenerate, GreedyIsDeterministicAndFollowsTheArgmaxOfEachStep) {
  for (const std::string positions : {"rotary", "learned"}) {
    torch::jit::Module m = tiny_lm(positions);
    m.train();
    const std::vector<int64_t> prompt = {3, 14, 15};
    const auto a = generate_tokens(m, prompt, 12, {}, 8);
    EXPECT_TRUE(m.is_training()) << "the training flag is put back";
    EXPECT_EQ(a, generate_tokens(m, prompt, 12, {}, 8));
    ASSERT_EQ(a.size(), 12u);
    // Step by step: the last <= 8 ids, the argmax of the last position.
    std::vector<int64_t> ids = prompt;
    for (size_t step = 0; step < a.size(); ++step) {
      const size_t n = std::min<size_t>(ids.size(), 8);
      const std::vector<int64_t> window(ids.end() - int64_t(n), ids.end());
      const at::Tensor x = torch::tensor(window, torch::kInt64).view({1, int64_t(n)});
      const int64_t next = testing_util::logits(m, x)[0][int64_t(n) - 1].argmax().item<int64_t>();
      EXPECT_EQ(a[step], next) << positions << " step " << step;
      ids.push_back(next);
    }
  }
}

TEST(LmGenerate, SamplingRepeatsForASeedAndTopOneIsGreedy) {
  torch::jit::Module m = tiny_lm();
  GenerateOptions o;
  o.greedy = false;
  o.top_k = 10;
  o.temperature = 1.5;
  o.seed = 42;
  const std::vector<int64_t> prompt = {1, 2};
  const auto a = generate_tokens(m, prompt, 20, o, 8);
  EXPECT_EQ(a, generate_tokens(m, prompt, 20, o, 8));
  o.seed = 43;
  EXPECT_NE(a, generate_tokens(m, prompt, 20, o, 8));
  o.top_k = 1;
  EXPECT_EQ(generate_tokens(m, prompt, 20, o, 8), generate_tokens(m, prompt, 20, {}, 8));
  o.top_k = 0;  // the whole vocabulary
  for (int64_t id : generate_tokens(m, prompt, 20, o, 8)) EXPECT_TRUE(id >= 0 && id < 30);
  EXPECT_TRUE(generate_tokens(m, prompt, 0, o, 8).empty());
}

TEST(LmGenerate, RefusesBadArguments) {
  torch::jit::Module m = tiny_lm();
  GenerateOptions sample;
  sample.greedy = false;
  sample.temperature = 0;
  EXPECT_THROW(generate_tokens(m, {}, 3, {}, 8), UsageError);
  EXPECT_THROW(generate_tokens(m, {1, 30}, 3, {}, 8), UsageError);
  EXPECT_THROW(generate_tokens(m, {-1}, 3, {}, 8), UsageError);
  EXPECT_THROW(generate_tokens(m, {1}, -1, {}, 8), UsageError);
  EXPECT_THROW(generate_tokens(m, {1}, 3, {}, 0), UsageError);
  EXPECT_THROW(generate_tokens(m, {1}, 3, sample, 8), UsageError);
  try {
    generate_tokens(m, {1, 30}, 3, {}, 8);
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("prompt token 1 is 30, outside the vocabulary [0, 30)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace condenser
