// Declared models: the YAML layer list parses into LayerSpecs, and every
// mistake is a UsageError naming the item it is in.
#include "config/model_decl.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/errors.h"

namespace condenser {
namespace {

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not in: " << text;
}

std::string parse_error(const std::string& text) {
  try {
    parse_model_layers(text, "student.layers");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelDecl, ParsesTheDocumentedExample) {
  const std::string text = R"(
- {conv: 32, kernel: 5, padding: 0, stride: 2}
- batch_norm
- relu
- {max_pool: 2}
- {residual: [{conv: 32}, batch_norm, gelu, {conv: 32}, batch_norm]}
- {avg_pool: 3}
- tanh
- global_avg_pool
- flatten
- {linear: 128}
- {dropout: 0.3}
- {linear: 10}
)";
  const std::vector<LayerSpec> layers = parse_model_layers(text, "student.layers");
  ASSERT_EQ(layers.size(), 12u);
  EXPECT_EQ(layers[0].kind, LayerKind::kConv);
  EXPECT_EQ(layers[0].out, 32);
  EXPECT_EQ(layers[0].kernel, 5);
  EXPECT_EQ(layers[0].padding, 0);
  EXPECT_EQ(layers[0].stride, 2);
  EXPECT_EQ(layers[1].kind, LayerKind::kBatchNorm);
  EXPECT_EQ(layers[2].kind, LayerKind::kReLU);
  EXPECT_EQ(layers[3].kind, LayerKind::kMaxPool);
  EXPECT_EQ(layers[3].kernel, 2);
  ASSERT_EQ(layers[4].kind, LayerKind::kResidual);
  ASSERT_EQ(layers[4].body.size(), 5u);
  EXPECT_EQ(layers[4].body[0].out, 32);
  EXPECT_EQ(layers[4].body[0].kernel, 3);  // defaults: kernel 3, padding 1, stride 1
  EXPECT_EQ(layers[4].body[0].padding, 1);
  EXPECT_EQ(layers[4].body[0].stride, 1);
  EXPECT_EQ(layers[4].body[2].kind, LayerKind::kGELU);
  EXPECT_EQ(layers[5].kind, LayerKind::kAvgPool);
  EXPECT_EQ(layers[5].kernel, 3);
  EXPECT_EQ(layers[6].kind, LayerKind::kTanh);
  EXPECT_EQ(layers[7].kind, LayerKind::kGlobalAvgPool);
  EXPECT_EQ(layers[8].kind, LayerKind::kFlatten);
  EXPECT_EQ(layers[9].kind, LayerKind::kLinear);
  EXPECT_EQ(layers[9].out, 128);
  EXPECT_EQ(layers[10].kind, LayerKind::kDropout);
  EXPECT_DOUBLE_EQ(layers[10].rate, 0.3);
  EXPECT_EQ(layers[11].out, 10);
}

TEST(ModelDecl, FlowStyleDefaultPaddingAndBarePools) {
  const auto layers =
      parse_model_layers("[{conv: 8, kernel: 5}, max_pool, {linear: 3}]", "teacher.layers");
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].padding, 2);  // kernel / 2 keeps the size
  EXPECT_EQ(layers[1].kernel, 2);
  EXPECT_TRUE(parse_model_layers("", "student.layers").empty());
  EXPECT_TRUE(parse_model_layers("[]", "student.layers").empty());
}

TEST(ModelDecl, UnknownLayerInAResidualIsNamedWithASuggestion) {
  EXPECT_EQ(parse_error("[{conv: 8}, relu, relu, relu, {residual: [{conv: 8}, batchnorm]}]"),
            "student.layers[4].residual[1]: unknown layer 'batchnorm'; did you mean "
            "'batch_norm'?");
  EXPECT_TRUE(Contains(parse_error("[relu, {lstm: 3}]"), "student.layers[1]: unknown layer 'lstm'"));
  EXPECT_TRUE(Contains(parse_error("[relu, {lstm: 3}]"), "layers are conv, batch_norm"));
}

TEST(ModelDecl, BadOptionsAndValuesNameTheItem) {
  EXPECT_TRUE(Contains(parse_error("[{conv: 8, kernal: 3}]"),
                       "student.layers[0]: unknown option 'kernal' for conv; did you mean "
                       "'kernel'?"));
  EXPECT_TRUE(Contains(parse_error("[relu, {linear: 4, kernel: 3}]"),
                       "student.layers[1]: unknown option 'kernel' for linear"));
  EXPECT_TRUE(Contains(parse_error("[{conv: 0}]"), "student.layers[0]: conv size must be an integer >= 1"));
  EXPECT_TRUE(Contains(parse_error("[{linear: -3}]"), "student.layers[0]: linear size"));
  EXPECT_TRUE(Contains(parse_error("[{linear: 2.5}]"), "got '2.5'"));
  EXPECT_TRUE(Contains(parse_error("[{conv: 4, stride: 0}]"), "conv stride must be an integer >= 1"));
  EXPECT_TRUE(Contains(parse_error("[{conv: 4, padding: -1}]"), "conv padding must be an integer >= 0"));
  EXPECT_TRUE(Contains(parse_error("[{max_pool: 0}]"), "student.layers[0]: max_pool window"));
  EXPECT_TRUE(Contains(parse_error("[relu, {dropout: 1.0}]"), "student.layers[1]: dropout needs a probability in [0, 1)"));
  EXPECT_TRUE(Contains(parse_error("[{dropout: -0.1}]"), "dropout needs a probability"));
  EXPECT_TRUE(Contains(parse_error("[dropout]"), "student.layers[0]: dropout needs"));
  EXPECT_TRUE(Contains(parse_error("[conv]"), "student.layers[0]: conv needs a size"));
  EXPECT_TRUE(Contains(parse_error("[{relu: 3}]"), "student.layers[0]: relu takes no value"));
  EXPECT_TRUE(Contains(parse_error("[{conv: 3, linear: 4}]"), "one layer per item; found conv and linear"));
  EXPECT_TRUE(Contains(parse_error("[{residual: []}]"), "student.layers[0]: residual needs a non-empty list"));
  EXPECT_TRUE(Contains(parse_error("[[relu]]"), "student.layers[0]: expected a layer"));
}

TEST(ModelDecl, TextThatIsNotAListSaysSo) {
  EXPECT_TRUE(Contains(parse_error("{conv: 3}"), "student.layers: expected a list of layers"));
  EXPECT_TRUE(Contains(parse_error("[relu, {conv: 3"), "student.layers: not valid YAML"));
}

TEST(ModelDecl, CheckForTheSchemaNamesTheItemOrPasses) {
  EXPECT_EQ(check_model_layers("[{conv: 8}, relu, global_avg_pool, {linear: 10}]"), std::nullopt);
  EXPECT_EQ(check_model_layers(""), std::nullopt);
  const auto problem = check_model_layers("[relu, {residual: [{conv: 8}, rleu]}]");
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(*problem, "layers[1].residual[1]: unknown layer 'rleu'; did you mean 'relu'?");
}

TEST(ModelDecl, KindNamesMatchTheYaml) {
  EXPECT_EQ(layer_kind_name(LayerKind::kBatchNorm), "batch_norm");
  EXPECT_EQ(layer_kind_name(LayerKind::kGlobalAvgPool), "global_avg_pool");
  for (const char* name : {"conv", "gelu", "avg_pool", "residual"}) {
    const std::string text = std::string("[") + name + "]";
    // Every kind named in the YAML comes back under the same name.
    try {
      const auto layers = parse_model_layers(text, "k");
      EXPECT_EQ(layer_kind_name(layers.at(0).kind), name);
    } catch (const UsageError& e) {
      EXPECT_TRUE(Contains(e.what(), std::string("k[0]: ") + name)) << e.what();
    }
  }
}

}  // namespace
}  // namespace condenser
