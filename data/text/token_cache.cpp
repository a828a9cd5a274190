#include "data/text/token_cache.h"

#include <cstdlib>

#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/text/corpus.h"
#include "data/text/prepare_text.h"
#include "data/text/tokenizer.h"

namespace condenser {
namespace {

// Bump when prepare_text's output changes for the same inputs.
constexpr int kTokenCacheVersion = 1;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

std::string token_cache_dir() {
  if (std::string dir = env_or_empty("CONDENSER_CACHE"); !dir.empty()) return dir;
  if (std::string xdg = env_or_empty("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/condenser";
  const std::string home = env_or_empty("HOME");
  if (home.empty()) {
    throw UsageError("data.dataset: text needs a cache folder for its token file: set "
                     "CONDENSER_CACHE (or HOME)");
  }
  return home + "/.cache/condenser";
}

std::string text_token_file(const TextTokensRequest& r) {
  const Corpus corpus = read_corpus(r.corpus);
  const std::string tokenizer =
      r.tokenizer.empty() ? "vocab " + std::to_string(r.vocab_size)
                          : "model " + Tokenizer::load(r.tokenizer).sha256();
  const std::string what = corpus.sha256 + "|" + tokenizer + "|seed " + std::to_string(r.seed) +
                           "|v" + std::to_string(kTokenCacheVersion);
  const std::string key = sha256_hex(what.data(), what.size());
  const std::string dir = token_cache_dir();
  const std::string path = dir + "/tokens-" + key.substr(0, 16) + ".h5";
  if (path_exists(path)) return path;
  try {
    ensure_dir(dir);
  } catch (const Error& e) {
    throw UsageError("cannot create the token cache folder '" + dir + "' (" + e.what() +
                     "); set CONDENSER_CACHE to a writable folder");
  }
  PrepareTextOptions options;
  options.corpus = r.corpus;
  options.tokenizer = r.tokenizer;
  options.vocab_size = r.vocab_size;
  options.out = path;
  options.seed = r.seed;
  const PrepareTextSummary s = prepare_text(options);
  log_info("data: tokenized ", r.corpus, " (", s.documents[0] + s.documents[1] + s.documents[2],
           " documents, ", s.tokens[0], " train tokens, vocabulary ", s.vocab_size, ") into ",
           path, " in ", fixed(s.seconds, 1), " s");
  return path;
}

}  // namespace condenser
