#include "data/shards/shard_inspect.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "core/bounded_read.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/shards/shard_reader.h"

namespace condenser {
namespace {

std::string short_hash(const std::string& h) { return h.empty() ? "-" : h.substr(0, 12); }

const char* checksum_name(ChecksumState s) {
  switch (s) {
    case ChecksumState::kOk:
      return "ok";
    case ChecksumState::kBad:
      return "BAD";
    default:
      return "MISSING";
  }
}

// Problems where the shard's own attributes disagree with its manifest entry.
void compare_with_manifest(const ShardData& d, const ManifestEntry& e, const Manifest& m,
                           ShardReport* out) {
  ShardReport& r = *out;
  if (d.rows != e.rows) {
    r.problems.push_back(e.file + ": has " + std::to_string(d.rows) + " rows, manifest says " +
                         std::to_string(e.rows));
  }
  if (e.rows != (e.task_end - e.task_begin) * e.views) {
    r.problems.push_back(e.file + ": manifest rows " + std::to_string(e.rows) +
                         " != positions x views");
  }
  if (d.meta.teacher_sha256 != m.teacher_sha256) {
    r.problems.push_back(e.file + ": labelled by teacher " + short_hash(d.meta.teacher_sha256) +
                         ", manifest teacher is " + short_hash(m.teacher_sha256));
  }
  if (r.dtype != m.dtype) r.problems.push_back(e.file + ": dtype " + r.dtype + " != " + m.dtype);
  if (d.meta.num_classes != m.num_classes) {
    r.problems.push_back(e.file + ": num_classes " + std::to_string(d.meta.num_classes) +
                         " != " + std::to_string(m.num_classes));
  }
  if (d.meta.positions != m.positions) {
    r.problems.push_back(e.file + ": positions " + std::to_string(d.meta.positions) +
                         " != manifest's " + std::to_string(m.positions));
  }
  if (d.meta.top_k != m.top_k) {
    r.problems.push_back(e.file + ": top_k " + std::to_string(d.meta.top_k) + " != manifest's " +
                         std::to_string(m.top_k) + " (format " + m.format + ")");
  }
  if (d.meta.dataset_fingerprint != m.dataset_fingerprint) {
    r.problems.push_back(e.file + ": dataset fingerprint '" + d.meta.dataset_fingerprint +
                         "' != manifest's '" + m.dataset_fingerprint + "'");
  }
}

// Checks one shard; appends its readable (sample_index, view) pairs to `pairs`.
ShardReport inspect_one(const ShardInspection& in, const ManifestEntry& e,
                        std::vector<std::pair<int64_t, int32_t>>* pairs) {
  ShardReport r;
  r.entry = e;
  if (!is_contained_shard(in.soft_label_dir, e.file)) {
    r.problems.push_back(e.file + ": not a shard inside " + in.soft_label_dir +
                         " (a path, '..' or a symlink leading out); not opened");
    return r;
  }
  const std::string path = in.soft_label_dir + "/" + e.file;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    r.problems.push_back(e.file + ": file is missing");
    return r;
  }
  r.file_bytes = static_cast<uint64_t>(st.st_size);
  try {
    r.actual_sha256 = sha256_file(path);
  } catch (const Error& err) {
    r.problems.push_back(e.file + ": cannot hash: " + err.what());
    return r;
  }
  r.checksum = r.actual_sha256 == e.sha256 ? ChecksumState::kOk : ChecksumState::kBad;
  if (r.checksum == ChecksumState::kBad) {
    r.problems.push_back(e.file + ": sha256 mismatch: expected " + e.sha256 + ", actual " +
                         r.actual_sha256);
  }
  ShardData d;
  try {
    d = read_shard_index(path);
  } catch (const Error& err) {
    r.problems.push_back(e.file + ": unreadable: " + err.what());
    return r;
  }
  r.file_rows = d.rows;
  r.teacher_sha256 = d.meta.teacher_sha256;
  r.dtype = d.meta.top_k > 0 ? value_format_name(d.meta.value_format) : logit_dtype_name(d.dtype);
  r.top_k = d.meta.top_k;
  r.positions = d.meta.positions;
  r.temperature = d.meta.temperature;
  if (d.rows > 0)
    r.bytes_per_sample = static_cast<double>(r.file_bytes) / static_cast<double>(d.rows);
  r.bytes_per_token = r.bytes_per_sample / std::max(1, r.positions);
  compare_with_manifest(d, e, in.manifest, &r);
  int64_t bad_views = 0;
  for (int64_t i = 0; i < d.rows; ++i) {
    if (d.view[i] < 0 || d.view[i] >= e.views) ++bad_views;
    pairs->emplace_back(d.sample_index[i], d.view[i]);
  }
  if (bad_views > 0) {
    r.problems.push_back(e.file + ": " + std::to_string(bad_views) +
                         " rows have a view outside 0.." + std::to_string(e.views - 1));
  }
  return r;
}

// Uncovered position ranges; overlaps are reported as problems.
void check_positions(ShardInspection* in) {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  bool uniform_views = true;
  for (const ManifestEntry& e : in->manifest.shards) {
    ranges.emplace_back(e.task_begin, e.task_end);
    uniform_views = uniform_views && e.views == in->manifest.shards.front().views;
  }
  std::sort(ranges.begin(), ranges.end());
  int64_t covered = 0;  // positions [0, covered) are accounted for
  for (const auto& [b, e] : ranges) {
    if (b > covered) in->position_gaps.emplace_back(covered, b);
    if (b < covered) {
      in->problems.push_back("positions " + std::to_string(b) + ".." +
                             std::to_string(std::min(e, covered)) + " are in more than one shard");
    }
    covered = std::max(covered, e);
  }
  // Positions expected = total_rows / views: the shards' views when they all
  // agree, else (or with no shard yet) the manifest's.
  const Manifest& m = in->manifest;
  const int views = uniform_views && !m.shards.empty() ? m.shards.front().views : m.views;
  if (views > 0 && m.total_rows / views > covered) {
    in->position_gaps.emplace_back(covered, m.total_rows / views);
  }
  for (const auto& [b, e] : in->position_gaps) {
    in->problems.push_back("positions " + std::to_string(b) + ".." + std::to_string(e) +
                           " are in no shard");
  }
}

// The "reason: ..." line of a quarantined shard's note ("" when unreadable).
std::string quarantine_reason(const std::string& note) {
  struct stat st {};
  if (::lstat(note.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";  // no symlink out
  std::string text;
  try {
    text = read_file_at_most(note, 64 * 1024, "quarantine note");
  } catch (const Error&) {
    return "";
  }
  const auto at = text.find("reason: ");
  if (at == std::string::npos) return "";
  const auto end = text.find('\n', at);
  return text.substr(at + 8, end == std::string::npos ? std::string::npos : end - at - 8);
}

// What soft_labels/quarantine/ holds: every file but the .reason.txt notes.
std::vector<QuarantinedShard> list_quarantine(const std::string& dir) {
  std::vector<QuarantinedShard> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  const std::string note = ".reason.txt";
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." ||
        (name.size() > note.size() && name.compare(name.size() - note.size(), note.size(), note) == 0)) {
      continue;
    }
    QuarantinedShard q;
    q.file = name;
    struct stat st {};
    if (::lstat((dir + "/" + name).c_str(), &st) == 0) q.bytes = static_cast<uint64_t>(st.st_size);
    q.reason = quarantine_reason(dir + "/" + name + note);
    out.push_back(std::move(q));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const QuarantinedShard& a, const QuarantinedShard& b) { return a.file < b.file; });
  return out;
}

std::string format_quarantine(const ShardInspection& in) {
  if (in.quarantined.empty()) {
    return "quarantine: " + std::string(path_exists(in.quarantine_dir) ? "empty" : "none") + "\n";
  }
  std::string out = "quarantine: " + std::to_string(in.quarantined.size()) + " file(s) in " +
                    in.quarantine_dir +
                    ", moved out of use by an earlier run (not read; delete them when done):\n";
  for (const QuarantinedShard& q : in.quarantined) {
    out += "  " + q.file + " (" + std::to_string(q.bytes) + " bytes): " +
           (q.reason.empty() ? "no reason recorded" : q.reason) + "\n";
  }
  return out;
}

}  // namespace

ShardInspection inspect_shards(const std::string& dir) {
  ShardInspection in;
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (path_exists(d + "/manifest.json")) {
    in.run_dir = d;
    in.soft_label_dir = d + "/soft_labels";
  } else if (path_exists(parent_dir(d) + "/manifest.json")) {
    in.run_dir = parent_dir(d);
    in.soft_label_dir = d;
  } else {
    throw UsageError("no manifest.json in '" + dir +
                     "' or its parent; pass a run directory or its soft_labels directory");
  }
  in.manifest_path = in.run_dir + "/manifest.json";
  in.manifest = load_manifest(in.manifest_path);

  std::vector<std::pair<int64_t, int32_t>> pairs;
  for (const ManifestEntry& e : in.manifest.shards) {
    in.shards.push_back(inspect_one(in, e, &pairs));
    for (const std::string& p : in.shards.back().problems) in.problems.push_back(p);
  }
  check_positions(&in);
  in.quarantine_dir = in.soft_label_dir + "/quarantine";
  in.quarantined = list_quarantine(in.quarantine_dir);

  // Sorting beats a hash set here: 12 bytes per row and no per-node overhead.
  std::sort(pairs.begin(), pairs.end());
  const auto unique_end = std::unique(pairs.begin(), pairs.end());
  in.distinct_pairs = unique_end - pairs.begin();
  in.duplicate_pairs = static_cast<int64_t>(pairs.size()) - in.distinct_pairs;
  in.expected_pairs = in.manifest.total_rows;
  in.missing_pairs = std::max<int64_t>(0, in.expected_pairs - in.distinct_pairs);
  if (in.duplicate_pairs > 0) {
    in.problems.push_back(std::to_string(in.duplicate_pairs) +
                          " rows repeat a (sample_index, view) pair already labelled");
  }
  if (in.missing_pairs > 0) {
    in.problems.push_back(std::to_string(in.missing_pairs) + " of " +
                          std::to_string(in.expected_pairs) +
                          " (sample_index, view) pairs are not labelled");
  }
  in.ok = in.problems.empty();
  return in;
}

std::string format_inspection(const ShardInspection& in) {
  const Manifest& m = in.manifest;
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line),
                "manifest %s\n  teacher %s  dataset %s  classes %d  T %g  dtype %s  format %s"
                "  top_k %d  views %d  positions %d  rows %lld  shards %zu\n\n",
                in.manifest_path.c_str(), short_hash(m.teacher_sha256).c_str(),
                short_hash(m.dataset_fingerprint).c_str(), m.num_classes, m.temperature,
                m.dtype.c_str(), m.format.c_str(), m.top_k, m.views, m.positions,
                static_cast<long long>(m.total_rows), m.shards.size());
  out += line;
  std::snprintf(line, sizeof(line), "%-24s %-17s %5s %9s %12s %5s %11s %-8s %-12s %-8s %5s %6s\n",
                "file", "positions", "views", "rows", "bytes/sample", "P", "bytes/token",
                "checksum", "teacher", "format", "top_k", "T");
  out += line;
  for (const ShardReport& r : in.shards) {
    const std::string positions =
        std::to_string(r.entry.task_begin) + ".." + std::to_string(r.entry.task_end);
    const std::string rows = r.file_rows < 0 ? "?" : std::to_string(r.file_rows);
    const bool read = r.file_rows >= 0;
    char temp[32] = "-", top_k[16] = "-";
    if (read) std::snprintf(temp, sizeof(temp), "%g", r.temperature);
    if (read) std::snprintf(top_k, sizeof(top_k), "%d", r.top_k);
    std::snprintf(line, sizeof(line),
                  "%-24s %-17s %5d %9s %12.1f %5d %11.1f %-8s %-12s %-8s %5s %6s\n",
                  r.entry.file.c_str(), positions.c_str(), r.entry.views, rows.c_str(),
                  r.bytes_per_sample, r.positions, r.bytes_per_token, checksum_name(r.checksum),
                  read ? short_hash(r.teacher_sha256).c_str() : "-", read ? r.dtype.c_str() : "-",
                  top_k, temp);
    out += line;
  }
  std::snprintf(
      line, sizeof(line),
      "\ncoverage: %lld distinct (sample_index, view) pairs of %lld expected; "
      "%lld duplicated, %lld missing\n",
      static_cast<long long>(in.distinct_pairs), static_cast<long long>(in.expected_pairs),
      static_cast<long long>(in.duplicate_pairs), static_cast<long long>(in.missing_pairs));
  out += line;
  out += format_quarantine(in);
  for (const std::string& p : in.problems) out += "  problem: " + p + "\n";
  out += in.ok ? "OK\n" : "PROBLEMS: " + std::to_string(in.problems.size()) + "\n";
  return out;
}

}  // namespace condenser
