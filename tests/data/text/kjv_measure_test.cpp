// The whole KJV through prepare_text at the default vocabulary and double it:
// the figures the README quotes. Disabled by default (about 5 s); run with
//   build/tests/condenser_data_text_tests --gtest_also_run_disabled_tests \
//     --gtest_filter='*KjvMeasure*'
#include <gtest/gtest.h>

#include <cstdio>

#include "data/text/prepare_text.h"
#include "data/text/token_file.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

TEST(KjvMeasure, DISABLED_WholeBibleAt4096And8192) {
  testing_util::TempDir dir("kjv");
  for (int vocab : {4096, 8192}) {
    const std::string out = dir.path + "/kjv" + std::to_string(vocab) + ".h5";
    const PrepareTextSummary s = prepare_text({"kjv", "", vocab, out, 0});
    std::printf(
        "vocab %d: documents %lld/%lld/%lld, tokens %lld/%lld/%lld, unk %lld, "
        "corpus %lld bytes, file %lld bytes; read %.2f s, train %.2f s, encode %.2f s, "
        "write %.2f s, total %.2f s; pieces %lld, tokenizer %s\n",
        vocab, (long long)s.documents[0], (long long)s.documents[1], (long long)s.documents[2],
        (long long)s.tokens[0], (long long)s.tokens[1], (long long)s.tokens[2],
        (long long)s.unk_tokens, (long long)s.corpus_bytes, (long long)s.file_bytes, s.read_seconds,
        s.train_seconds, s.encode_seconds, s.write_seconds, s.seconds, (long long)s.vocab_size,
        s.tokenizer_sha256.substr(0, 16).c_str());
    EXPECT_EQ(s.documents[0] + s.documents[1] + s.documents[2], 1189);
    const TokenFileInfo info = inspect_token_file(out);  // the reader's full check, timed by gtest
    EXPECT_EQ(info.tokens[0], s.tokens[0]);
  }
}

}  // namespace
}  // namespace condenser
