#pragma once
// A SentencePiece tokenizer: trained on documents or loaded from a .model
// file, then encode/decode. SentencePiece stays out of this header (pimpl)
// and out of this process's symbol table: it runs inside libcondenser_spm.so
// (data/text/spm/sentencepiece_c.h), loaded on first use from
// $CONDENSER_SPM_LIBRARY, else beside the executable, else the build tree;
// RuntimeFailure naming the path when it cannot be loaded.
//
// Training (train_tokenizer): byte-pair encoding (BPE), not unigram: on the
// KJV it trains in ~0.9 s instead of ~2.5 s and a third of the memory, and
// its merges are a plain deterministic sequence (no EM or sampling). The
// special ids are unk 0, bos 1, eos 2, pad 3; every character of the corpus
// gets a piece (character_coverage 1), so the training corpus never encodes
// to unk. Deterministic: one trainer thread, no sentence sampling and a fixed
// random seed, so the same documents and vocab_size give the same model bytes
// (the trainer's thread count and input names are stored in the model, so
// they are fixed too). Documents longer than 2,048 bytes are cut at spaces
// for training (BPE pieces never cross a space, so nothing is lost).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace condenser {

class Tokenizer {
 public:
  // The serialized model (a .model file's bytes). `name` names it in errors:
  // UsageError "<name> is not a SentencePiece model ...".
  static Tokenizer from_bytes(const std::string& model_bytes, const std::string& name);
  // UsageError naming `path` when it is missing or not a model.
  static Tokenizer load(const std::string& path);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int32_t> encode(const std::string& text) const;  // no bos/eos added
  // Control ids (bos, eos, pad) are dropped; an id outside [0, vocab_size)
  // is a RuntimeFailure (a model that emits one is broken).
  std::string decode(const std::vector<int32_t>& ids) const;
  int vocab_size() const;
  int unk_id() const;
  int bos_id() const;  // -1 when the model has none
  int eos_id() const;  // -1 when the model has none
  int pad_id() const;  // -1 when the model has none
  const std::string& model_bytes() const;
  const std::string& sha256() const;  // tokenizer_sha256(model_bytes())
  // Writes model_bytes() to `path` durably (temp file, fsync, rename).
  void save(const std::string& path) const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Trains a BPE model of `vocab_size` pieces on `documents` (see above).
// UsageError when the corpus cannot give that many pieces (too small, or more
// distinct characters than vocab_size allows), naming vocab_size.
Tokenizer train_tokenizer(const std::vector<std::string>& documents, int vocab_size);

// SHA-256 of a model's bytes (the .model file), lowercase hex.
std::string tokenizer_sha256(const std::string& model_bytes);

}  // namespace condenser
