#include "config/run_dir.h"

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "core/path_inside.h"

namespace condenser {
namespace {

constexpr const char* kMarkerText =
    "This folder is a condenser run directory: condenser created it and may replace or\n"
    "remove the files it records here. Do not keep other files in it.\n";

// Length of the UTF-8 sequence at s[i], 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF included).
size_t utf8_length(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  if ((c == 0xE0 && b(i + 1) < 0xA0) || (c == 0xED && b(i + 1) > 0x9F) ||
      (c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) > 0x8F)) {
    return 0;
  }
  return n;
}

// Printable UTF-8: what JSON files, logs and a terminal can carry as is.
bool printable_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    const size_t n = utf8_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// `s` with every byte that is not printable UTF-8 written as \xNN, for messages.
std::string escaped(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = utf8_length(s, i);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

std::string absolute_of(const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  char cwd[PATH_MAX];
  return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

// The user's home directories (from $HOME and from the password database).
std::vector<std::string> home_dirs() {
  std::vector<std::string> homes;
  if (const char* h = std::getenv("HOME"); h && *h) homes.push_back(resolved_path(h).value_or(""));
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) {
    homes.push_back(resolved_path(pw->pw_dir).value_or(""));
  }
  return homes;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Entries of a directory other than "." and ".."; -1 when it cannot be read.
int count_entries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++n;
  }
  ::closedir(d);
  return n;
}

// mkdir -p that records each folder it made, so that they can be undone.
void make_dirs(const std::string& path, std::vector<std::string>* created) {
  std::string prefix;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    prefix = path.substr(0, end);
    start = end + 1;
    if (prefix.empty() || path_exists(prefix)) continue;
    if (::mkdir(prefix.c_str(), 0755) == 0) {
      created->push_back(prefix);
    } else if (errno != EEXIST) {
      const int err = errno;
      throw UsageError("cannot create run directory '" + path + "': " + prefix + ": " +
                       std::strerror(err) + "; pass a writable --run-dir");
    }
  }
}

}  // namespace

RunPaths RunPaths::at(const std::string& root) {
  RunPaths p;
  p.root = root;
  p.marker = root + "/.condenser-run";
  p.lock = root + "/job.lock";
  p.config_resolved = root + "/config.resolved.yaml";
  p.token = root + "/job.token";
  p.manifest = root + "/manifest.json";
  p.soft_labels = root + "/soft_labels";
  p.models = root + "/models";
  p.metrics = root + "/metrics.jsonl";
  p.summary = root + "/summary.json";
  p.export_dir = root + "/export";
  return p;
}

void check_run_name(const std::string& name) {
  if (!is_single_component(name) || !printable_utf8(name)) {
    throw UsageError("name '" + escaped(name) +
                     "' cannot name a run directory (runs/NAME): use one folder name of "
                     "printable UTF-8 characters, without '/' and not '.' or '..'");
  }
}

void check_run_dir(const std::string& root) {
  const std::string shown = escaped(root);
  if (root.empty()) throw UsageError("--run-dir is empty; pass a folder for the job's files");
  if (!printable_utf8(root) || !printable_utf8(absolute_of(root))) {
    throw UsageError("run directory '" + escaped(absolute_of(root)) +
                     "' is not printable UTF-8 (its name is written into JSON files and logs); "
                     "pass a --run-dir named with printable UTF-8 characters");
  }
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) return;  // missing: it will be created
  if (!S_ISDIR(st.st_mode)) {
    throw UsageError("run directory '" + shown + "' exists and is not a folder; pass another --run-dir");
  }
  const std::string real = absolute_path(root);  // it exists: stat succeeded
  if (real == "/") {
    throw UsageError("run directory '" + shown + "' is the file system root; pass a folder of "
                     "its own, e.g. --run-dir runs/NAME");
  }
  for (const std::string& home : home_dirs()) {
    if (!home.empty() && real == home) {
      throw UsageError("run directory '" + shown + "' is your home directory; pass a folder of "
                       "its own, e.g. --run-dir runs/NAME");
    }
  }
  const RunPaths paths = RunPaths::at(root);
  if (is_regular_file(paths.marker) || count_entries(root) == 0) return;
  throw UsageError("run directory '" + shown + "' is a non-empty folder that is not a condenser "
                   "run directory (no " + paths.marker + "); condenser writes and clears files "
                   "there, so pass a new or empty --run-dir (for a run directory of an older "
                   "condenser, create that marker file)");
}

RunDirClaim::RunDirClaim(const std::string& root) : paths_(RunPaths::at(root)) {
  check_run_dir(root);
  try {
    make_dirs(root, &created_dirs_);
    if (!is_regular_file(paths_.marker)) {
      atomic_write_file(paths_.marker, kMarkerText);
      created_files_.push_back(paths_.marker);
    }
    if (!lock_.try_lock(paths_.lock)) {
      const long pid = lock_.holder();
      throw UsageError("run directory '" + escaped(root) + "' is in use by another condenser job" +
                       (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) +
                       ", which holds " + paths_.lock +
                       "; wait for it to end, stop it, or pass another --run-dir");
    }
    if (lock_.created_file()) created_files_.push_back(paths_.lock);
  } catch (...) {
    undo();
    throw;
  }
}

RunDirClaim::~RunDirClaim() {
  if (!committed_) undo();
  lock_.release();
}

void RunDirClaim::track_file(const std::string& path) {
  if (!committed_ && !path_exists(path)) created_files_.push_back(path);
}

void RunDirClaim::commit(const Config& config) {
  try {
    ensure_dir(paths_.soft_labels);
    ensure_dir(paths_.models);
  } catch (const Error& e) {
    throw UsageError("cannot create run directory '" + escaped(paths_.root) + "': " + e.what() +
                     "; pass a writable --run-dir");
  }
  atomic_write_file(paths_.config_resolved, config_to_yaml(config));
  committed_ = true;
}

// Files first (the lock's last, after it is released), then the folders
// this claim made, deepest first; rmdir leaves any folder that is not empty.
void RunDirClaim::undo() noexcept {
  lock_.release();
  for (auto it = created_files_.rbegin(); it != created_files_.rend(); ++it) {
    ::unlink(it->c_str());
  }
  created_files_.clear();
  for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
    ::rmdir(it->c_str());
  }
  created_dirs_.clear();
}

}  // namespace condenser
