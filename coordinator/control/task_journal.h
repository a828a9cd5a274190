#pragma once
// The durable form of the task table while a labelling stage runs: an
// append-only, checksummed journal (record_log.h), RUN_DIR/tasks.journal,
// with one record per change (lease granted, lease dropped, task committed
// with its shard's checksum, task reopened, worker id given), and a snapshot
// beside it, tasks.journal.snapshot, that compaction writes when the journal
// has outgrown it. A commit costs one short append whatever the number of
// tasks; the caller syncs once for every commit of a turn (group commit)
// before any of them is acknowledged.
//
// Record payloads (text, one line each, fields separated by one space):
//   H condenser-tasks 1 JOB PLAN GEN   header: job digest, plan digest, generation
//   W WORKER | L LEASE TASK WORKER | D LEASE | C LEASE TASK SHA256 | O TASK
//   N NEXT_LEASE NEXT_WORKER | E COUNT  (snapshot only: ids, end marker)
// A restart replays the snapshot, then the journal of the same generation,
// into the table: tasks committed come back as `recovered` commits, leases as
// restored leases. A journal of another job or plan is not resumed; a record
// that is torn, fails its checksum or does not make sense (a task out of
// range, a malformed field) ends the replay there and is cut off the file.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "coordinator/control/record_log.h"
#include "coordinator/control/task_table.h"

namespace condenser {

struct JournalCommit {
  int64_t task = 0;
  std::string sha256;
};

struct JournalOptions {
  std::string path;        // the journal; the snapshot is path + ".snapshot"
  std::string job_digest;  // what the job is (a digest of its label spec)
  // Compact once the journal is this large and larger than twice the
  // snapshot: commits stay O(1) amortised, a restart reads little.
  uint64_t compact_bytes = uint64_t{64} << 20;
};

struct JournalRecovery {
  bool resumed = false;                // a journal of this job was replayed
  int64_t records = 0;                 // records replayed
  double seconds = 0.0;                // time to read and replay them
  std::vector<JournalCommit> commits;  // tasks it committed (not done before), in order
};

// Digest of the task list (ranges and files): a journal replays only onto
// the plan it was written for.
std::string plan_digest(const std::vector<LabelTask>& tasks);

class TaskJournal {
 public:
  // Opens (or creates) the journal and replays what belongs to this job and
  // plan into `table` (finish_replay(now) included).
  TaskJournal(JournalOptions options, TaskTable& table, SteadyTime now);

  const JournalRecovery& recovery() const { return recovery_; }
  void record(const TableEvent& event);
  void sync() { log_->sync(); }
  bool dirty() const { return log_->dirty(); }
  uint64_t bytes() const { return log_->bytes(); }
  bool wants_compaction() const;
  // Writes the snapshot of `table` and `commits` (every commit known, the
  // recovered ones included) and starts an empty journal of the next generation.
  void compact(const TaskTable& table, const std::vector<JournalCommit>& commits);
  // Labelling finished (the manifest has everything): removes both files.
  void remove();
  int64_t generation() const { return generation_; }

 private:
  std::string header(int64_t generation) const;
  bool replay_snapshot(TaskTable& table);
  void replay_journal(TaskTable& table, const std::vector<std::string>& records);

  JournalOptions options_;
  std::string plan_;
  std::unique_ptr<RecordLog> log_;
  int64_t generation_ = 0;
  uint64_t snapshot_bytes_ = 0;
  JournalRecovery recovery_;
  std::unordered_map<int64_t, size_t> where_;  // task -> recovery_.commits index, while replaying
};

}  // namespace condenser
