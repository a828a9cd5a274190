#include "export/lm_export.h"

#include <algorithm>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"
#include "data/text/token_file.h"
#include "data/text/tokenizer.h"
#include "trainers/lm_generate.h"

namespace condenser {
namespace {

GenerateOptions sampled() {
  GenerateOptions o;
  o.greedy = false;
  o.top_k = 40;
  o.temperature = 0.8;
  o.seed = 1;
  return o;
}

}  // namespace

std::vector<std::string> sample_prompts(const TokenFileInfo& info, const Tokenizer& tokenizer,
                                        int count, int words) {
  const std::vector<int32_t> tokens = read_split_tokens(info, "test");
  const std::vector<int64_t> offsets = read_doc_offsets(info, "test");
  std::vector<std::string> prompts;
  for (size_t d = 0; d + 1 < offsets.size() && int(prompts.size()) < count; ++d) {
    const int64_t begin = offsets[d];
    const int64_t end = std::min<int64_t>(offsets[d + 1] - 1, begin + 8 * words);  // no eos
    const std::string text =
        tokenizer.decode(std::vector<int32_t>(tokens.begin() + begin, tokens.begin() + end));
    // Whole words only: a prompt cut inside a word would ask for its rest.
    size_t cut = 0;
    for (int w = 0; w < words && cut != std::string::npos; ++w) cut = text.find(' ', cut + 1);
    const std::string prompt = text.substr(0, cut);
    if (!prompt.empty()) prompts.push_back(prompt);
  }
  return prompts;
}

std::string continuation_text(const Tokenizer& tokenizer, const std::vector<int64_t>& prompt,
                              const std::vector<int64_t>& next) {
  // Decoded with the prompt, so the first new piece keeps its leading space.
  std::vector<int32_t> all(prompt.begin(), prompt.end());
  all.insert(all.end(), next.begin(), next.end());
  const std::string whole = tokenizer.decode(all);
  const std::string head = tokenizer.decode(std::vector<int32_t>(prompt.begin(), prompt.end()));
  return whole.compare(0, head.size(), head) == 0 ? whole.substr(head.size()) : whole;
}

std::vector<TextSample> generate_samples(torch::jit::Module& model, const Tokenizer& tokenizer,
                                         const std::vector<std::string>& prompts,
                                         int64_t max_context, int64_t new_tokens) {
  std::vector<TextSample> out;
  for (const std::string& prompt : prompts) {
    const std::vector<int32_t> ids32 = tokenizer.encode(prompt);
    const std::vector<int64_t> ids(ids32.begin(), ids32.end());
    for (const bool greedy : {true, false}) {
      const GenerateOptions options = greedy ? GenerateOptions{} : sampled();
      TextSample s;
      s.prompt = prompt;
      s.mode = greedy ? "greedy" : "top-k 40, temperature 0.8, seed 1";
      s.continuation = continuation_text(
          tokenizer, ids, generate_tokens(model, ids, new_tokens, options, max_context));
      out.push_back(std::move(s));
    }
  }
  return out;
}

nlohmann::json to_json(const std::vector<TextSample>& samples) {
  nlohmann::json j = nlohmann::json::array();
  for (const TextSample& s : samples) {
    j.push_back({{"prompt", s.prompt}, {"mode", s.mode}, {"continuation", s.continuation}});
  }
  return j;
}

void save_language_model(torch::jit::Module& model, const std::string& path,
                         const std::string& tokenizer_bytes, int64_t seq_len) {
  const nlohmann::json lm = {{"seq_len", seq_len},
                             {"tokenizer_sha256", tokenizer_sha256(tokenizer_bytes)}};
  torch::jit::ExtraFilesMap extra{{"tokenizer.model", tokenizer_bytes}, {"lm.json", lm.dump()}};
  std::ostringstream bytes;
  model.save(bytes, extra);
  atomic_write_file(path, bytes.str());
}

LanguageModelFile load_language_model(const std::string& path, const std::string& tokenizer_path) {
  if (!path_exists(path)) {
    throw UsageError("model '" + path + "' not found; give an exported student.pt");
  }
  LanguageModelFile f;
  torch::jit::ExtraFilesMap extra{{"tokenizer.model", ""}, {"lm.json", ""}};
  try {
    f.model = torch::jit::load(path, c10::Device(c10::kCPU), extra);
  } catch (const c10::Error& e) {
    throw UsageError("'" + path + "' is not a TorchScript model (" +
                     std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  }
  if (!extra["lm.json"].empty()) {
    f.seq_len = nlohmann::json::parse(extra["lm.json"]).value("seq_len", int64_t{0});
  }
  const std::string beside = parent_dir(path) + "/tokenizer.model";
  if (!tokenizer_path.empty()) {
    f.tokenizer_bytes = read_file(tokenizer_path);
    f.tokenizer_from = tokenizer_path;
  } else if (!extra["tokenizer.model"].empty()) {
    f.tokenizer_bytes = extra["tokenizer.model"];
    f.tokenizer_from = path + " (embedded)";
  } else if (path_exists(beside)) {
    f.tokenizer_bytes = read_file(beside);
    f.tokenizer_from = beside;
  } else {
    throw UsageError("no tokenizer for '" + path + "': it carries none and there is no " +
                     beside + "; give --tokenizer FILE.model (the one its training data used)");
  }
  return f;
}

// Windows per second of the latency comparison times the window's tokens.
nlohmann::json tokens_per_s_json(const nlohmann::json& comparison, int64_t seq_len) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* side : {"teacher", "student"}) {
    if (!comparison.contains(side) || !comparison[side].contains("throughput_samples_per_s")) {
      continue;
    }
    for (const auto& [batch, windows] : comparison[side]["throughput_samples_per_s"].items()) {
      out[side][batch] = windows.get<double>() * double(seq_len);
    }
  }
  return out;
}

// A language model's continuations of the test documents' first words.
nlohmann::json lm_samples_json(torch::jit::Module& student, const TokenFileInfo& tokens,
                               int64_t seq_len) {
  const Tokenizer tokenizer = Tokenizer::from_bytes(read_tokenizer_model(tokens), tokens.path);
  return to_json(generate_samples(student, tokenizer, sample_prompts(tokens, tokenizer), seq_len));
}

}  // namespace condenser
