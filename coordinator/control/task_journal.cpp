#include "coordinator/control/task_journal.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <unordered_map>

#include "core/files.h"
#include "core/log.h"

namespace condenser {
namespace {

constexpr const char* kMagic = "condenser-tasks";

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t sp = s.find(' ', at);
    out.push_back(s.substr(at, sp == std::string::npos ? std::string::npos : sp - at));
    if (sp == std::string::npos) break;
    at = sp + 1;
  }
  return out;
}

// A non-negative decimal that fills the whole field.
bool number(const std::string& field, int64_t* out) {
  if (field.empty()) return false;
  const auto r = std::from_chars(field.data(), field.data() + field.size(), *out);
  return r.ec == std::errc() && r.ptr == field.data() + field.size() && *out >= 0;
}

bool is_sha256(const std::string& s) {
  if (s.size() != 64) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string num(int64_t v) { return std::to_string(v); }

// Where each recovered commit is in JournalRecovery::commits.
using CommitIndex = std::unordered_map<int64_t, size_t>;

// Applies one record to the table; false when it does not make sense here.
bool apply(const std::vector<std::string>& f, TaskTable& table, JournalRecovery& rec,
           CommitIndex& where) {
  const auto tasks = static_cast<int64_t>(table.tasks().size());
  int64_t a = 0, b = 0, c = 0;
  const std::string& k = f[0];
  if (k == "W" && f.size() == 2 && number(f[1], &a)) {
    table.reserve_ids(0, a + 1);
  } else if (k == "L" && f.size() == 4 && number(f[1], &a) && number(f[2], &b) &&
             number(f[3], &c) && b < tasks) {
    table.replay_lease(a, b, c);
  } else if (k == "D" && f.size() == 2 && number(f[1], &a)) {
    table.replay_drop(a);
  } else if (k == "C" && f.size() == 4 && number(f[1], &a) && number(f[2], &b) && b < tasks &&
             is_sha256(f[3])) {
    table.reserve_ids(a + 1, 0);
    if (table.replay_commit(b)) {
      where[b] = rec.commits.size();
      rec.commits.push_back({b, f[3]});
    }
  } else if (k == "O" && f.size() == 2 && number(f[1], &a) && a < tasks) {
    // Un-commits only what this journal committed (a shard found missing at
    // a restart), never a shard the manifest had before.
    const auto it = where.find(a);
    if (it != where.end()) {
      rec.commits[it->second].sha256.clear();
      where.erase(it);
      table.reopen(a);
    } else if (table.state(a) != TaskState::kDone) {
      table.reopen(a);
    }
  } else if (k == "N" && f.size() == 3 && number(f[1], &a) && number(f[2], &b)) {
    table.reserve_ids(a, b);
  } else {
    return false;
  }
  ++rec.records;
  return true;
}

}  // namespace

std::string plan_digest(const std::vector<LabelTask>& tasks) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  const auto mix = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  for (const LabelTask& t : tasks) {
    mix(&t.begin, sizeof t.begin);
    mix(&t.end, sizeof t.end);
    mix(t.file.data(), t.file.size() + 1);
  }
  char out[40];
  std::snprintf(out, sizeof out, "%016llx-%lld", static_cast<unsigned long long>(h),
                static_cast<long long>(tasks.size()));
  return out;
}

std::string TaskJournal::header(int64_t generation) const {
  return std::string(kMagic) + " 1 " + options_.job_digest + " " + plan_ + " " + num(generation);
}

TaskJournal::TaskJournal(JournalOptions options, TaskTable& table, SteadyTime now)
    : options_(std::move(options)), plan_(plan_digest(table.tasks())) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> records;
  log_ = std::make_unique<RecordLog>(options_.path, &records);
  const bool snapshot = replay_snapshot(table);
  replay_journal(table, records);
  if (!recovery_.resumed && snapshot) recovery_.resumed = true;
  table.finish_replay(now);
  std::vector<JournalCommit> kept;  // without the ones reopened later
  for (JournalCommit& c : recovery_.commits) {
    if (!c.sha256.empty()) kept.push_back(std::move(c));
  }
  recovery_.commits = std::move(kept);
  where_.clear();
  recovery_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The snapshot, when it is whole and of this job: true when it was replayed.
bool TaskJournal::replay_snapshot(TaskTable& table) {
  const std::string path = options_.path + ".snapshot";
  if (!path_exists(path)) return false;
  const RecordScan scan = scan_records(read_file(path));
  const auto& p = scan.payloads;
  const std::vector<std::string> head = p.empty() ? std::vector<std::string>{} : split(p[0]);
  const std::vector<std::string> tail = p.empty() ? std::vector<std::string>{} : split(p.back());
  int64_t gen = 0, count = 0;
  const bool whole = scan.dropped_bytes == 0 && p.size() >= 2 && tail.size() == 2 &&
                     tail[0] == "E" && number(tail[1], &count) &&
                     count == static_cast<int64_t>(p.size());
  const bool ours = head.size() == 5 && head[0] == kMagic && head[1] == "1" &&
                    head[2] == options_.job_digest && head[3] == plan_ && number(head[4], &gen);
  if (!whole || !ours) {
    log_warn("journal: ", path, whole ? " belongs to another labelling job" : " is damaged",
             "; not used");
    ::unlink(path.c_str());
    return false;
  }
  for (size_t i = 1; i + 1 < p.size(); ++i) {
    if (!apply(split(p[i]), table, recovery_, where_)) {
      log_warn("journal: ", path, " record ", i, " not understood; snapshot not used");
      ::unlink(path.c_str());
      return false;  // the table may hold part of it: only ids and leases, safe to keep
    }
  }
  generation_ = gen;
  snapshot_bytes_ = scan.good_bytes;
  return true;
}

void TaskJournal::replay_journal(TaskTable& table, const std::vector<std::string>& records) {
  const std::string want = header(generation_);
  if (records.empty() || records[0] != want) {
    // Empty, another job's or plan's, or older than the snapshot (compaction
    // stopped between snapshot and journal): its records are not replayed.
    if (!records.empty()) {
      const std::vector<std::string> h = split(records[0]);
      const bool older =
          h.size() == 5 && h[0] == kMagic && h[2] == options_.job_digest && h[3] == plan_;
      log_info("journal: ", options_.path,
               older ? " is older than its snapshot, which holds its records"
                     : " belongs to another labelling job; not resumed");
    }
    log_->rewrite({want});
    return;
  }
  size_t i = 1;
  for (; i < records.size(); ++i) {
    if (!apply(split(records[i]), table, recovery_, where_)) break;
  }
  if (i < records.size()) {
    log_warn("journal: ", options_.path, " record ", i, " not understood; it and the ",
             records.size() - i - 1, " after it are dropped");
    log_->rewrite(std::vector<std::string>(records.begin(), records.begin() + i));
  }
  recovery_.resumed = true;
}

void TaskJournal::record(const TableEvent& e) {
  using K = TableEvent::Kind;
  switch (e.kind) {
    case K::kLease:
      return log_->append("L " + num(e.lease) + " " + num(e.task) + " " + num(e.worker));
    case K::kDrop:
      return log_->append("D " + num(e.lease));
    case K::kCommit:
      return log_->append("C " + num(e.lease) + " " + num(e.task) + " " + e.sha256);
    case K::kReopen:
      return log_->append("O " + num(e.task));
    case K::kWorker:
      return log_->append("W " + num(e.worker));
  }
}

bool TaskJournal::wants_compaction() const {
  return log_->bytes() >= options_.compact_bytes && log_->bytes() > 2 * snapshot_bytes_;
}

void TaskJournal::compact(const TaskTable& table, const std::vector<JournalCommit>& commits) {
  const auto start = std::chrono::steady_clock::now();
  log_->sync();
  const int64_t gen = generation_ + 1;
  std::vector<std::string> p;
  p.reserve(commits.size() + static_cast<size_t>(table.lease_count()) + 3);
  p.push_back(header(gen));
  p.push_back("N " + num(table.next_lease_id()) + " " + num(table.next_worker_id()));
  for (const Lease& l : table.leases()) {
    p.push_back("L " + num(l.id) + " " + num(l.task) + " " + num(l.worker));
  }
  for (const JournalCommit& c : commits) p.push_back("C 0 " + num(c.task) + " " + c.sha256);
  p.push_back("E " + num(static_cast<int64_t>(p.size()) + 1));
  std::string bytes;
  for (const std::string& r : p) bytes += encode_record(r);
  // Snapshot first: a crash before the journal restarts leaves an older
  // journal, which the snapshot's generation says to skip.
  atomic_write_file(options_.path + ".snapshot", bytes);
  snapshot_bytes_ = bytes.size();
  generation_ = gen;
  log_->rewrite({header(gen)});
  log_info("journal: compacted into ", options_.path, ".snapshot (", commits.size(), " commit(s), ",
           table.lease_count(), " lease(s), ", bytes.size(), " bytes) in ",
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), " s");
}

void TaskJournal::remove() {
  ::unlink(options_.path.c_str());
  ::unlink((options_.path + ".snapshot").c_str());
}

}  // namespace condenser
