// The HDF5 token file (data/text/token_file.h) written by prepare_text
// (data/text/prepare_text.h): read back by h5py, and every refusal naming
// the file and the dataset.
#include "data/text/token_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "core/errors.h"
#include "core/files.h"
#include "data/hdf5_check.h"
#include "data/text/corpus.h"
#include "data/text/prepare_text.h"
#include "data/text/tokenizer.h"
#include "tests/common/python_reference.h"
#include "tests/common/temp_dir.h"
#include "tests/data/text/text_fixtures.h"
#include "tests/common/usage_error.h"

namespace condenser {
namespace {

using namespace testing_util;

struct TokenFile : ::testing::Test {
  TempDir dir{"tokens"};
  std::string corpus = write_text(dir.path + "/corpus.txt", tiny_corpus_text(40));
  std::string out = dir.path + "/tiny.h5";
  PrepareTextSummary prepare(int vocab = 96, uint64_t seed = 7) {
    return prepare_text({corpus, "", vocab, out, seed});
  }
};


// Overwrites element `at` of 1-d dataset `name` with `value` (as `mem_type`).
template <typename T>
void poke(const std::string& path, const char* name, hsize_t at, T value, hid_t mem_type) {
  h5::File f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  h5::Dataset ds(H5Dopen2(f, name, H5P_DEFAULT));
  h5::Dataspace space(H5Dget_space(ds));
  const hsize_t one = 1;
  H5Sselect_hyperslab(space, H5S_SELECT_SET, &at, nullptr, &one, nullptr);
  h5::Dataspace mem(H5Screate_simple(1, &one, nullptr));
  ASSERT_GE(H5Dwrite(ds, mem_type, mem, space, H5P_DEFAULT, &value), 0);
}

TEST_F(TokenFile, PrepareSplitsDocumentsAndSummarises) {
  const PrepareTextSummary s = prepare();
  EXPECT_TRUE(s.trained);
  EXPECT_EQ(s.vocab_size, 96);
  EXPECT_EQ(s.documents[0] + s.documents[1] + s.documents[2], 40);
  EXPECT_EQ(s.documents[1], 2);  // round(5 % of 40)
  EXPECT_EQ(s.documents[2], 2);
  EXPECT_EQ(s.unk_tokens, 0);  // trained on train only, but the tiny corpus has no rare letters
  EXPECT_EQ(s.model_path, dir.path + "/tiny.model");
  EXPECT_EQ(tokenizer_sha256(read_file(s.model_path)), s.tokenizer_sha256);
  EXPECT_FALSE(path_exists(out + ".tmp"));
  const TokenFileInfo info = inspect_token_file(out);
  EXPECT_EQ(info.dtype, "uint16");
  EXPECT_EQ(info.tokenizer_sha256, s.tokenizer_sha256);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(info.tokens[k], s.tokens[k]);
    EXPECT_EQ(info.documents[k], s.documents[k]);
  }
  EXPECT_EQ(read_tokenizer_model(info), read_file(s.model_path));
  // The same corpus and seed give the same file; another seed another split.
  const std::string first = read_file(out);
  prepare();
  EXPECT_EQ(read_file(out), first);
  EXPECT_NE(split_document_indices(40, 8).test, split_document_indices(40, 7).test);
}

TEST_F(TokenFile, H5pyReadsTheContractAndTheTokensDecodeToTheCorpus) {
  prepare();
  const Corpus c = read_corpus(corpus);
  const nlohmann::json got = run_python_reference(
      "read_token_file.py", {{"path", out}, {"documents", c.documents}}, dir.path);
  ASSERT_FALSE(got.is_null());
  EXPECT_TRUE(got["errors"].empty()) << got["errors"].dump();
  EXPECT_EQ(got["attrs"]["kind"], "tokens");
  EXPECT_EQ(got["attrs"]["vocab_size"], 96);
  EXPECT_EQ(got["attrs"]["bos_id"], 1);
  EXPECT_EQ(got["attrs"]["eos_id"], 2);
  EXPECT_EQ(got["attrs"]["pad_id"], 3);
  EXPECT_EQ(got["attrs"]["corpus"], corpus);
  EXPECT_EQ(got["attrs"]["corpus_sha256"], c.sha256);
  // The model h5py read is the one beside the file; with it, every stored
  // document decodes to a corpus document, each exactly once.
  std::string model;
  const std::string hex = got["tokenizer_hex"];
  for (size_t i = 0; i < hex.size(); i += 2)
    model += char(std::stoi(hex.substr(i, 2), nullptr, 16));
  EXPECT_EQ(model, read_file(tokenizer_path_for(out)));
  const Tokenizer tok = Tokenizer::from_bytes(model, "h5py's /tokenizer");
  std::multiset<std::string> decoded;
  for (const std::string split : {"train", "validation", "test"}) {
    const auto& s = got["splits"][split];
    EXPECT_EQ(s["dtype"], "uint16");
    EXPECT_EQ(s["offsets_dtype"], "int64");
    const std::vector<int32_t> t = s["tokens"].get<std::vector<int32_t>>();
    const std::vector<int64_t> o = s["offsets"].get<std::vector<int64_t>>();
    for (size_t i = 0; i + 1 < o.size(); ++i) {
      decoded.insert(tok.decode({t.begin() + o[i], t.begin() + o[i + 1] - 1}));
    }
  }
  EXPECT_EQ(decoded, std::multiset<std::string>(c.documents.begin(), c.documents.end()));
}

TEST_F(TokenFile, KjvSlicePreparesWithAGivenTokenizerToo) {
  std::string text;
  for (const std::string& d : kjv_slice(60)) text += d + "\n\n";
  corpus = write_text(dir.path + "/kjv60.txt", text);
  const PrepareTextSummary trained = prepare(384, 1);
  EXPECT_EQ(trained.documents[0] + trained.documents[1] + trained.documents[2], 60);
  EXPECT_EQ(trained.documents[1], 3);
  EXPECT_GT(trained.tokens[0], 30000);
  // Reusing the written .model encodes to the same tokens.
  const std::string model = tokenizer_path_for(out);
  out = dir.path + "/again.h5";
  const PrepareTextSummary reused = prepare_text({corpus, model, 999, out, 1});
  EXPECT_FALSE(reused.trained);
  EXPECT_EQ(reused.tokenizer_sha256, trained.tokenizer_sha256);
  EXPECT_EQ(reused.vocab_size, 384);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(reused.tokens[k], trained.tokens[k]);
}

TEST_F(TokenFile, RefusesMissingTamperedAndTruncatedFiles) {
  EXPECT_NE(usage_error([&] { inspect_token_file(out); }).find("tiny.h5' does not exist"), std::string::npos);
  prepare();
  const std::string good = read_file(out);
  poke<uint32_t>(out, "/train/tokens", 5, 65535, H5T_NATIVE_UINT32);
  std::string e = usage_error([&] { inspect_token_file(out); });
  EXPECT_NE(
      e.find("token file '" + out + "': dataset /train/tokens: id 65535 at 5 >= vocab_size 96"),
      std::string::npos)
      << e;

  atomic_write_file(out, good);
  poke<int64_t>(out, "/test/doc_offsets", 1, 0, H5T_NATIVE_INT64);
  e = usage_error([&] { inspect_token_file(out); });
  EXPECT_NE(e.find("dataset /test/doc_offsets is not strictly increasing at 1"), std::string::npos)
      << e;

  atomic_write_file(out, good);
  poke<uint8_t>(out, "/tokenizer", 20, 0x5a, H5T_NATIVE_UINT8);
  e = usage_error([&] { inspect_token_file(out); });
  EXPECT_NE(e.find("dataset /tokenizer does not match attribute 'tokenizer_sha256'"),
            std::string::npos)
      << e;

  atomic_write_file(out, good);
  ASSERT_EQ(truncate(out.c_str(), off_t(good.size() / 2)), 0);
  e = usage_error([&] { inspect_token_file(out); });
  EXPECT_NE(e.find("token file '" + out + "' cannot be read"), std::string::npos) << e;
}

TEST_F(TokenFile, PrepareRefusesWhatTheUserCanFix) {
  auto error = [](const PrepareTextOptions& o) -> std::string {
    try {
      prepare_text(o);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_NE(error({corpus, "", 96, dir.path + "/no/such/dir/t.h5", 0}).find("does not exist"),
            std::string::npos);
  EXPECT_NE(error({dir.path + "/none.txt", "", 96, out, 0}).find("none.txt' does not exist"),
            std::string::npos);
  write_text(dir.path + "/two.txt", "one document\n\nand another\n");
  EXPECT_NE(error({dir.path + "/two.txt", "", 96, out, 0}).find("holds 2 document(s)"),
            std::string::npos);
  EXPECT_NE(
      error({corpus, dir.path + "/none.model", 96, out, 0}).find("none.model' does not exist"),
      std::string::npos);
  EXPECT_FALSE(path_exists(out));
}

TEST(TokenFileWriter, RefusesIdsBeyondTheVocabulary) {
  TempDir dir("tokens");
  TokenFileContents c;
  c.vocab_size = 10;
  c.eos_id = 2;
  c.tokenizer_model = "m";
  for (TokenSplit* s : {&c.train, &c.validation, &c.test}) *s = {{5, 2}, {0, 2}};
  c.test.tokens[0] = 10;
  EXPECT_THROW(write_token_file(dir.path + "/t.h5", c), UsageError);
  EXPECT_FALSE(path_exists(dir.path + "/t.h5.tmp"));
  EXPECT_EQ(token_dtype(65536), "uint16");
  EXPECT_EQ(token_dtype(65537), "uint32");
  // A vocabulary past 65,536 is stored as uint32 and read back whole.
  c.vocab_size = 70000;
  c.test.tokens[0] = 69999;
  write_token_file(dir.path + "/t.h5", c);
  const TokenFileInfo info = inspect_token_file(dir.path + "/t.h5");
  EXPECT_EQ(info.dtype, "uint32");
  EXPECT_EQ(read_split_tokens(info, "test"), (std::vector<int32_t>{69999, 2}));
  EXPECT_EQ(read_doc_offsets(info, "test"), (std::vector<int64_t>{0, 2}));
}

}  // namespace
}  // namespace condenser
