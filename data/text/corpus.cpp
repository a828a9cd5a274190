#include "data/text/corpus.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"

namespace condenser {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Appends `line` to `doc` with single spaces between words.
void append_words(std::string* doc, const std::string& line) {
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (j > i) {
      if (!doc->empty()) doc->push_back(' ');
      doc->append(line, i, j - i);
    }
    i = j;
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool blank(const std::string& line) {
  for (char c : line) {
    if (!is_space(c)) return false;
  }
  return true;
}

// "  12 And ..." -> true, with the verse text after the number in *rest.
bool verse_line(const std::string& line, std::string* rest) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i == 0) return false;
  const size_t digits = i;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  if (i == digits || i >= line.size() || line[i] != ' ') return false;
  *rest = line.substr(i + 1);
  return true;
}

// The `bible` program on PATH, or empty.
std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string run_bible() {
  const std::string bible = find_on_path("bible");
  if (bible.empty()) {
    throw UsageError(
        "corpus kjv: the program 'bible' is not on PATH; install the Debian packages "
        "bible-kjv and bible-kjv-text (scripts/install-deps.sh)");
  }
  const std::string cmd = "'" + bible + "' -p /usr/lib 'Gen1:1-Rev22:21' 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw RuntimeFailure("corpus kjv: cannot run " + cmd);
  std::string out;
  char buf[1 << 16];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.empty()) {
    throw UsageError("corpus kjv: '" + cmd + "' failed (status " + std::to_string(status) +
                     "); install bible-kjv-text, which holds the text under /usr/lib");
  }
  return out;
}

}  // namespace

int64_t Corpus::bytes() const {
  int64_t n = 0;
  for (const auto& d : documents) n += static_cast<int64_t>(d.size());
  return n;
}

std::vector<std::string> parse_kjv(const std::string& text) {
  const std::vector<std::string> lines = lines_of(text);
  std::vector<std::string> chapters;
  std::string rest;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (blank(line)) continue;
    if (verse_line(line, &rest)) {
      if (chapters.empty()) chapters.emplace_back();  // verses before any header
      append_words(&chapters.back(), rest);
      continue;
    }
    // A header stands alone between blank lines; anything else continues a verse.
    const bool alone =
        (i == 0 || blank(lines[i - 1])) && (i + 1 == lines.size() || blank(lines[i + 1]));
    if (alone || chapters.empty()) {
      chapters.emplace_back();
    } else {
      append_words(&chapters.back(), line);
    }
  }
  std::vector<std::string> out;
  for (auto& c : chapters) {
    if (!c.empty()) out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> split_documents(const std::string& text) {
  std::vector<std::string> docs;
  std::string doc;
  for (const std::string& line : lines_of(text)) {
    if (blank(line)) {
      if (!doc.empty()) docs.push_back(std::move(doc));
      doc.clear();
    } else {
      append_words(&doc, line);
    }
  }
  if (!doc.empty()) docs.push_back(std::move(doc));
  return docs;
}

void check_utf8(const std::string& bytes, const std::string& name) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = s[i];
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (c < 0x80)
      len = 1, cp = c;
    else if ((c & 0xE0) == 0xC0)
      len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
      len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
      len = 4, cp = c & 0x07, min = 0x10000;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (s[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) {
      char hex[8];
      snprintf(hex, sizeof(hex), "0x%02X", c);
      throw UsageError(name + ": invalid UTF-8 at byte offset " + std::to_string(i) + " (byte " +
                       hex + "); save the corpus as UTF-8");
    }
    i += len;
  }
}

std::string documents_sha256(const std::vector<std::string>& documents) {
  Sha256 h;
  for (const auto& d : documents) {
    h.update(d.data(), d.size());
    h.update("\n\n", 2);
  }
  return h.hex_digest();
}

Corpus read_corpus(const std::string& source) {
  Corpus corpus;
  corpus.source = source;
  if (source == "kjv") {
    corpus.documents = parse_kjv(run_bible());
  } else {
    if (!path_exists(source)) {
      throw UsageError("corpus '" + source + "' does not exist; give a UTF-8 text file or kjv");
    }
    const std::string text = read_file(source);
    check_utf8(text, "corpus '" + source + "'");
    corpus.documents = split_documents(text);
  }
  if (corpus.documents.empty()) {
    throw UsageError("corpus '" + source + "' holds no text; give a UTF-8 file whose documents " +
                     "are separated by blank lines");
  }
  corpus.sha256 = documents_sha256(corpus.documents);
  return corpus;
}

}  // namespace condenser
