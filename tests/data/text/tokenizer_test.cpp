// SentencePiece tokenizers (data/text/tokenizer.h): round trips, the same
// model bytes from the same corpus, special ids, loading and refusals.
#include "data/text/tokenizer.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/text/corpus.h"
#include "tests/common/temp_dir.h"
#include "tests/data/text/text_fixtures.h"

namespace condenser {
namespace {

using namespace testing_util;

std::vector<std::string> tiny_documents() { return split_documents(tiny_corpus_text()); }

TEST(Tokenizer, TinyCorpusRoundTripsAndHasFixedSpecialIds) {
  const Tokenizer tok = train_tokenizer(tiny_documents(), 96);
  EXPECT_EQ(tok.vocab_size(), 96);
  EXPECT_EQ(tok.unk_id(), 0);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.pad_id(), 3);
  for (const std::string& d : tiny_documents()) {
    const std::vector<int32_t> ids = tok.encode(d);
    EXPECT_LT(ids.size(), d.size());          // merges happened
    for (int32_t id : ids) ASSERT_GT(id, 3);  // no unk, no control id
    EXPECT_EQ(tok.decode(ids), d);
  }
  EXPECT_THROW(tok.decode({5, 96}), RuntimeFailure);
  EXPECT_THROW(tok.decode({-1}), RuntimeFailure);
  EXPECT_EQ(tok.sha256(), sha256_hex(tok.model_bytes().data(), tok.model_bytes().size()));
}

TEST(Tokenizer, SameCorpusGivesTheSameModelBytes) {
  const Tokenizer a = train_tokenizer(tiny_documents(), 96);
  const Tokenizer b = train_tokenizer(tiny_documents(), 96);
  EXPECT_EQ(a.model_bytes(), b.model_bytes());
  const Tokenizer c = train_tokenizer(tiny_documents(), 80);
  EXPECT_NE(a.model_bytes(), c.model_bytes());
}

TEST(Tokenizer, KjvSliceRoundTripsDeterministically) {
  const std::vector<std::string> docs = kjv_slice(120);  // Genesis, Exodus, part of Leviticus
  const Tokenizer a = train_tokenizer(docs, 512);
  const Tokenizer b = train_tokenizer(docs, 512);
  EXPECT_EQ(a.sha256(), b.sha256());
  int64_t chars = 0, tokens = 0;
  for (const std::string& d : docs) {
    const std::vector<int32_t> ids = a.encode(d);
    ASSERT_EQ(a.decode(ids), d);
    chars += int64_t(d.size());
    tokens += int64_t(ids.size());
  }
  EXPECT_GT(double(chars) / double(tokens), 2.5);  // a 512-piece BPE packs several bytes a token
  // Text the corpus never had (a "Z" in a new word) still round trips outside unknown characters.
  EXPECT_EQ(a.decode(a.encode("And God saw the light")), "And God saw the light");
}

TEST(Tokenizer, SavesAndLoadsTheSameModel) {
  TempDir dir("tokenizer");
  const Tokenizer a = train_tokenizer(tiny_documents(), 96);
  a.save(dir.path + "/t.model");
  const Tokenizer b = Tokenizer::load(dir.path + "/t.model");
  EXPECT_EQ(b.sha256(), a.sha256());
  EXPECT_EQ(read_file(dir.path + "/t.model"), a.model_bytes());
  const std::string text = tiny_documents()[3];
  EXPECT_EQ(b.encode(text), a.encode(text));
}

TEST(Tokenizer, RefusalsNameTheFileOrVocabSize) {
  TempDir dir("tokenizer");
  try {
    Tokenizer::load(dir.path + "/missing.model");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.model' does not exist"), std::string::npos);
  }
  write_text(dir.path + "/junk.model", "not a model at all");
  try {
    Tokenizer::load(dir.path + "/junk.model");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.model' is not a SentencePiece model"),
              std::string::npos)
        << e.what();
  }
  try {
    train_tokenizer(tiny_documents(), 5000);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("data.vocab_size 5000"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace condenser
