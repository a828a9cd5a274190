#pragma once
// What a language model's export adds: the text it writes for its report
// and model card (continuations of fixed prompts, the first words of the
// first test documents so every corpus brings its own, greedy and sampled
// with a fixed seed, so the same model always writes the same text), its
// speed in tokens, and its file with the tokenizer inside.
#include <torch/script.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace condenser {

class Tokenizer;
struct TokenFileInfo;

struct TextSample {
  std::string prompt;
  std::string mode;  // "greedy" or "top-k 40, temperature 0.8, seed 1"
  std::string continuation;
};

// Prompts: the first `words` words of the first `count` test documents of
// the token file.
std::vector<std::string> sample_prompts(const TokenFileInfo& info, const Tokenizer& tokenizer,
                                        int count = 3, int words = 4);

// The text `next` adds after `prompt` (token ids), as a reader sees it: with
// the space before its first word.
std::string continuation_text(const Tokenizer& tokenizer, const std::vector<int64_t>& prompt,
                              const std::vector<int64_t>& next);

// Each prompt continued by `new_tokens` tokens, greedy and sampled.
std::vector<TextSample> generate_samples(torch::jit::Module& model, const Tokenizer& tokenizer,
                                         const std::vector<std::string>& prompts,
                                         int64_t max_context, int64_t new_tokens = 40);

nlohmann::json to_json(const std::vector<TextSample>& samples);

// The student's continuations of the sample prompts of the token file.
nlohmann::json lm_samples_json(torch::jit::Module& student, const TokenFileInfo& tokens,
                               int64_t seq_len);

// Tokens per second of the teacher and the student at each batch size of
// the latency comparison (windows per second times seq_len).
nlohmann::json tokens_per_s_json(const nlohmann::json& comparison, int64_t seq_len);

// An exported language model carries what generation needs inside its
// TorchScript archive as extra files: "tokenizer.model" (the SentencePiece
// model) and "lm.json" ({"seq_len": T, "tokenizer_sha256": ...}); Python
// reads them with torch.jit.load(path, _extra_files={...}).
void save_language_model(torch::jit::Module& model, const std::string& path,
                         const std::string& tokenizer_bytes, int64_t seq_len);

struct LanguageModelFile {
  torch::jit::Module model;
  std::string tokenizer_bytes;  // the SentencePiece model
  std::string tokenizer_from;   // where it came from, for messages
  int64_t seq_len = 0;          // the context it was trained on (0: unknown)
};

// Loads a model for `condenser generate`. Its tokenizer: `tokenizer_path`
// when given, else the archive's own tokenizer.model, else tokenizer.model
// beside the file. UsageError naming the file when there is none.
LanguageModelFile load_language_model(const std::string& path, const std::string& tokenizer_path);

}  // namespace condenser
