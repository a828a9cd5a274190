// `condenser prepare-text` and `condenser generate`: the language-model
// commands that run outside a job.
#include <iostream>

#include "app/commands.h"
#include "core/errors.h"
#include "core/log.h"
#include "data/text/prepare_text.h"
#include "data/text/tokenizer.h"
#include "export/lm_export.h"
#include "trainers/lm_generate.h"

namespace condenser {

int command_prepare_text(const PrepareTextArgs& args) {
  PrepareTextOptions o;
  o.corpus = args.corpus;
  o.tokenizer = args.tokenizer;
  o.vocab_size = args.vocab_size;
  o.out = args.out;
  o.seed = args.seed;
  const PrepareTextSummary s = prepare_text(o);
  std::cout << "corpus " << s.corpus << " (" << s.corpus_bytes << " bytes, sha256 "
            << s.corpus_sha256.substr(0, 12) << ")\n"
            << "tokenizer " << s.model_path << (s.trained ? " (trained, " : " (given, ")
            << s.vocab_size << " pieces, sha256 " << s.tokenizer_sha256.substr(0, 12) << ")\n";
  const char* names[3] = {"train", "validation", "test"};
  for (int i = 0; i < 3; ++i) {
    std::cout << names[i] << ": " << s.documents[i] << " documents, " << s.tokens[i]
              << " tokens\n";
  }
  std::cout << "wrote " << s.out << " (" << s.file_bytes << " bytes) in " << fixed(s.seconds, 1)
            << " s\n";
  return 0;
}

int command_generate(const GenerateArgs& args) {
  LanguageModelFile lm = load_language_model(args.model, args.tokenizer);
  const Tokenizer tokenizer = Tokenizer::from_bytes(lm.tokenizer_bytes, lm.tokenizer_from);
  const std::vector<int32_t> ids32 = tokenizer.encode(args.prompt);
  if (ids32.empty()) throw UsageError("--prompt: the prompt is empty; give some text to continue");
  GenerateOptions o;
  o.greedy = !args.sample;
  o.top_k = args.top_k;
  o.temperature = args.temperature;
  o.seed = args.seed;
  const int64_t context = args.context > 0 ? args.context : lm.seq_len > 0 ? lm.seq_len : 128;
  const std::vector<int64_t> next = generate_tokens(
      lm.model, std::vector<int64_t>(ids32.begin(), ids32.end()), args.tokens, o, context);
  std::cout << args.prompt
            << continuation_text(tokenizer, std::vector<int64_t>(ids32.begin(), ids32.end()), next)
            << "\n";
  return 0;
}

}  // namespace condenser
