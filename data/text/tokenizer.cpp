#include "data/text/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/text/spm/sentencepiece_c.h"

namespace condenser {
namespace {

// The SentencePiece library, loaded once (see data/text/spm/sentencepiece_c.h
// for why it is dlopened with its own symbol scope).
struct SpmApi {
  int (*abi_version)();
  char* (*train)(const char*, const char*, size_t, char**, size_t*);
  char* (*load)(const char*, size_t, void**);
  void (*unload)(void*);
  void (*ids)(void*, int[5]);
  char* (*encode)(void*, const char*, size_t, int**, size_t*);
  char* (*decode)(void*, const int*, size_t, char**, size_t*);
  void (*release)(void*);
};

// Where libcondenser_spm.so is: $CONDENSER_SPM_LIBRARY, else beside the
// running executable, else where this build put it.
std::string spm_library_path() {
  if (const char* env = std::getenv("CONDENSER_SPM_LIBRARY"); env && *env) return env;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    const std::string beside = parent_dir(std::string(exe, size_t(n))) + "/libcondenser_spm.so";
    if (path_exists(beside)) return beside;
  }
  return CONDENSER_SPM_LIBRARY_PATH;
}

template <typename F>
void bind(void* lib, const char* name, F* fn, const std::string& path) {
  *fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!*fn) throw RuntimeFailure("'" + path + "' lacks " + name + "; rebuild condenser_spm");
}

SpmApi load_spm() {
  const std::string path = spm_library_path();
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!lib) {
    throw RuntimeFailure(std::string("cannot load the SentencePiece wrapper: ") + dlerror() +
                         "; build the target condenser_spm or set CONDENSER_SPM_LIBRARY");
  }
  SpmApi api{};
  bind(lib, "cspm_abi_version", &api.abi_version, path);
  bind(lib, "cspm_train", &api.train, path);
  bind(lib, "cspm_load", &api.load, path);
  bind(lib, "cspm_unload", &api.unload, path);
  bind(lib, "cspm_ids", &api.ids, path);
  bind(lib, "cspm_encode", &api.encode, path);
  bind(lib, "cspm_decode", &api.decode, path);
  bind(lib, "cspm_release", &api.release, path);
  if (api.abi_version() != CSPM_ABI_VERSION) {
    throw RuntimeFailure("'" + path + "' is another version; rebuild condenser_spm");
  }
  return api;  // never dlclosed: processors live as long as the process
}

const SpmApi& spm() {
  static const SpmApi api = load_spm();
  return api;
}

// Takes ownership of an error returned by the library: empty when none.
std::string take_error(char* error) {
  if (!error) return "";
  std::string s(error);
  spm().release(error);
  return s;
}

constexpr size_t kMaxTrainingPiece = 2048;  // bytes per training sentence

// Documents cut at spaces into '\n'-separated sentences of at most
// kMaxTrainingPiece bytes.
std::string training_sentences(const std::vector<std::string>& docs) {
  std::string out;
  for (const std::string& d : docs) {
    for (size_t pos = 0; pos < d.size();) {
      size_t end = std::min(d.size(), pos + kMaxTrainingPiece);
      if (end < d.size()) {
        const size_t space = d.rfind(' ', end);
        if (space != std::string::npos && space > pos) end = space;
      }
      std::string piece = d.substr(pos, end - pos);
      std::replace(piece.begin(), piece.end(), '\n', ' ');
      if (!piece.empty()) out += piece + "\n";
      pos = end + (end < d.size() && d[end] == ' ' ? 1 : 0);
    }
  }
  return out;
}

}  // namespace

struct Tokenizer::Impl {
  void* processor = nullptr;
  int ids[5] = {0, -1, -1, -1, -1};  // pieces, unk, bos, eos, pad
  std::string bytes, sha256;
  ~Impl() {
    if (processor) spm().unload(processor);
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_bytes(const std::string& model_bytes, const std::string& name) {
  auto impl = std::make_unique<Impl>();
  const std::string error =
      take_error(spm().load(model_bytes.data(), model_bytes.size(), &impl->processor));
  if (!error.empty()) {
    throw UsageError(name + " is not a SentencePiece model (" + error +
                     "); give a .model file written by spm_train or condenser prepare-text");
  }
  spm().ids(impl->processor, impl->ids);
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
  int* ids = nullptr;
  size_t n = 0;
  const std::string error =
      take_error(spm().encode(impl_->processor, text.data(), text.size(), &ids, &n));
  if (!error.empty()) throw RuntimeFailure("SentencePiece encode failed: " + error);
  std::vector<int32_t> out(ids, ids + n);
  spm().release(ids);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  for (int32_t id : ids) {  // SentencePiece would index out of its piece table
    if (id < 0 || id >= vocab_size()) {
      throw RuntimeFailure("decode: id " + std::to_string(id) + " is outside the vocabulary of " +
                           std::to_string(vocab_size()));
    }
  }
  const std::vector<int> in(ids.begin(), ids.end());
  char* text = nullptr;
  size_t n = 0;
  const std::string error =
      take_error(spm().decode(impl_->processor, in.data(), in.size(), &text, &n));
  if (!error.empty()) throw RuntimeFailure("SentencePiece decode failed: " + error);
  std::string out(text, n);
  spm().release(text);
  return out;
}

int Tokenizer::vocab_size() const { return impl_->ids[0]; }
int Tokenizer::unk_id() const { return impl_->ids[1]; }
int Tokenizer::bos_id() const { return impl_->ids[2]; }
int Tokenizer::eos_id() const { return impl_->ids[3]; }
int Tokenizer::pad_id() const { return impl_->ids[4]; }
const std::string& Tokenizer::model_bytes() const { return impl_->bytes; }
const std::string& Tokenizer::sha256() const { return impl_->sha256; }

void Tokenizer::save(const std::string& path) const { atomic_write_file(path, impl_->bytes); }

Tokenizer train_tokenizer(const std::vector<std::string>& documents, int vocab_size) {
  const std::string args = "--model_type=bpe --vocab_size=" + std::to_string(vocab_size) +
                           " --character_coverage=1.0 --num_threads=1 --input_sentence_size=0"
                           " --shuffle_input_sentence=false --max_sentence_length=" +
                           std::to_string(kMaxTrainingPiece + 16) +
                           " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3";
  const std::string sentences = training_sentences(documents);
  char* model = nullptr;
  size_t n = 0;
  const std::string error =
      take_error(spm().train(args.c_str(), sentences.data(), sentences.size(), &model, &n));
  if (!error.empty()) {
    throw UsageError("cannot train a tokenizer of data.vocab_size " + std::to_string(vocab_size) +
                     " on this corpus (" + error +
                     "); use a smaller vocab_size or a larger corpus");
  }
  const std::string bytes(model, n);
  spm().release(model);
  return Tokenizer::from_bytes(bytes, "the trained tokenizer");
}

std::string tokenizer_sha256(const std::string& model_bytes) {
  return sha256_hex(model_bytes.data(), model_bytes.size());
}

}  // namespace condenser
