#pragma once
// Small corpora for the data/text tests: a few KB of deterministic English-
// like text written to a file, and a slice of the KJV (the first chapters).
#include <fstream>
#include <string>
#include <vector>

#include "data/text/corpus.h"

namespace condenser::testing_util {

// `documents` paragraphs of hard-wrapped lines drawn from a fixed word list
// by a linear congruential generator (same text on every run).
inline std::string tiny_corpus_text(int documents = 24) {
  static const char* words[] = {"the",     "light", "was",    "good",   "and",    "darkness",
                                "upon",    "face",  "of",     "deep",   "waters", "said",
                                "let",     "there", "be",     "day",    "night",  "evening",
                                "morning", "first", "second", "heaven", "earth",  "divided",
                                "from",    "made",  "called", "God",    "Spirit", "moved."};
  uint64_t x = 12345;
  std::string text;
  for (int d = 0; d < documents; ++d) {
    const int lines = 3 + d % 4;
    for (int l = 0; l < lines; ++l) {
      std::string line;
      for (int w = 0; w < 9; ++w) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        line += (w ? " " : "") + std::string(words[(x >> 33) % 30]);
      }
      text += line + "\n";
    }
    text += "\n";
  }
  return text;
}

inline std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The first `chapters` chapters of the KJV (Genesis 1, 2, ...).
inline std::vector<std::string> kjv_slice(size_t chapters) {
  const Corpus kjv = read_corpus("kjv");
  return {kjv.documents.begin(), kjv.documents.begin() + std::min(chapters, kjv.documents.size())};
}

}  // namespace condenser::testing_util
