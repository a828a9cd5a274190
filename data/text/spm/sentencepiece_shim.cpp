// libcondenser_spm.so: SentencePiece behind the C interface of
// sentencepiece_c.h (why: see there). Built as its own shared library.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "data/text/spm/sentencepiece_c.h"

// Exported by libsentencepiece (common.h, not installed): the trainer logs
// every merge at INFO to stderr otherwise.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}  // namespace sentencepiece::logging

namespace {

char* copy(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) {
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
  }
  return p;
}

char* error_of(const sentencepiece::util::Status& status) {
  return status.ok() ? nullptr : copy(status.ToString());
}

// '\n'-separated sentences of one buffer.
class LineSentences : public sentencepiece::SentenceIterator {
 public:
  LineSentences(const char* data, size_t size) : data_(data), size_(size) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    if (pos_ >= size_) {
      done_ = true;
      return;
    }
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    const size_t end = nl ? size_t(static_cast<const char*>(nl) - data_) : size_;
    value_.assign(data_ + pos_, end - pos_);
    pos_ = end + 1;
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const char* data_;
  size_t size_, pos_ = 0;
  bool done_ = false;
  std::string value_;
};

}  // namespace

extern "C" {

int cspm_abi_version(void) { return CSPM_ABI_VERSION; }

char* cspm_train(const char* args, const char* sentences, size_t size, char** model,
                 size_t* model_size) {
  static std::mutex training;  // the log level and random seed are process-wide
  const std::lock_guard<std::mutex> lock(training);
  sentencepiece::logging::SetMinLogLevel(2);
  sentencepiece::SetRandomGeneratorSeed(20240501u);
  LineSentences it(sentences, size);
  std::string bytes;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &bytes);
  if (!status.ok()) return error_of(status);
  *model = static_cast<char*>(std::malloc(bytes.size() ? bytes.size() : 1));
  std::memcpy(*model, bytes.data(), bytes.size());
  *model_size = bytes.size();
  return nullptr;
}

char* cspm_load(const char* model, size_t size, void** processor) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto status = sp->LoadFromSerializedProto(std::string(model, size));
  if (!status.ok() || sp->GetPieceSize() <= 0) {
    delete sp;
    return status.ok() ? copy("the model has no pieces") : error_of(status);
  }
  *processor = sp;
  return nullptr;
}

void cspm_unload(void* processor) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(processor);
}

void cspm_ids(void* processor, int ids[5]) {
  const auto* sp = static_cast<const sentencepiece::SentencePieceProcessor*>(processor);
  ids[0] = sp->GetPieceSize();
  ids[1] = sp->unk_id();
  ids[2] = sp->bos_id();
  ids[3] = sp->eos_id();
  ids[4] = sp->pad_id();
}

char* cspm_encode(void* processor, const char* text, size_t size, int** ids, size_t* count) {
  const auto* sp = static_cast<const sentencepiece::SentencePieceProcessor*>(processor);
  std::vector<int> out;
  const auto status = sp->Encode(std::string(text, size), &out);
  if (!status.ok()) return error_of(status);
  *ids = static_cast<int*>(std::malloc(out.empty() ? 1 : out.size() * sizeof(int)));
  if (!out.empty()) std::memcpy(*ids, out.data(), out.size() * sizeof(int));
  *count = out.size();
  return nullptr;
}

char* cspm_decode(void* processor, const int* ids, size_t count, char** text, size_t* size) {
  const auto* sp = static_cast<const sentencepiece::SentencePieceProcessor*>(processor);
  std::string out;
  const auto status = sp->Decode(std::vector<int>(ids, ids + count), &out);
  if (!status.ok()) return error_of(status);
  *text = copy(out);
  *size = out.size();
  return nullptr;
}

void cspm_release(void* buffer) { std::free(buffer); }

}  // extern "C"
