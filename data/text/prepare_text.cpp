#include "data/text/prepare_text.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/errors.h"
#include "core/files.h"
#include "data/sampling.h"
#include "data/text/corpus.h"
#include "data/text/token_file.h"
#include "data/text/tokenizer.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void check_out_path(const std::string& out) {
  if (out.empty()) throw UsageError("prepare-text: give the token file to write (an .h5 path)");
  struct stat st {};
  const std::string dir = parent_dir(out);
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UsageError("prepare-text: the folder '" + dir + "' of '" + out +
                     "' does not exist; create it first");
  }
  if (stat(out.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw UsageError("prepare-text: '" + out + "' is a folder; give a file name such as " + out +
                     "/tokens.h5");
  }
}

std::vector<std::string> pick_documents(const std::vector<std::string>& docs,
                                        const std::vector<int64_t>& indices) {
  std::vector<std::string> out;
  out.reserve(indices.size());
  for (int64_t i : indices) out.push_back(docs[size_t(i)]);
  return out;
}

// The documents `indices` encoded, each followed by eos; counts unk ids.
TokenSplit encode_split(const Tokenizer& tok, const std::vector<std::string>& docs,
                        const std::vector<int64_t>& indices, int64_t* unk) {
  TokenSplit s;
  s.doc_offsets.push_back(0);
  for (int64_t i : indices) {
    for (int32_t id : tok.encode(docs[size_t(i)])) {
      s.tokens.push_back(uint32_t(id));
      *unk += id == tok.unk_id();
    }
    s.tokens.push_back(uint32_t(tok.eos_id()));
    s.doc_offsets.push_back(int64_t(s.tokens.size()));
  }
  return s;
}

Tokenizer obtain_tokenizer(const PrepareTextOptions& o, const Corpus& corpus,
                           const DocumentSplit& split, PrepareTextSummary* sum) {
  const Clock::time_point t0 = Clock::now();
  if (!o.tokenizer.empty()) {
    Tokenizer tok = Tokenizer::load(o.tokenizer);
    if (tok.eos_id() < 0) {
      throw UsageError("tokenizer '" + o.tokenizer + "' has no eos piece (a token file ends " +
                       "each document with eos); train it with --eos_id or leave " +
                       "data.tokenizer empty");
    }
    return tok;
  }
  Tokenizer tok = train_tokenizer(pick_documents(corpus.documents, split.train), o.vocab_size);
  sum->trained = true;
  sum->train_seconds = since(t0);
  return tok;
}

}  // namespace

std::string tokenizer_path_for(const std::string& out) {
  const size_t slash = out.find_last_of('/');
  const size_t dot = out.find_last_of('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  return (has_ext ? out.substr(0, dot) : out) + ".model";
}

DocumentSplit split_document_indices(int64_t documents, uint64_t seed) {
  if (documents < 3) {
    throw UsageError("the corpus holds " + std::to_string(documents) + " document(s); a token " +
                     "file needs at least 3 (train, validation, test): separate documents " +
                     "with blank lines");
  }
  const int64_t held = std::max<int64_t>(1, std::llround(0.05 * double(documents)));
  const int64_t each = std::min(held, (documents - 1) / 2);
  const std::vector<int64_t> perm = permutation(documents, mix_seed(seed, 0x70c5));
  DocumentSplit s;
  s.validation.assign(perm.begin(), perm.begin() + each);
  s.test.assign(perm.begin() + each, perm.begin() + 2 * each);
  s.train.assign(perm.begin() + 2 * each, perm.end());
  for (auto* v : {&s.train, &s.validation, &s.test}) std::sort(v->begin(), v->end());
  return s;
}

PrepareTextSummary prepare_text(const PrepareTextOptions& o) {
  const Clock::time_point start = Clock::now();
  check_out_path(o.out);
  PrepareTextSummary sum;
  sum.out = o.out;
  sum.model_path = tokenizer_path_for(o.out);
  const Corpus corpus = read_corpus(o.corpus);
  sum.read_seconds = since(start);
  sum.corpus = corpus.source;
  sum.corpus_sha256 = corpus.sha256;
  sum.corpus_bytes = corpus.bytes();
  const DocumentSplit split = split_document_indices(int64_t(corpus.documents.size()), o.seed);
  const Tokenizer tok = obtain_tokenizer(o, corpus, split, &sum);

  Clock::time_point t0 = Clock::now();
  TokenFileContents c;
  c.train = encode_split(tok, corpus.documents, split.train, &sum.unk_tokens);
  c.validation = encode_split(tok, corpus.documents, split.validation, &sum.unk_tokens);
  c.test = encode_split(tok, corpus.documents, split.test, &sum.unk_tokens);
  c.vocab_size = tok.vocab_size();
  c.bos_id = tok.bos_id();
  c.eos_id = tok.eos_id();
  c.pad_id = tok.pad_id();
  c.tokenizer_model = tok.model_bytes();
  c.corpus = corpus.source;
  c.corpus_sha256 = corpus.sha256;
  sum.encode_seconds = since(t0);

  t0 = Clock::now();
  write_token_file(o.out, c);
  tok.save(sum.model_path);
  sum.write_seconds = since(t0);
  sum.vocab_size = c.vocab_size;
  sum.tokenizer_sha256 = tok.sha256();
  for (int k = 0; k < 3; ++k) {
    const TokenSplit& s = c.split(token_splits()[size_t(k)]);
    sum.documents[k] = s.documents();
    sum.tokens[k] = int64_t(s.tokens.size());
  }
  struct stat st {};
  if (stat(o.out.c_str(), &st) == 0) sum.file_bytes = int64_t(st.st_size);
  sum.seconds = since(start);
  return sum;
}

}  // namespace condenser
