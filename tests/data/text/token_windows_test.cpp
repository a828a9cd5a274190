// Token files as a dataset (data/text/token_windows.h, data/datasets.h kind
// tokens): windows, next-token labels and padding exactly as documented.
#include "data/text/token_windows.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "data/datasets.h"
#include "data/text/prepare_text.h"
#include "tests/common/temp_dir.h"
#include "tests/data/text/text_fixtures.h"

namespace condenser {
namespace {

using namespace testing_util;

std::vector<int32_t> ramp(int32_t first, int n) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(first + i);
  return v;
}

at::Tensor rows(std::vector<std::vector<int64_t>> r) {
  std::vector<int64_t> flat;
  for (const auto& row : r) flat.insert(flat.end(), row.begin(), row.end());
  return torch::tensor(flat, torch::kLong).view({int64_t(r.size()), -1});
}

TEST(TokenWindows, CountIsCeilOfPairsOverSeqLen) {
  EXPECT_EQ(token_window_count(0, 4), 0);
  EXPECT_EQ(token_window_count(1, 4), 0);
  EXPECT_EQ(token_window_count(2, 4), 1);
  EXPECT_EQ(token_window_count(5, 4), 1);  // 4 pairs: one full window
  EXPECT_EQ(token_window_count(6, 4), 2);
  EXPECT_EQ(token_window_count(9, 4), 2);
  EXPECT_EQ(token_window_count(10, 4), 3);
}

TEST(TokenWindows, ExactWindowsLabelsAndPadding) {
  // 7 tokens, T = 3: pairs fill both windows exactly.
  TokenWindows w = make_token_windows(ramp(10, 7), 3, 3);
  EXPECT_TRUE(torch::equal(w.inputs, rows({{10, 11, 12}, {13, 14, 15}})));
  EXPECT_TRUE(torch::equal(w.labels, rows({{11, 12, 13}, {14, 15, 16}})));
  // 8 tokens: a third window holds the last token as input, padding after.
  w = make_token_windows(ramp(10, 8), 3, 3);
  EXPECT_TRUE(torch::equal(w.inputs, rows({{10, 11, 12}, {13, 14, 15}, {16, 17, 3}})));
  EXPECT_TRUE(torch::equal(w.labels, rows({{11, 12, 13}, {14, 15, 16}, {17, -100, -100}})));
  EXPECT_EQ(w.inputs.dtype(), torch::kLong);
  EXPECT_EQ(w.labels.dtype(), torch::kLong);
  // The first rows only.
  w = make_token_windows(ramp(10, 8), 3, 3, 1);
  EXPECT_TRUE(torch::equal(w.inputs, rows({{10, 11, 12}})));
  // Every pair (stream[p], stream[p + 1]) is a label exactly once.
  const std::vector<int32_t> stream = ramp(100, 1001);
  w = make_token_windows(stream, 64, 0);
  const at::Tensor valid = w.labels.ne(kIgnoreToken);
  EXPECT_EQ(valid.sum().item<int64_t>(), 1000);
  EXPECT_TRUE(torch::equal(w.labels.masked_select(valid), w.inputs.masked_select(valid) + 1));
}

struct TokenDataset : ::testing::Test {
  TempDir dir{"token_dataset"};
  std::string out = dir.path + "/tiny.h5";
  void SetUp() override {
    const std::string corpus = write_text(dir.path + "/c.txt", tiny_corpus_text(40));
    prepare_text({corpus, "", 96, out, 3});
  }
};

TEST_F(TokenDataset, DescribeLoadAndPlanLikeAnyDataset) {
  const int64_t T = 16;
  const DatasetInfo info = describe_dataset("tokens", out, T);
  const TokenFileInfo& t = info.token_file;
  EXPECT_EQ(info.kind, "tokens");
  EXPECT_EQ(info.sample_shape, std::vector<int64_t>{T});
  EXPECT_EQ(info.stored_dtype, "uint16");
  EXPECT_EQ(info.input_dtype(), "int64");
  EXPECT_EQ(info.num_classes, 96);
  EXPECT_EQ(info.seq_len, T);
  EXPECT_EQ(info.file_sha256, t.sha256);
  EXPECT_EQ(info.tokenizer_sha256, t.tokenizer_sha256);
  EXPECT_EQ(info.train_rows, token_window_count(t.split_tokens("train"), T));
  EXPECT_EQ(info.validation_rows, token_window_count(t.split_tokens("validation"), T));
  EXPECT_EQ(info.test_rows, token_window_count(t.split_tokens("test"), T));
  for (const std::string split : {"train", "validation", "test"}) {
    const ImageDataset d = load_split(info, split);
    const std::vector<int32_t> s = read_split_tokens(t, split);
    ASSERT_EQ(d.size(), token_window_count(int64_t(s.size()), T));
    EXPECT_EQ(d.num_classes, 96);
    EXPECT_EQ(d.fingerprint, t.sha256);
    // Independent reference: position p of the flattened windows.
    const at::Tensor in = d.images.reshape({-1}), lab = d.labels.reshape({-1});
    for (int64_t p = 0; p < in.numel(); ++p) {
      const int64_t n = int64_t(s.size());
      ASSERT_EQ(in[p].item<int64_t>(), p < n ? s[size_t(p)] : t.pad_id) << split << " " << p;
      ASSERT_EQ(lab[p].item<int64_t>(), p + 1 < n ? s[size_t(p + 1)] : kIgnoreToken);
    }
  }
  const ImageDataset train = load_split(info, "train");
  EXPECT_TRUE(torch::equal(first_train_inputs(info, 3), train.images.slice(0, 0, 3)));
  // The token file's own validation and test sets; train untouched.
  const SplitPlan plan = plan_splits(info, 500, 0, 1);
  EXPECT_EQ(int64_t(plan.train.size()), info.train_rows);
  EXPECT_TRUE(plan.validation.empty());
  EXPECT_EQ(validation_rows(info, plan).split, "validation");
  EXPECT_EQ(int64_t(validation_rows(info, plan).rows.size()), info.validation_rows);
  EXPECT_EQ(test_rows(info, plan, 0).split, "test");
  EXPECT_EQ(int64_t(test_rows(info, plan, 0).rows.size()), info.test_rows);
}

TEST_F(TokenDataset, RefusesBadSeqLenAndKinds) {
  EXPECT_THROW(describe_dataset("tokens", out, 0), UsageError);
  try {
    describe_dataset("csv", out, 16);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("fashion_mnist, hdf5 or tokens"), std::string::npos);
  }
  EXPECT_THROW(describe_dataset("tokens", dir.path + "/missing.h5", 16), UsageError);
}

}  // namespace
}  // namespace condenser
