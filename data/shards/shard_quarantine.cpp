#include "data/shards/shard_quarantine.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/shards/shard_reader.h"

namespace condenser {
namespace {

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Why the shard of `e` cannot be used ("" when it is fine). Sets *missing
// when the file does not exist.
std::string shard_problem(const std::string& dir, const Manifest& m, const ManifestEntry& e,
                          bool* missing) {
  const std::string path = dir + "/" + e.file;
  *missing = !path_exists(path);
  if (*missing) return "file is missing";
  const std::string actual = sha256_file(path);
  if (actual != e.sha256) {
    return "sha256 mismatch: manifest says " + e.sha256 + ", file has " + actual;
  }
  ShardData d;
  try {
    d = read_shard_index(path);
  } catch (const Error& err) {
    return std::string("unreadable: ") + err.what();
  }
  const ShardMeta& s = d.meta;
  if (s.teacher_sha256 != m.teacher_sha256) {
    return "labelled by teacher " + s.teacher_sha256 + ", manifest teacher is " + m.teacher_sha256;
  }
  if (s.dataset_fingerprint != m.dataset_fingerprint) {
    return "dataset fingerprint '" + s.dataset_fingerprint + "' != manifest's '" +
           m.dataset_fingerprint + "'";
  }
  if (s.temperature != m.temperature) {
    return "temperature " + std::to_string(s.temperature) + " != manifest's " +
           std::to_string(m.temperature);
  }
  if (s.num_classes != m.num_classes || s.top_k != m.top_k) {
    return "num_classes/top_k " + std::to_string(s.num_classes) + "/" + std::to_string(s.top_k) +
           " != manifest's " + std::to_string(m.num_classes) + "/" + std::to_string(m.top_k);
  }
  if (d.rows != e.rows || e.rows != (e.task_end - e.task_begin) * e.views) {
    return "has " + std::to_string(d.rows) + " rows; manifest says " + std::to_string(e.rows) +
           " for positions " + std::to_string(e.task_begin) + ".." + std::to_string(e.task_end) +
           " x " + std::to_string(e.views) + " views";
  }
  return "";
}

}  // namespace

std::string quarantine_shard(const std::string& soft_label_dir, const std::string& file,
                             const std::string& reason) {
  if (!is_contained_shard(soft_label_dir, file)) {
    throw UsageError("will not quarantine '" + file + "': it is not a file inside '" +
                     soft_label_dir + "' (a manifest entry must be a shard's own name); fix or "
                     "remove that manifest entry");
  }
  const std::string from = soft_label_dir + "/" + file;
  if (!path_exists(from)) {
    throw RuntimeFailure("cannot quarantine soft-label shard '" + from + "': it does not exist");
  }
  const std::string qdir = soft_label_dir + "/quarantine";
  ensure_dir(qdir);
  const std::string name = base_name(file);
  std::string to = qdir + "/" + name;
  for (int n = 1; path_exists(to) || path_exists(to + ".reason.txt"); ++n) {
    to = qdir + "/" + name + "." + std::to_string(n);
  }
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    const int err = errno;
    throw RuntimeFailure("cannot move '" + from + "' to '" + to + "': " + std::strerror(err));
  }
  atomic_write_file(to + ".reason.txt", "file: " + from + "\nreason: " + reason + "\n");
  fsync_dir(qdir);
  fsync_dir(parent_dir(from));
  return to;
}

std::vector<ManifestEntry> verify_or_quarantine(const std::string& soft_label_dir,
                                                Manifest& manifest) {
  std::vector<ManifestEntry> kept, removed;
  for (const ManifestEntry& e : manifest.shards) {  // copies: manifest intact if we throw
    if (!is_contained_shard(soft_label_dir, e.file)) {
      // Someone edited the manifest: the entry is dropped, its path never touched.
      log_warn("manifest entry '", e.file, "' is not a shard inside ", soft_label_dir,
               " (a path, '..' or a symlink leading out); ignored, left untouched; will relabel");
      removed.push_back(e);
      continue;
    }
    bool missing = false;
    const std::string problem = shard_problem(soft_label_dir, manifest, e, &missing);
    if (problem.empty()) {
      kept.push_back(e);
      continue;
    }
    if (missing) {
      log_warn("soft-label shard ", soft_label_dir, "/", e.file, " is missing; will relabel");
    } else {
      const std::string to = quarantine_shard(soft_label_dir, e.file, problem);
      log_warn("soft-label shard ", soft_label_dir, "/", e.file, " moved to ", to, ": ", problem,
               "; will relabel");
    }
    removed.push_back(e);
  }
  manifest.shards = std::move(kept);
  return removed;
}

}  // namespace condenser
