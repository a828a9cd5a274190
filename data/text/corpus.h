#pragma once
// A text corpus as documents, the unit a token file splits and separates
// with eos. Two sources:
//   "kjv"  the King James Bible from `bible -p /usr/lib "Gen1:1-Rev22:21"`
//          (Debian bible-kjv + bible-kjv-text): one document per chapter
//          (1,189), verse numbers and hard wraps removed, the verses of a
//          chapter joined by single spaces.
//   PATH   a UTF-8 text file; documents are separated by blank lines (lines
//          of only whitespace), and the lines of a document are joined by
//          single spaces (hard wraps removed).
// Whitespace inside a document is collapsed to single spaces and trimmed:
// that is what SentencePiece's normaliser does anyway, so decoding a
// document's tokens gives the document back exactly (one verse per line
// would lose its newlines in the tokenizer). No LibTorch here.
#include <cstdint>
#include <string>
#include <vector>

namespace condenser {

struct Corpus {
  std::string source;                  // "kjv" or the path, as given
  std::vector<std::string> documents;  // non-empty, single-spaced, no newlines
  std::string sha256;                  // SHA-256 of the documents, each followed by "\n\n"
  int64_t bytes() const;               // total bytes of the documents
};

// Reads `source` ("kjv" or a path). UsageError naming the file or program:
// `bible` not on PATH (install bible-kjv and bible-kjv-text), a missing,
// unreadable or empty file, invalid UTF-8 (with its byte offset), a corpus
// without documents.
Corpus read_corpus(const std::string& source);

// The chapters of `bible` output ("Genesis 1" headers, "  1 In the ..." verses
// with hard-wrapped continuation lines). Exposed for tests.
std::vector<std::string> parse_kjv(const std::string& text);

// Blank-line-separated documents of `text`, whitespace collapsed.
std::vector<std::string> split_documents(const std::string& text);

// UsageError "<name>: invalid UTF-8 at byte OFFSET ..." unless `bytes` is
// well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
void check_utf8(const std::string& bytes, const std::string& name);

// SHA-256 of `documents`, each followed by "\n\n" (Corpus::sha256).
std::string documents_sha256(const std::vector<std::string>& documents);

}  // namespace condenser
