// Corpora as documents (data/text/corpus.h): the KJV from `bible`, text files
// split at blank lines, and the refusals a user can cause.
#include "data/text/corpus.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "core/sha256.h"
#include "tests/common/temp_dir.h"
#include "tests/data/text/text_fixtures.h"
#include "tests/common/usage_error.h"

namespace condenser {
namespace {

using namespace testing_util;

TEST(Corpus, ParsesBibleOutputIntoChapters) {
  const std::string out =
      "\nGenesis 1\n\n  1 In the beginning God created the heaven and the earth.\n"
      "  2 And the earth was without form, and void; and darkness was upon the face of\n"
      "the deep.\n\n1 Samuel 2\n\n  1 And Hannah prayed, and said,\n  10 The adversaries\n"
      "of the LORD\nshall be broken.\n";
  const std::vector<std::string> docs = parse_kjv(out);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0],
            "In the beginning God created the heaven and the earth. And the earth was "
            "without form, and void; and darkness was upon the face of the deep.");
  EXPECT_EQ(docs[1], "And Hannah prayed, and said, The adversaries of the LORD shall be broken.");
}

TEST(Corpus, KjvHasEveryChapterWithoutVerseNumbers) {
  const Corpus kjv = read_corpus("kjv");
  ASSERT_EQ(kjv.documents.size(), 1189u);
  EXPECT_EQ(kjv.documents.front().rfind("In the beginning God created the heaven and the earth. "
                                        "And the earth was without form",
                                        0),
            0u);
  const std::string& last = kjv.documents.back();
  EXPECT_EQ(last.substr(last.size() - 57),
            "The grace of our Lord Jesus Christ be with you all. Amen.");
  for (const std::string& d : kjv.documents) {
    ASSERT_EQ(d.find('\n'), std::string::npos);
    ASSERT_EQ(d.find("  "), std::string::npos);
    ASSERT_NE(d.front(), ' ');
  }
  EXPECT_GT(kjv.bytes(), 4000000);
  EXPECT_EQ(kjv.sha256, documents_sha256(kjv.documents));
}

TEST(Corpus, TextFileDocumentsAreBlankLineParagraphs) {
  TempDir dir("corpus");
  const std::string path = write_text(dir.path + "/c.txt",
                                      "\n\n  first  line\nwrapped\there\n \t\nsecond\r\n\n\n"
                                      "caf\xc3\xa9 \xe2\x82\xac\n");
  const Corpus c = read_corpus(path);
  ASSERT_EQ(c.documents.size(), 3u);
  EXPECT_EQ(c.documents[0], "first line wrapped here");
  EXPECT_EQ(c.documents[1], "second");
  EXPECT_EQ(c.documents[2], "caf\xc3\xa9 \xe2\x82\xac");
  const std::string joined =
      c.documents[0] + "\n\n" + c.documents[1] + "\n\n" + c.documents[2] + "\n\n";
  EXPECT_EQ(c.sha256, sha256_hex(joined.data(), joined.size()));
}

TEST(Corpus, RefusesMissingEmptyAndInvalidFiles) {
  TempDir dir("corpus");
  EXPECT_NE(usage_error([&] { read_corpus(dir.path + "/none.txt"); }).find("does not exist"),
            std::string::npos);
  write_text(dir.path + "/empty.txt", " \n\n\t\n");
  EXPECT_NE(usage_error([&] { read_corpus(dir.path + "/empty.txt"); }).find("holds no text"),
            std::string::npos);
  write_text(dir.path + "/bad.txt", "good text\n\nthen \xff bad");
  const std::string e = usage_error([&] { read_corpus(dir.path + "/bad.txt"); });
  EXPECT_NE(e.find("bad.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("invalid UTF-8 at byte offset 16"), std::string::npos) << e;
}

TEST(Corpus, Utf8CheckRefusesOverlongsSurrogatesAndTruncation) {
  check_utf8("plain \xc3\xa9 \xf0\x9f\x98\x80", "ok");
  EXPECT_NE(usage_error([] { check_utf8("ab\xc0\xaf", "x"); }).find("offset 2"), std::string::npos);
  EXPECT_NE(usage_error([] { check_utf8("\xed\xa0\x80", "x"); }).find("offset 0"),
            std::string::npos);
  EXPECT_NE(usage_error([] { check_utf8("abc\xe2\x82", "x"); }).find("offset 3"),
            std::string::npos);
  EXPECT_NE(usage_error([] { check_utf8("\xf4\x90\x80\x80", "x"); }).find("offset 0"),
            std::string::npos);
}

TEST(Corpus, MissingBibleProgramIsAUsageError) {
  const std::string saved = getenv("PATH");
  setenv("PATH", "/nonexistent", 1);
  const std::string e = usage_error([] { read_corpus("kjv"); });
  setenv("PATH", saved.c_str(), 1);
  EXPECT_NE(e.find("install the Debian packages bible-kjv"), std::string::npos) << e;
}

}  // namespace
}  // namespace condenser
