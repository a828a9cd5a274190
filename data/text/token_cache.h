#pragma once
// The token file a `text` dataset stands for (data.dataset: text): the corpus
// is tokenized once (data/text/prepare_text.h) into a cache folder and the
// file is reused while the corpus, the tokenizer and the settings stay the
// same, so every job, worker and export on this machine reads the same
// tokens. No LibTorch.
//
// The cache folder is $CONDENSER_CACHE, else $XDG_CACHE_HOME/condenser, else
// $HOME/.cache/condenser; each file is tokens-<key>.h5 (with its tokenizer
// as tokens-<key>.model), key = SHA-256 of the corpus's documents, the given
// tokenizer's SHA-256 or the vocabulary size, and the split seed.
#include <cstdint>
#include <string>

namespace condenser {

struct TextTokensRequest {
  std::string corpus;     // "kjv" or a UTF-8 file (data/text/corpus.h)
  std::string tokenizer;  // an existing SentencePiece .model; empty: train one
  int vocab_size = 4096;  // of a trained tokenizer
  uint64_t seed = 0;      // which documents go to which split
};

std::string token_cache_dir();

// The cached token file for `request`, made first when absent (logged with
// its size and time). UsageError as prepare_text, or naming the cache folder
// when it cannot be created.
std::string text_token_file(const TextTokensRequest& request);

}  // namespace condenser
