#pragma once
// The HDF5 token file (`condenser prepare-text`, data.dataset: tokens),
// readable by h5py:
//
//   /train, /validation, /test          groups, one per split
//     tokens       [n]   uint16 when vocab_size <= 65,536, else uint32: the
//                        split's documents concatenated, each followed by eos
//     doc_offsets  [d+1] int64: document i is tokens[doc_offsets[i] :
//                        doc_offsets[i+1]] (its eos last); 0 first, n last,
//                        strictly increasing, d >= 1
//   /tokenizer   [bytes] uint8: the SentencePiece .model file itself, so the
//                        file is self-contained (generation decodes with it)
//   root attributes: kind = "tokens", vocab_size, bos_id, eos_id, pad_id
//                    (int64; -1 when the tokenizer has none; eos >= 0),
//                    tokenizer_sha256 (SHA-256 of /tokenizer's bytes),
//                    corpus (what the text came from), corpus_sha256
//                    (data/text/corpus.h), schema_version = 1.
//
// Documents go to splits whole, at random from a seed (split_documents).
// Written to PATH.tmp, fsynced, renamed, directory fsynced: a reader sees
// the old file or the whole new one. No LibTorch here.
#include <cstdint>
#include <string>
#include <vector>

namespace condenser {

// Label of a position no loss may count (padding past a split's end): the
// ignore_index of PyTorch's cross-entropy. Every loss on token labels skips it.
constexpr int64_t kIgnoreToken = -100;

inline const std::vector<std::string>& token_splits() {
  static const std::vector<std::string> names = {"train", "validation", "test"};
  return names;
}

struct TokenSplit {
  std::vector<uint32_t> tokens;      // documents concatenated, each ending in eos
  std::vector<int64_t> doc_offsets;  // size documents + 1
  int64_t documents() const { return doc_offsets.empty() ? 0 : int64_t(doc_offsets.size()) - 1; }
};

struct TokenFileContents {
  TokenSplit train, validation, test;
  int64_t vocab_size = 0;
  int64_t bos_id = -1, eos_id = -1, pad_id = -1;
  std::string tokenizer_model;  // the .model bytes; tokenizer_sha256 is computed from them
  std::string corpus, corpus_sha256;
  const TokenSplit& split(const std::string& name) const;
};

// "uint16" or "uint32": what `tokens` is stored as for this vocabulary.
std::string token_dtype(int64_t vocab_size);

// Writes `c` to `path` durably (see above). RuntimeFailure on I/O errors
// (the .tmp removed); UsageError if the contents break the contract (an id
// >= vocab_size, bad offsets): a bug in the caller, named.
void write_token_file(const std::string& path, const TokenFileContents& c);

// What inspect_token_file found; everything was checked.
struct TokenFileInfo {
  std::string path, sha256;  // sha256: of the whole file (the dataset fingerprint)
  std::string dtype;         // uint16 | uint32
  int64_t vocab_size = 0, bos_id = -1, eos_id = -1, pad_id = -1;
  std::string tokenizer_sha256, corpus, corpus_sha256;
  int64_t tokens[3] = {0, 0, 0};     // per split, in token_splits() order
  int64_t documents[3] = {0, 0, 0};  // per split
  int64_t split_tokens(const std::string& split) const;
  int64_t split_documents(const std::string& split) const;
};

// Checks the whole file up front: it is HDF5, the attributes, /tokenizer
// (its SHA-256 equals tokenizer_sha256), each split's datasets, dtypes and
// shapes, every id < vocab_size, offsets monotone from 0 to n, each document
// ending in eos. One UsageError naming the file and the dataset or attribute
// ("token file 'X': dataset /train/tokens: id 5000 at 17 >= vocab_size 4096").
TokenFileInfo inspect_token_file(const std::string& path);

// One split's tokens / offsets as stored (checked by inspect_token_file;
// UsageError naming the file if it changed since and no longer reads).
std::vector<int32_t> read_split_tokens(const TokenFileInfo& info, const std::string& split);
std::vector<int64_t> read_doc_offsets(const TokenFileInfo& info, const std::string& split);

// The tokenizer .model bytes stored in the file.
std::string read_tokenizer_model(const TokenFileInfo& info);

}  // namespace condenser
