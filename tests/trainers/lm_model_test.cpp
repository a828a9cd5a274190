// Declared language models: shapes, parameter counts, refusals naming the
// item, causality, initialisation, and modules rebuilt with fewer heads, MLP
// neurons or a narrower width running the same generated source.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "core/errors.h"
#include "tests/common/module_util.h"
#include "tests/trainers/lm_test_models.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

using testing_util::count_parameters;
using testing_util::lm_spec;
using testing_util::logits;
using testing_util::random_ids;

// V 40, T 12, D 24, two blocks of 4 heads x 8 (H*d = 32 != D), MLP 48.
ModelSpec small_lm(const std::string& positions) {
  return lm_spec("[{embedding: 24, positions: " + positions +
                     "}, {block: 4, mlp: 48, head_dim: 8, repeat: 2}, layer_norm, lm_head]",
                 40, 12);
}

std::string spec_error(const ModelSpec& spec, int64_t classes) {
  try {
    check_spec(spec, classes, "student.layers");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not in: " << text;
}

TEST(LmModel, ShapesAndParameterCounts) {
  const int64_t d = 24, hd = 32, m = 48, v = 40, t = 12;
  const int64_t block =
      2 * d + (3 * hd * d + 3 * hd) + (d * hd + d) + 2 * d + (m * d + m) + (d * m + d);
  for (const std::string positions : {"rotary", "learned"}) {
    const ModelSpec spec = small_lm(positions);
    EXPECT_NO_THROW(check_spec(spec, v, "student.layers"));
    torch::jit::Module model = build_model(spec, 1);
    EXPECT_EQ(logits(model, random_ids(3, t, v, 1)).sizes(), (std::vector<int64_t>{3, t, v}));
    EXPECT_EQ(logits(model, random_ids(2, 5, v, 2)).sizes(), (std::vector<int64_t>{2, 5, v}));
    const int64_t expected = v * d + (positions == "learned" ? t * d : 0) + 2 * block + 2 * d;
    EXPECT_EQ(parameter_count(spec), expected) << positions;
    EXPECT_EQ(count_parameters(model), expected) << positions;
    EXPECT_TRUE(model.hasattr("l2_fc2_w") && model.hasattr("l3_w"));
  }
  // An untied head counts its own weight and bias.
  const ModelSpec untied = lm_spec(
      "[{embedding: 24, positions: rotary}, {block: 3, mlp: 16}, layer_norm, {linear: 40}]", 40, t);
  EXPECT_NO_THROW(check_spec(untied, v, "student.layers"));
  torch::jit::Module model = build_model(untied, 2);
  EXPECT_EQ(parameter_count(untied), count_parameters(model));
  EXPECT_EQ(logits(model, random_ids(2, t, v, 3)).sizes(), (std::vector<int64_t>{2, t, v}));
}

TEST(LmModel, BadLayerListsNameTheItem) {
  auto spec = [](const std::string& yaml) { return lm_spec(yaml, 40, 12); };
  const std::string emb = "{embedding: 24, positions: rotary}, ";
  EXPECT_TRUE(Contains(spec_error(spec("[" + emb + "{block: 4, mlp: 8}, layer_norm]"), 40),
                       "student.layers[2]: the last layer of a language model must be lm_head"));
  EXPECT_TRUE(Contains(spec_error(spec("[" + emb + "{linear: 7}]"), 40),
                       "student.layers[1]: the last linear has 7 outputs but the vocabulary has "
                       "40 tokens"));
  EXPECT_TRUE(Contains(spec_error(spec("[" + emb +
                                       "{block: 3, mlp: 8, head_dim: 3, repeat: 2}, "
                                       "lm_head]"),
                                  40),
                       "student.layers[1]: rotary positions need an even head_dim, got 3"));
  EXPECT_TRUE(Contains(spec_error(spec("[" + emb + "batch_norm, lm_head]"), 40),
                       "student.layers[1]: batch_norm does not take a sequence of 12 positions x "
                       "24 features"));
  EXPECT_TRUE(Contains(spec_error(spec("[" + emb + "{linear: 16}, lm_head]"), 40),
                       "student.layers[2]: lm_head is tied to the embedding of width 24 but gets "
                       "width 16"));
  EXPECT_TRUE(Contains(spec_error(spec("[relu, {embedding: 8, positions: rotary}, lm_head]"), 40),
                       "student.layers[1]: embedding must be the first layer"));
  EXPECT_TRUE(Contains(spec_error(small_lm("rotary"), 50),
                       "the model's vocabulary is 40 tokens but the data has 50 classes"));
  ModelSpec image = small_lm("rotary");
  image.input_shape = {1, 28, 28};
  EXPECT_TRUE(Contains(spec_error(image, 40), "a language model takes token ids [T]"));
  ModelSpec cnn;
  cnn.input_shape = {3, 8, 8};
  cnn.layers = parse_model_layers("[global_avg_pool, {block: 1, mlp: 4, head_dim: 2}, {linear: 3}]",
                                  "student.layers");
  EXPECT_TRUE(Contains(spec_error(cnn, 3),
                       "student.layers[1]: block needs a token sequence [T, D] but gets a flat "
                       "input of 3 features"));
}

TEST(LmModel, ChangingTokenTChangesNoLogitBeforeT) {
  for (const std::string positions : {"rotary", "learned"}) {
    torch::jit::Module model = build_model(small_lm(positions), 3);
    testing_util::perturb(model, 4, 0.05);
    const at::Tensor ids = random_ids(2, 12, 40, 5);
    const at::Tensor before = logits(model, ids);
    for (int64_t t : {0, 5, 11}) {
      at::Tensor changed = ids.clone();
      changed.select(1, t).add_(7).remainder_(40);
      const at::Tensor after = logits(model, changed);
      using torch::indexing::Slice;
      EXPECT_TRUE(torch::allclose(after.index({Slice(), Slice(0, t)}),
                                  before.index({Slice(), Slice(0, t)}), 0, 1e-6))
          << positions << " t " << t;
      EXPECT_GT((after.select(1, t) - before.select(1, t)).abs().max().item<double>(), 1e-4)
          << positions << " t " << t;
    }
  }
}

TEST(LmModel, InitialisationFollowsTheSeedAndTheDocumentedScales) {
  const ModelSpec spec = lm_spec(
      "[{embedding: 64, positions: learned}, {block: 4, mlp: 256, repeat: 8}, layer_norm, lm_head]",
      500, 32);
  torch::jit::Module a = build_model(spec, 7), b = build_model(spec, 7), c = build_model(spec, 8);
  EXPECT_TRUE(torch::equal(a.attr("l3_qkv_w").toTensor(), b.attr("l3_qkv_w").toTensor()));
  EXPECT_FALSE(torch::equal(a.attr("l3_qkv_w").toTensor(), c.attr("l3_qkv_w").toTensor()));
  auto std_of = [&](const std::string& name) {
    return a.attr(name).toTensor().std().item<double>();
  };
  EXPECT_NEAR(std_of("l0_w"), 0.02, 0.001);
  EXPECT_NEAR(std_of("l0_pos"), 0.02, 0.002);
  EXPECT_NEAR(std_of("l1_qkv_w"), 0.02, 0.001);
  EXPECT_NEAR(std_of("l1_fc1_w"), 0.02, 0.001);
  EXPECT_NEAR(std_of("l1_o_w"), 0.02 / 4, 0.0005) << "0.02 / sqrt(2 * 8 blocks)";
  EXPECT_NEAR(std_of("l8_fc2_w"), 0.02 / 4, 0.0005);
  for (const char* zero : {"l1_qkv_b", "l1_o_b", "l1_fc1_b", "l1_fc2_b", "l1_ln1_b", "l9_b"}) {
    EXPECT_EQ(a.attr(zero).toTensor().abs().sum().item<double>(), 0) << zero;
  }
  for (const char* one : {"l1_ln1_w", "l1_ln2_w", "l9_w"}) {
    EXPECT_TRUE(torch::equal(a.attr(one).toTensor(), torch::ones({64}))) << one;
  }
}

TEST(LmModel, TrainsEveryParameterWithFiniteGradients) {
  for (const std::string positions : {"rotary", "learned"}) {
    torch::jit::Module model = build_model(small_lm(positions), 14);
    model.train();
    const at::Tensor ids = random_ids(4, 12, 40, 15);
    std::vector<at::Tensor> params;
    for (const auto& p : model.parameters()) params.push_back(p);
    torch::optim::Adam adam(params, torch::optim::AdamOptions(1e-2));
    auto loss_of = [&] {
      const at::Tensor y = model.forward({ids}).toTensor();
      using torch::indexing::Slice;  // next-token prediction
      return torch::cross_entropy_loss(y.index({Slice(), Slice(0, 11)}).reshape({-1, 40}),
                                       ids.index({Slice(), Slice(1, 12)}).reshape({-1}));
    };
    const double first = loss_of().item<double>();
    for (int step = 0; step < 20; ++step) {
      adam.zero_grad();
      loss_of().backward();
      if (step == 0) {
        for (const auto& p : model.named_parameters()) {
          ASSERT_TRUE(p.value.grad().defined()) << p.name;
          EXPECT_TRUE(torch::isfinite(p.value.grad()).all().item<bool>()) << p.name;
          EXPECT_GT(p.value.grad().abs().sum().item<double>(), 0) << p.name;
        }
      }
      adam.step();
    }
    EXPECT_LT(loss_of().item<double>(), first * 0.8) << positions;
  }
}

TEST(LmModel, LearnedPositionsRefuseSequencesLongerThanTheTable) {
  torch::jit::Module model = build_model(small_lm("learned"), 1);
  EXPECT_ANY_THROW(logits(model, random_ids(1, 13, 40, 1)));
}

// The parameters of `m` with `slice(name, tensor)` applied, under the source of `spec`.
template <typename Slice>
torch::jit::Module rebuilt(const torch::jit::Module& m, const ModelSpec& spec, Slice slice) {
  torch::NoGradGuard no_grad;
  torch::jit::Module out("student");
  out.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& p : m.named_parameters()) {
    out.register_parameter(p.name, slice(p.name, p.value.detach()).contiguous().clone(), false);
  }
  add_norm_width(out, out.attr("l0_w").toTensor().size(1));  // the width the slices left
  out.define(model_source(spec));
  return out;
}

at::Tensor keep(int64_t n, const std::set<int64_t>& drop) {
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < n; ++i) {
    if (!drop.count(i)) kept.push_back(i);
  }
  return torch::tensor(kept, torch::kInt64);
}

TEST(LmModel, FewerHeadsAndNeuronsRunTheSameSourceAsZeroedOnes) {
  for (const std::string positions : {"rotary", "learned"}) {
    const ModelSpec spec = small_lm(positions);
    torch::jit::Module full = build_model(spec, 9);
    testing_util::perturb(full, 10, 0.05);
    ModelSpec small = spec;
    small.layers[1].heads = 3;  // head 2 of block l1 removed
    small.layers[2].mlp = 32;   // 16 neurons of block l2 removed
    ASSERT_EQ(model_source(small), model_source(spec));
    std::vector<int64_t> qkv_rows;
    for (int64_t part = 0; part < 3; ++part) {
      for (int64_t h : {0, 1, 3}) {
        for (int64_t j = 0; j < 8; ++j) qkv_rows.push_back(part * 32 + h * 8 + j);
      }
    }
    const at::Tensor rows = torch::tensor(qkv_rows, torch::kInt64);
    const at::Tensor o_cols = keep(32, {16, 17, 18, 19, 20, 21, 22, 23});
    std::set<int64_t> dropped;
    for (int64_t j = 0; j < 48; j += 3) dropped.insert(j);
    const at::Tensor neurons = keep(48, dropped);
    torch::jit::Module compact = rebuilt(full, small, [&](const std::string& n, at::Tensor t) {
      if (n == "l1_qkv_w" || n == "l1_qkv_b") return t.index_select(0, rows);
      if (n == "l1_o_w") return t.index_select(1, o_cols);
      if (n == "l2_fc1_w" || n == "l2_fc1_b") return t.index_select(0, neurons);
      if (n == "l2_fc2_w") return t.index_select(1, neurons);
      return t;
    });
    EXPECT_EQ(count_parameters(compact), parameter_count(small));
    // Removing a head = zeroing its o columns; removing a neuron = zeroing its fc2 column.
    {
      torch::NoGradGuard no_grad;
      full.attr("l1_o_w").toTensor().narrow(1, 16, 8).zero_();
      for (int64_t j : dropped) full.attr("l2_fc2_w").toTensor().select(1, j).zero_();
    }
    const at::Tensor ids = random_ids(2, 12, 40, 11);
    EXPECT_TRUE(torch::allclose(logits(compact, ids), logits(full, ids), 1e-5, 1e-5)) << positions;
  }
}

TEST(LmModel, ANarrowerWidthRunsTheSameSource) {
  const ModelSpec spec = small_lm("learned");
  torch::jit::Module full = build_model(spec, 12);
  ModelSpec narrow = spec;
  narrow.layers[0].out = 16;
  ASSERT_EQ(model_source(narrow), model_source(spec));
  // D = 24 is the only size 24 here (V 40, T 12, H*d 32, M 48, 3*H*d 96).
  torch::jit::Module small = rebuilt(full, narrow, [](const std::string&, at::Tensor t) {
    for (int64_t dim = 0; dim < t.dim(); ++dim) {
      if (t.size(dim) == 24) t = t.narrow(dim, 0, 16);
    }
    return t;
  });
  EXPECT_EQ(count_parameters(small), parameter_count(narrow));
  EXPECT_EQ(logits(small, random_ids(2, 12, 40, 13)).sizes(), (std::vector<int64_t>{2, 12, 40}));
}

}  // namespace
}  // namespace condenser
