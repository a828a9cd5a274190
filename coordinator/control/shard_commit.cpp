#include "coordinator/control/shard_commit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"

namespace condenser {

std::string job_digest(const std::string& spec_json) {
  return sha256_hex(spec_json.data(), spec_json.size());
}

ShardCommitter::ShardCommitter(CommitterSetup setup, Manifest manifest, TaskTable& table,
                               SteadyTime now)
    : setup_(std::move(setup)), manifest_(std::move(manifest)), table_(table) {
  if (!setup_.resume) {
    ::unlink(setup_.journal_path.c_str());
    ::unlink((setup_.journal_path + ".snapshot").c_str());
  }
  JournalOptions o;
  o.path = setup_.journal_path;
  o.job_digest = setup_.job_digest;
  o.compact_bytes = setup_.compact_bytes;
  journal_ = std::make_unique<TaskJournal>(o, table, now);
  recover(table);
}

// The journal's commits join the manifest; a shard that is not there (lost
// with the machine before its rename reached the disk) is labelled again.
void ShardCommitter::recover(TaskTable& table) {
  std::unordered_set<std::string> listed;
  for (const ManifestEntry& e : manifest_.shards) listed.insert(e.file);
  int64_t missing = 0;
  for (const JournalCommit& c : journal_->recovery().commits) {
    const LabelTask& task = table.tasks()[static_cast<size_t>(c.task)];
    if (setup_.check_files && !(is_contained_shard(setup_.soft_label_dir, task.file) &&
                                path_exists(setup_.soft_label_dir + "/" + task.file))) {
      ++missing;
      table.reopen(c.task);
      journal_->record({TableEvent::Kind::kReopen, 0, c.task, 0, ""});
      continue;
    }
    commits_.push_back(c);
    if (!listed.insert(task.file).second) continue;
    ManifestEntry entry;
    entry.file = task.file;
    entry.task_begin = task.begin;
    entry.task_end = task.end;
    entry.views = setup_.views;
    entry.rows = (task.end - task.begin) * setup_.views;
    entry.sha256 = c.sha256;
    manifest_.shards.push_back(std::move(entry));
  }
  const JournalRecovery& r = journal_->recovery();
  if (r.resumed) {
    log_info("coordinator: resumed the task table from ", setup_.journal_path, " (", r.records,
             " records in ", r.seconds, " s: ", commits_.size(), " shard(s) committed, ",
             table.count(TaskState::kLeased),
             " lease(s) of the previous coordinator, kept only if their workers renew them "
             "before another worker asks for work)");
  }
  if (missing > 0) log_warn("coordinator: ", missing, " journalled shard(s) missing; relabelling");
}

std::string ShardCommitter::commit(const Lease& lease, const LabelTask& task,
                                   const msg::TaskDone& done) {
  const int64_t rows = (task.end - task.begin) * setup_.views;
  if (done.rows != rows) return "expected " + std::to_string(rows) + " rows";
  std::string sha = done.sha256;
  if (setup_.check_files) {
    const std::string attempt = setup_.soft_label_dir + "/" + lease.attempt_file;
    if (!path_exists(attempt)) return "attempt file " + lease.attempt_file + " is missing";
    sha = sha256_file(attempt);
    if (done.sha256 != sha) {
      return "sha256 of " + lease.attempt_file + " does not match the worker's";
    }
    const std::string final_path = setup_.soft_label_dir + "/" + task.file;
    if (std::rename(attempt.c_str(), final_path.c_str()) != 0) {
      throw RuntimeFailure("cannot rename " + attempt + " to " + final_path + ": " +
                           std::strerror(errno));
    }
  } else if (sha.size() != 64) {
    return "sha256 must be 64 hex digits";
  }
  ManifestEntry entry;
  entry.file = task.file;
  entry.task_begin = task.begin;
  entry.task_end = task.end;
  entry.views = setup_.views;
  entry.rows = rows;
  entry.sha256 = sha;
  manifest_.shards.push_back(std::move(entry));
  return "";
}

void ShardCommitter::discard(const std::string& attempt_file) {
  if (!setup_.check_files) return;
  for (const std::string& f : {attempt_file, attempt_file + ".tmp"}) {
    if (::unlink((setup_.soft_label_dir + "/" + f).c_str()) == 0) {
      log_debug("coordinator: removed ", f);
    }
  }
}

ChunkStored ShardCommitter::receive(const std::string& attempt_file, const msg::ShardChunk& chunk) {
  const auto size = static_cast<int64_t>(chunk.data.size());
  if (!setup_.check_files) return {chunk.offset + size, size};
  const std::string path = setup_.soft_label_dir + "/" + attempt_file;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw RuntimeFailure("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  const int64_t before = st.st_size;
  int64_t held = before;
  std::string failure;
  if (held > chunk.size) {
    ::close(fd);
    throw ProtocolError("shard_chunk: a file of " + std::to_string(chunk.size) + " bytes, but " +
                        std::to_string(held) + " were received already");
  }
  if (chunk.offset == held && !chunk.data.empty()) {
    size_t done = 0;
    while (done < chunk.data.size() && failure.empty()) {
      const ssize_t n = ::write(fd, chunk.data.data() + done, chunk.data.size() - done);
      if (n < 0 && errno != EINTR) failure = std::strerror(errno);
      if (n > 0) done += static_cast<size_t>(n);
    }
    held += static_cast<int64_t>(done);
    // Durable before the commit renames it into place.
    if (failure.empty() && held == chunk.size && ::fdatasync(fd) != 0) failure = std::strerror(errno);
  }
  ::close(fd);
  if (!failure.empty()) throw RuntimeFailure("cannot write " + path + ": " + failure);
  return {held, held - before};
}

void ShardCommitter::record(const TableEvent& event) {
  journal_->record(event);
  if (event.kind == TableEvent::Kind::kCommit) commits_.push_back({event.task, event.sha256});
  if (journal_->wants_compaction()) {
    // The rename of every commit so far reaches the disk before the
    // snapshot that lists it replaces the journal records.
    if (setup_.check_files) fsync_dir(setup_.soft_label_dir);
    journal_->compact(table_, commits_);
  }
}

void ShardCommitter::save_manifest_file() const { save_manifest(setup_.manifest_path, manifest_); }

void ShardCommitter::finish() {
  journal_->sync();
  if (setup_.check_files) fsync_dir(setup_.soft_label_dir);
  save_manifest_file();
  journal_->remove();
}

void sweep_stale_attempts(const std::string& soft_label_dir, const TaskTable& table) {
  std::unordered_set<std::string> live;
  for (const Lease& l : table.leases()) {
    live.insert(l.attempt_file);
    live.insert(l.attempt_file + ".tmp");
  }
  DIR* d = ::opendir(soft_label_dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(".attempt-", 0) == 0 && live.count(name) == 0) stale.push_back(name);
  }
  ::closedir(d);
  for (const std::string& name : stale) {
    ::unlink((soft_label_dir + "/" + name).c_str());
    log_info("coordinator: removed stale attempt ", name);
  }
}

}  // namespace condenser
