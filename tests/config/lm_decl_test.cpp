// Language-model layers in a declared layer list: embedding, block (repeat,
// head_dim filled from the width), layer_norm, lm_head, and every mistake a
// UsageError naming the YAML item.
#include <gtest/gtest.h>

#include "config/model_decl.h"
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

TEST(LmDecl, ParsesATransformerAndExpandsRepeatIntoSeparateBlocks) {
  const auto layers = parse_model_layers(R"(
- {embedding: 256, positions: rotary}
- {block: 4, mlp: 1024, repeat: 3}
- {block: 2, mlp: 512, head_dim: 32}
- layer_norm
- lm_head
)",
                                         "student.layers");
  ASSERT_EQ(layers.size(), 7u);
  EXPECT_EQ(layers[0].kind, LayerKind::kEmbedding);
  EXPECT_EQ(layers[0].out, 256);
  EXPECT_EQ(layers[0].positions, Positions::kRotary);
  for (size_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(layers[i].kind, LayerKind::kBlock);
    EXPECT_EQ(layers[i].heads, 4);
    EXPECT_EQ(layers[i].mlp, 1024);
    EXPECT_EQ(layers[i].head_dim, 64) << "D/H filled from the embedding";
    EXPECT_EQ(layers[i].item, 1) << "repeated blocks remember their YAML item";
  }
  EXPECT_EQ(layers[4].heads, 2);
  EXPECT_EQ(layers[4].head_dim, 32);
  EXPECT_EQ(layers[4].item, -1);
  EXPECT_EQ(layers[5].kind, LayerKind::kLayerNorm);
  EXPECT_EQ(layers[6].kind, LayerKind::kLMHead);
  EXPECT_EQ(layer_kind_name(LayerKind::kLMHead), "lm_head");
  const auto learned = parse_model_layers(
      "[{embedding: 8, positions: learned}, {linear: 12}, {block: 3, mlp: 4}, {linear: 5}]", "k");
  EXPECT_EQ(learned[0].positions, Positions::kLearned);
  EXPECT_EQ(learned[2].head_dim, 4) << "the width after the linear: 12 / 3";
}

TEST(LmDecl, MistakesNameTheItem) {
  const std::string emb = "{embedding: 30, positions: rotary}, ";
  EXPECT_TRUE(Contains(parse_error("[{embedding: 30}]"),
                       "student.layers[0]: embedding needs positions: rotary or learned"));
  EXPECT_TRUE(Contains(parse_error("[{embedding: 30, positions: sinus}]"),
                       "student.layers[0]: positions must be rotary or learned, got 'sinus'"));
  EXPECT_TRUE(Contains(parse_error("[" + emb + "{block: 4}]"),
                       "student.layers[1]: block needs an MLP width"));
  EXPECT_TRUE(Contains(parse_error("[" + emb + "lm_head, {block: 4, mlp: 8}]"),
                       "student.layers[2]: the width 30 is not a multiple of 4 heads; give "
                       "head_dim"));
  EXPECT_TRUE(Contains(parse_error("[" + emb + "{block: 3, mlp: 8, heads_dim: 4}]"),
                       "student.layers[1]: unknown option 'heads_dim' for block; did you mean "
                       "'head_dim'?"));
  EXPECT_TRUE(Contains(parse_error("[" + emb + "{block: 3, mlp: 8, repeat: 0}]"),
                       "student.layers[1]: block repeat must be an integer >= 1"));
  EXPECT_TRUE(Contains(parse_error("[" + emb + "{block: 0, mlp: 8}]"),
                       "student.layers[1]: block heads must be an integer >= 1"));
  EXPECT_TRUE(Contains(parse_error("[{embedding: 8, positions: rotary, mlp: 3}]"),
                       "unknown option 'mlp' for embedding"));
  EXPECT_TRUE(Contains(parse_error("[{lm_head: 3}]"), "lm_head takes no value"));
  EXPECT_TRUE(Contains(parse_error("[{linear: 3, mlp: 4}]"), "unknown option 'mlp' for linear"));
  EXPECT_TRUE(Contains(parse_error("[layer_nrom]"), "did you mean 'layer_norm'?"));
}

}  // namespace
}  // namespace condenser
