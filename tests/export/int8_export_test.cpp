// int8 export: the quantized student keeps the float student's predictions
// (within int8 rounding), survives save/load, and is smaller on disk.
#include "export/int8_export.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include "tests/common/temp_dir.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"
#include "trainers/pruning/structured.h"

namespace condenser {
namespace {

int64_t size_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

void expect_close_to_float(torch::jit::Module& fp, torch::jit::Module& q) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  const at::Tensor x = torch::rand({32, 1, 28, 28});
  fp.eval();
  const at::Tensor a = fp.forward({x}).toTensor(), b = q.forward({x}).toTensor();
  ASSERT_EQ(a.sizes(), b.sizes());
  // int8 weights per tensor: a few percent of the logits' scale at most.
  EXPECT_LT((a - b).abs().max().item<float>(), 0.05 * a.abs().max().item<float>() + 1e-3);
  EXPECT_GE(a.argmax(1).eq(b.argmax(1)).to(torch::kFloat).mean().item<float>(), 0.9);
}

TEST(Int8Export, QuantizesLinearLayersAndRoundTrips) {
  if (at::globalContext().supportedQEngines().size() <= 1) GTEST_SKIP() << "no quantized engine";
  const ModelSpec spec = zoo_spec("small_cnn");
  torch::jit::Module fp = build_model(spec, 3);
  Int8Model q = quantize_linear_dynamic(fp, spec);
  ASSERT_TRUE(q.available) << q.reason;
  EXPECT_EQ(q.quantized_layers, 2);
  expect_close_to_float(fp, q.module);

  testing_util::TempDir dir("int8");
  save_module(fp, dir.path + "/fp.pt");
  save_module(q.module, dir.path + "/q.pt");
  EXPECT_LT(size_of(dir.path + "/q.pt"), size_of(dir.path + "/fp.pt"));
  torch::jit::Module loaded = load_module(dir.path + "/q.pt", "int8 student");
  expect_close_to_float(fp, loaded);
}

TEST(Int8Export, WorksOnACompactedStudent) {
  if (at::globalContext().supportedQEngines().size() <= 1) GTEST_SKIP() << "no quantized engine";
  const ModelSpec spec = zoo_spec("small_cnn");
  torch::jit::Module dense = build_model(spec, 4);
  CompactModel small = compact(dense, spec, plan_structured(dense, spec, 0.5, "l1"));
  Int8Model q = quantize_linear_dynamic(small.module, small.spec);
  ASSERT_TRUE(q.available) << q.reason;
  expect_close_to_float(small.module, q.module);
}

TEST(Int8Export, SaysWhyWithoutLinearLayers) {
  ModelSpec spec = zoo_spec("small_cnn");
  spec.layers.resize(8);  // convolutions only, no linear layer
  spec.layers.push_back({LayerKind::kFlatten});
  torch::jit::Module fp = build_model(spec, 1);
  const Int8Model q = quantize_linear_dynamic(fp, spec);
  EXPECT_FALSE(q.available);
  EXPECT_NE(q.reason.find("no linear layer"), std::string::npos) << q.reason;
}

TEST(Int8Export, DeclaredResidualModelsQuantizeEveryLinear) {
  if (at::globalContext().supportedQEngines().size() <= 1) GTEST_SKIP() << "no quantized engine";
  ModelSpec spec;
  spec.name = "student";
  spec.input_shape = {1, 28, 28};
  spec.input_mean = {0.3};
  spec.input_std = {0.3};
  spec.layers = parse_model_layers(
      "[{conv: 8, stride: 2}, batch_norm, relu, {residual: [{conv: 8}, batch_norm, relu]},"
      " {max_pool: 2}, flatten, {linear: 32}, relu,"
      " {residual: [{linear: 16}, relu, {linear: 32}]}, {linear: 10}]",
      "student.layers");
  torch::jit::Module fp = build_model(spec, 5);
  Int8Model q = quantize_linear_dynamic(fp, spec);
  ASSERT_TRUE(q.available) << q.reason;
  EXPECT_EQ(q.quantized_layers, 4);  // l6, l8_0, l8_2, l9; the convolutions stay float
  expect_close_to_float(fp, q.module);
}

}  // namespace
}  // namespace condenser
