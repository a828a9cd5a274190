#pragma once
// `condenser prepare-text`: a corpus (data/text/corpus.h) tokenized into an
// HDF5 token file (data/text/token_file.h), with the tokenizer's .model file
// written beside it as <out stem>.model. The tokenizer is the given .model,
// or one trained (data/text/tokenizer.h) on the train split's documents
// only, so validation and test text never shaped the vocabulary. No LibTorch.
#include <cstdint>
#include <string>
#include <vector>

namespace condenser {

struct PrepareTextOptions {
  std::string corpus;     // "kjv" or a UTF-8 text file
  std::string tokenizer;  // an existing SentencePiece .model; empty: train one
  int vocab_size = 4096;  // pieces of a trained tokenizer (ignored with `tokenizer`)
  std::string out;        // the token file to write (its folder must exist)
  uint64_t seed = 0;      // which documents go to which split
};

struct PrepareTextSummary {
  std::string out, model_path;  // the token file and the .model beside it
  std::string corpus, corpus_sha256, tokenizer_sha256;
  bool trained = false;  // the tokenizer was trained here
  int64_t vocab_size = 0;
  int64_t documents[3] = {0, 0, 0};  // train, validation, test
  int64_t tokens[3] = {0, 0, 0};     // including one eos per document
  int64_t unk_tokens = 0;            // ids that are unk (text the tokenizer cannot spell)
  int64_t corpus_bytes = 0, file_bytes = 0;
  double read_seconds = 0, train_seconds = 0, encode_seconds = 0, write_seconds = 0, seconds = 0;
};

// Reads, tokenizes, splits and writes (durably). UsageError naming the
// corpus, tokenizer or output when one is unusable: a folder that does not
// exist, fewer than 3 documents, a tokenizer without eos, a vocab_size the
// corpus cannot fill.
PrepareTextSummary prepare_text(const PrepareTextOptions& options);

// <out stem>.model: "runs/kjv.h5" -> "runs/kjv.model".
std::string tokenizer_path_for(const std::string& out);

// Documents [0, d) assigned to train / validation / test at random from
// `seed`: validation and test get round(5 %) each, at least one, train the
// rest (at least one); each list ascending. UsageError when d < 3.
struct DocumentSplit {
  std::vector<int64_t> train, validation, test;
};
DocumentSplit split_document_indices(int64_t documents, uint64_t seed);

}  // namespace condenser
