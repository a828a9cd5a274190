#pragma once
// The file side of the coordinator (ControlEffects for the real run
// directory): store the attempt files uploading workers send, commit a
// worker's attempt as the task's shard (checksum and row count checked,
// renamed into place), remove stale attempts, and journal every change of
// the task table (task_journal.h, RUN_DIR/tasks.journal).
//
// A commit costs the same whatever the number of tasks: rename, one journal
// append, and a share of one fdatasync per turn of the io loop (the server
// acknowledges only after it). manifest.json, the readable contract, is
// written when labelling starts (reused and recovered shards) and when it
// ends or stops; in between the journal holds the commits since (a
// manifest of every commit at each compaction would stall the io thread
// for seconds at half a million shards). A crash after the rename and before
// the commit record leaves a shard nothing lists: it is labelled again.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/control/control_handler.h"
#include "coordinator/control/task_journal.h"
#include "data/shards/manifest.h"

namespace condenser {

struct CommitterSetup {
  std::string soft_label_dir;
  std::string manifest_path;  // RUN_DIR/manifest.json
  std::string journal_path;   // RUN_DIR/tasks.journal
  std::string job_digest;     // a journal resumes only for the same job (job_digest())
  int views = 1;
  // False (the control benchmark's dry commits): no shard file is checked
  // or moved; the journal and the manifest are written as for real ones.
  bool check_files = true;
  // False (--relabel): a journal left by an earlier coordinator is removed,
  // not replayed.
  bool resume = true;
  uint64_t compact_bytes = uint64_t{64} << 20;
};

// The digest a journal is tied to: SHA-256 of the label spec's JSON text.
std::string job_digest(const std::string& spec_json);

class ShardCommitter : public ControlEffects {
 public:
  // `manifest` lists the shards kept from earlier runs (those tasks are done
  // in `table`). Opens the journal, replays a previous coordinator's into
  // `table`, and adds the shards it committed to the manifest; one whose
  // file is missing goes back to pending.
  ShardCommitter(CommitterSetup setup, Manifest manifest, TaskTable& table, SteadyTime now);

  std::string commit(const Lease& lease, const LabelTask& task, const msg::TaskDone& done) override;
  void discard(const std::string& attempt_file) override;
  // Appends to soft_label_dir/attempt_file (fdatasync once complete). Dry
  // commits (check_files false) store nothing and count every byte as held.
  ChunkStored receive(const std::string& attempt_file, const msg::ShardChunk& chunk) override;
  void record(const TableEvent& event) override;
  void sync() override { journal_->sync(); }

  const Manifest& manifest() const { return manifest_; }
  const JournalRecovery& recovery() const { return journal_->recovery(); }
  // Writes manifest.json (atomically) with every shard committed so far.
  void save_manifest_file() const;
  // Labelling ended (or stopped): manifest.json written, the journal removed.
  void finish();

 private:
  void recover(TaskTable& table);
  CommitterSetup setup_;
  Manifest manifest_;
  TaskTable& table_;
  std::unique_ptr<TaskJournal> journal_;
  std::vector<JournalCommit> commits_;  // every commit the journal knows, for snapshots
};

// Removes attempt files (".attempt-*") in `soft_label_dir` that no lease in
// `table` still writes: leftovers of workers or a coordinator that died.
void sweep_stale_attempts(const std::string& soft_label_dir, const TaskTable& table);

}  // namespace condenser
