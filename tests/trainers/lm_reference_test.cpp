// Declared language models against a plain-PyTorch transformer written
// independently in tests/interop/lm_reference.py: the C++-saved TorchScript
// file's parameters, the same ids, logits equal to 1e-5 (rotary and learned
// positions, tied and untied heads, blocks of different head_dim).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "tests/common/python_reference.h"
#include "tests/common/temp_dir.h"
#include "tests/trainers/lm_test_models.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

using testing_util::lm_spec;

// The layer list as the reference reads it (prefixes by position).
nlohmann::json reference_layers(const ModelSpec& spec) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    out.push_back({{"kind", layer_kind_name(l.kind)},
                   {"prefix", layer_prefix("", i)},
                   {"head_dim", l.head_dim}});
  }
  return out;
}

void check_against_reference(const ModelSpec& spec, const std::string& positions) {
  testing_util::TempDir dir("lm_reference");
  torch::jit::Module model = build_model(spec, 21);
  testing_util::perturb(model, 22, 0.05);  // biases, LayerNorm and positions off their init
  model.eval();
  const std::string file = dir.path + "/student.pt";
  model.save(file);
  const at::Tensor ids = testing_util::random_ids(3, spec.input_shape[0], spec.vocab, 23);
  const at::Tensor ours = testing_util::logits(model, ids).to(torch::kFloat64);
  std::vector<std::vector<int64_t>> rows;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    const at::Tensor r = ids[b].contiguous();
    rows.emplace_back(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
  }
  const nlohmann::json out =
      testing_util::run_python_reference("lm_reference.py",
                                         {{"model", file},
                                          {"ids", rows},
                                          {"positions", positions},
                                          {"layers", reference_layers(spec)}},
                                         dir.path);
  ASSERT_FALSE(out.is_null());
  const auto ref = torch::tensor(out["reference"].get<std::vector<double>>(), torch::kFloat64)
                       .view(ours.sizes());
  const auto in_python =
      torch::tensor(out["module"].get<std::vector<double>>(), torch::kFloat64).view(ours.sizes());
  const double diff = (ours - ref).abs().max().item<double>();
  EXPECT_LT(diff, 1e-5) << positions;
  EXPECT_LT((in_python - ours).abs().max().item<double>(), 1e-6) << "the file loaded in Python";
  EXPECT_GT(ref.abs().max().item<double>(), 0.1) << "logits too small to test anything";
  std::cout << positions << ": max |C++ - reference| = " << diff << "\n";
}

TEST(LmReference, RotaryTiedHeadMatchesPlainPyTorch) {
  check_against_reference(
      lm_spec("[{embedding: 48, positions: rotary}, {block: 4, mlp: 96, repeat: 2}, "
              "{block: 2, mlp: 64, head_dim: 16}, layer_norm, lm_head]",
              64, 20),
      "rotary");
}

TEST(LmReference, LearnedPositionsUntiedHeadMatchesPlainPyTorch) {
  check_against_reference(
      lm_spec("[{embedding: 48, positions: learned}, {block: 3, mlp: 80, repeat: 2}, "
              "{block: 4, mlp: 32, head_dim: 10}, layer_norm, {linear: 64}]",
              64, 20),
      "learned");
}

}  // namespace
}  // namespace condenser
