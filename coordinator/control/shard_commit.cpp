#include "coordinator/control/shard_commit.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"

namespace condenser {

ShardCommitter::ShardCommitter(std::string soft_label_dir, std::string manifest_path,
                               std::string table_path, Manifest manifest, int views,
                               nlohmann::json job)
    : dir_(std::move(soft_label_dir)),
      manifest_path_(std::move(manifest_path)),
      table_path_(std::move(table_path)),
      manifest_(std::move(manifest)),
      views_(views),
      job_(std::move(job)) {}

std::string ShardCommitter::commit(const Lease& lease, const LabelTask& task,
                                   const msg::TaskDone& done) {
  const std::string attempt = dir_ + "/" + lease.attempt_file;
  if (!path_exists(attempt)) return "attempt file " + lease.attempt_file + " is missing";
  const int64_t rows = (task.end - task.begin) * views_;
  if (done.rows != rows) return "expected " + std::to_string(rows) + " rows";
  const std::string sha = sha256_file(attempt);
  if (done.sha256 != sha) return "sha256 of " + lease.attempt_file + " does not match the worker's";
  const std::string final_path = dir_ + "/" + task.file;
  if (std::rename(attempt.c_str(), final_path.c_str()) != 0) {
    throw RuntimeFailure("cannot rename " + attempt + " to " + final_path + ": " +
                         std::strerror(errno));
  }
  fsync_dir(dir_);
  ManifestEntry entry;
  entry.file = task.file;
  entry.task_begin = task.begin;
  entry.task_end = task.end;
  entry.views = views_;
  entry.rows = rows;
  entry.sha256 = sha;
  manifest_.shards.push_back(std::move(entry));
  save_manifest(manifest_path_, manifest_);
  return "";
}

void ShardCommitter::discard(const std::string& attempt_file) {
  for (const std::string& f : {attempt_file, attempt_file + ".tmp"}) {
    if (::unlink((dir_ + "/" + f).c_str()) == 0) log_debug("coordinator: removed ", f);
  }
}

void ShardCommitter::persist(const TaskTable& table) {
  nlohmann::json saved = table.to_json();
  saved["job"] = job_;
  atomic_write_file(table_path_, saved.dump(1) + "\n");
}

void sweep_stale_attempts(const std::string& soft_label_dir, const TaskTable& table) {
  DIR* d = ::opendir(soft_label_dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(".attempt-", 0) != 0) continue;
    bool live = false;
    for (const Lease& l : table.leases()) {
      live = live || name == l.attempt_file || name == l.attempt_file + ".tmp";
    }
    if (!live) stale.push_back(name);
  }
  ::closedir(d);
  for (const std::string& name : stale) {
    ::unlink((soft_label_dir + "/" + name).c_str());
    log_info("coordinator: removed stale attempt ", name);
  }
}

}  // namespace condenser
