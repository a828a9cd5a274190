#include "data/text/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"

// Exported by libsentencepiece (common.h, not installed): the trainer logs
// every EM/merge step at INFO to stderr otherwise.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}  // namespace sentencepiece::logging

namespace condenser {

struct Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
  std::string bytes, sha256;
};

namespace {

constexpr size_t kMaxTrainingPiece = 2048;  // bytes per training sentence

// Documents cut at spaces into sentences of at most kMaxTrainingPiece bytes.
class DocumentSentences : public sentencepiece::SentenceIterator {
 public:
  explicit DocumentSentences(const std::vector<std::string>& docs) : docs_(docs) { advance(); }
  bool done() const override { return doc_ >= docs_.size(); }
  void Next() override { advance(); }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void advance() {
    while (doc_ < docs_.size()) {
      const std::string& d = docs_[doc_];
      if (pos_ >= d.size()) {
        ++doc_;
        pos_ = 0;
        continue;
      }
      size_t end = std::min(d.size(), pos_ + kMaxTrainingPiece);
      if (end < d.size()) {
        const size_t space = d.rfind(' ', end);
        if (space != std::string::npos && space > pos_) end = space;
      }
      value_ = d.substr(pos_, end - pos_);
      pos_ = end + (end < d.size() && d[end] == ' ' ? 1 : 0);
      if (!value_.empty()) return;
    }
  }
  const std::vector<std::string>& docs_;
  size_t doc_ = 0, pos_ = 0;
  std::string value_;
};

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_bytes(const std::string& model_bytes, const std::string& name) {
  auto impl = std::make_unique<Impl>();
  const auto status = impl->sp.LoadFromSerializedProto(model_bytes);
  if (!status.ok() || impl->sp.GetPieceSize() <= 0) {
    throw UsageError(name + " is not a SentencePiece model (" + status.ToString() +
                     "); give a .model file written by spm_train or condenser prepare-text");
  }
  impl->bytes = model_bytes;
  impl->sha256 = tokenizer_sha256(model_bytes);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::load(const std::string& path) {
  if (!path_exists(path)) {
    throw UsageError("tokenizer '" + path + "' does not exist; give an existing SentencePiece " +
                     ".model or leave data.tokenizer empty to train one");
  }
  return from_bytes(read_file(path), "tokenizer '" + path + "'");
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto status = impl_->sp.Encode(text, &ids);
  if (!status.ok()) throw RuntimeFailure("SentencePiece encode failed: " + status.ToString());
  return {ids.begin(), ids.end()};
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  const std::vector<int> in(ids.begin(), ids.end());
  std::string text;
  const auto status = impl_->sp.Decode(in, &text);
  if (!status.ok()) throw RuntimeFailure("SentencePiece decode failed: " + status.ToString());
  return text;
}

int Tokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }
int Tokenizer::unk_id() const { return impl_->sp.unk_id(); }
int Tokenizer::bos_id() const { return impl_->sp.bos_id(); }
int Tokenizer::eos_id() const { return impl_->sp.eos_id(); }
int Tokenizer::pad_id() const { return impl_->sp.pad_id(); }
const std::string& Tokenizer::model_bytes() const { return impl_->bytes; }
const std::string& Tokenizer::sha256() const { return impl_->sha256; }

void Tokenizer::save(const std::string& path) const { atomic_write_file(path, impl_->bytes); }

Tokenizer train_tokenizer(const std::vector<std::string>& documents, int vocab_size) {
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(vocab_size)},
      {"character_coverage", "1.0"},
      {"num_threads", "1"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", std::to_string(kMaxTrainingPiece + 16)},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "3"},
  };
  // The trainer's logging level and random seed are process-wide.
  static std::mutex training;
  const std::lock_guard<std::mutex> lock(training);
  sentencepiece::logging::SetMinLogLevel(2);
  sentencepiece::SetRandomGeneratorSeed(20240501u);
  DocumentSentences sentences(documents);
  std::string bytes;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &sentences, &bytes);
  if (!status.ok()) {
    throw UsageError("cannot train a tokenizer of data.vocab_size " + std::to_string(vocab_size) +
                     " on this corpus (" + status.ToString() +
                     "); use a smaller vocab_size or a larger corpus");
  }
  return Tokenizer::from_bytes(bytes, "the trained tokenizer");
}

std::string tokenizer_sha256(const std::string& model_bytes) {
  return sha256_hex(model_bytes.data(), model_bytes.size());
}

}  // namespace condenser
