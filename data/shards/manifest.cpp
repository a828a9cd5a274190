#include "data/shards/manifest.h"

#include <nlohmann/json.hpp>

#include "core/bounded_read.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/path_inside.h"
#include "core/sha256.h"
#include "data/shards/shard_format.h"

namespace condenser {
namespace {

using nlohmann::json;

template <typename T>
T field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) {
    throw UsageError(where + ": missing field '" + key + "'");
  }
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw UsageError(where + ": field '" + key + "' has the wrong type (" + j.at(key).type_name() +
                     ")");
  }
}

}  // namespace

Manifest load_manifest(const std::string& path) {
  // UsageError when missing, not a regular file or past the limit.
  const std::string text = read_file_at_most(path, kMaxManifestBytes, "manifest");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw UsageError("manifest '" + path + "' is not valid JSON: " + e.what());
  }
  const std::string where = "manifest '" + path + "'";
  Manifest m;
  m.schema_version = field<int>(j, "schema_version", where);
  m.teacher_sha256 = field<std::string>(j, "teacher_sha256", where);
  m.dataset_fingerprint = field<std::string>(j, "dataset_fingerprint", where);
  m.num_classes = field<int>(j, "num_classes", where);
  m.temperature = field<double>(j, "temperature", where);
  m.dtype = field<std::string>(j, "dtype", where);
  m.total_rows = field<int64_t>(j, "total_rows", where);
  // Optional: manifests written before top-k shards existed lack them.
  if (j.contains("format")) m.format = field<std::string>(j, "format", where);
  if (j.contains("top_k")) m.top_k = field<int>(j, "top_k", where);
  if (j.contains("views")) m.views = field<int>(j, "views", where);
  if (j.contains("positions")) m.positions = field<int>(j, "positions", where);
  if (j.contains("flip")) m.flip = field<bool>(j, "flip", where);
  if (j.contains("teacher_precision")) {
    m.teacher_precision = field<std::string>(j, "teacher_precision", where);
  }
  if (m.format != "full" && m.format != "topk") {
    throw UsageError(where + ": unknown format '" + m.format + "' (expected full or topk)");
  }
  if ((m.format == "topk") != (m.top_k > 0) || m.top_k < 0) {
    throw UsageError(where + ": top_k " + std::to_string(m.top_k) + " does not fit format '" +
                     m.format + "' (topk needs top_k > 0, full needs 0)");
  }
  if (m.views < 1) throw UsageError(where + ": views must be >= 1, got " + std::to_string(m.views));
  if (m.positions < 0 || (m.positions > 0 && m.format != "topk")) {
    throw UsageError(where + ": positions " + std::to_string(m.positions) +
                     " needs format topk and must be >= 0");
  }
  LogitDType unused;
  TopKValueFormat value_format;
  const bool topk_format = m.format == "topk" && parse_value_format(m.dtype, &value_format);
  if (!parse_logit_dtype(m.dtype, &unused) && !topk_format) {
    throw UsageError(where + ": unknown dtype '" + m.dtype +
                     "' (expected float32 or float16; top-k also bfloat16 or int8)");
  }
  const json shards = field<json>(j, "shards", where);
  if (!shards.is_array()) throw UsageError(where + ": field 'shards' is not an array");
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string at = where + " shards[" + std::to_string(i) + "]";
    const json& s = shards[i];
    ManifestEntry e;
    e.file = field<std::string>(s, "file", at);
    e.task_begin = field<int64_t>(s, "task_begin", at);
    e.task_end = field<int64_t>(s, "task_end", at);
    e.views = field<int>(s, "views", at);
    e.rows = field<int64_t>(s, "rows", at);
    e.sha256 = field<std::string>(s, "sha256", at);
    m.shards.push_back(std::move(e));
  }
  return m;
}

void save_manifest(const std::string& path, const Manifest& m) {
  json shards = json::array();
  for (const ManifestEntry& e : m.shards) {
    shards.push_back({{"file", e.file},
                      {"task_begin", e.task_begin},
                      {"task_end", e.task_end},
                      {"views", e.views},
                      {"rows", e.rows},
                      {"sha256", e.sha256}});
  }
  json j = {{"schema_version", m.schema_version},
                  {"teacher_sha256", m.teacher_sha256},
                  {"dataset_fingerprint", m.dataset_fingerprint},
                  {"num_classes", m.num_classes},
                  {"temperature", m.temperature},
                  {"dtype", m.dtype},
                  {"total_rows", m.total_rows},
                  {"format", m.format},
                  {"top_k", m.top_k},
                  {"views", m.views},
                  {"teacher_precision", m.teacher_precision},
                  {"flip", m.flip},
                  {"shards", shards}};
  if (m.positions > 0) j["positions"] = m.positions;  // older manifests stay as they were
  atomic_write_file(path, j.dump(2) + "\n");
}

bool is_contained_shard(const std::string& soft_label_dir, const std::string& file) {
  return is_single_component(file) && resolves_inside(soft_label_dir, file);
}

void verify_shard(const std::string& soft_label_dir, const ManifestEntry& entry) {
  if (!is_contained_shard(soft_label_dir, entry.file)) {
    throw UsageError("manifest entry '" + entry.file + "' is not a shard inside '" +
                     soft_label_dir + "'; run with --relabel");
  }
  const std::string path = soft_label_dir + "/" + entry.file;
  if (!path_exists(path)) {
    throw UsageError("soft-label shard '" + path +
                     "' is listed in the manifest but missing; run with --relabel");
  }
  const std::string actual = sha256_file(path);
  if (actual != entry.sha256) {
    throw UsageError("soft-label shard '" + path + "' is corrupt: expected sha256 " + entry.sha256 +
                     " (from the manifest), actual " + actual +
                     "; run with --relabel or delete the shard");
  }
}

}  // namespace condenser
