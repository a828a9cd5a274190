#pragma once
// The coordinator's task table: which labelling tasks are pending, leased (to
// which worker, until when) or done. Pure state, no I/O and no clock of its
// own: every call takes `now`, so lease expiry is unit-tested without waiting.
//
// Exactly-once: a task is done after one accepted completion; a completion is
// accepted only from the task's current, unexpired lease. Anything else (an
// expired lease, a lease the task was taken from after its worker vanished, a
// task done by someone else) is stale: the caller discards that attempt's file.
// Tasks are protocol/label_task.h's LabelTask (`file`: the shard it commits as).
//
// Every operation costs O(log n) or less in the number of tasks and leases
// (a million tasks, ten thousand workers): pending tasks are found through a
// cursor plus a set of tasks that went back, leases are indexed by id, by
// deadline, by worker and by task, and the counts per state are kept.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/label_task.h"

namespace condenser {

using SteadyTime = std::chrono::steady_clock::time_point;

enum class TaskState { kPending, kLeased, kDone };

struct Lease {
  int64_t id = 0;            // unique over the table's life, restarts included
  int64_t task = 0;          // index into the table
  int64_t worker = 0;        // worker id holding it
  SteadyTime deadline;       // renewed by heartbeats
  std::string attempt_file;  // where this attempt writes (removed if it is stale)
  // Restored from the journal (its worker belonged to a coordinator that
  // died) or orphaned (its uploading worker's connection dropped), and not
  // renewed since: a worker asking for work while nothing is pending may
  // take its task.
  bool restored = false;
};

// Attempt files of lease `id` start with this (".attempt-000042-").
std::string attempt_prefix(int64_t lease_id);

enum class Completion { kCommitted, kStale };

// One change of the table as the journal stores it (task_journal.h): the
// control handler reports each one it makes.
struct TableEvent {
  enum class Kind {
    kLease,   // lease `lease` of `task` granted to `worker`
    kDrop,    // lease `lease` ended, its task pending again
    kCommit,  // lease `lease` committed `task`, shard checksum `sha256`
    kReopen,  // `task` pending again (its commit was rejected)
    kWorker,  // worker id `worker` given out
  };
  Kind kind = Kind::kLease;
  int64_t lease = 0, task = 0, worker = 0;
  std::string sha256;
};

class TaskTable {
 public:
  TaskTable(std::vector<LabelTask> tasks, std::chrono::milliseconds lease_duration);

  // Leases the first pending task to `worker` (after expiring overdue leases);
  // with none pending, the task of a restored lease nobody renewed (that
  // lease is superseded: see take_superseded). nullopt when neither exists.
  std::optional<Lease> lease(int64_t worker, SteadyTime now);

  // Restored leases whose task lease() gave to another worker since the last
  // call (their attempt files are stale).
  std::vector<Lease> take_superseded() { return std::exchange(superseded_, {}); }

  // Pushes the deadline of `lease_id` to now + lease duration and records
  // `worker` as its holder (a worker that reconnected, e.g. to a restarted
  // coordinator, keeps its leases). False when the lease is no longer current.
  bool renew(int64_t lease_id, int64_t worker, SteadyTime now);

  // Worker ids are never reused, restarts included (the journal keeps them).
  int64_t new_worker_id() { return next_worker_++; }

  // Overdue leases go back to pending; returns them.
  std::vector<Lease> expire(SteadyTime now);

  // A worker disconnected: its leases go back to pending at once; returns them.
  std::vector<Lease> release_worker(int64_t worker);

  // An uploading worker disconnected: its leases stay until they expire,
  // for it to reconnect, renew them and finish its uploads, but become
  // `restored`, so an idle worker takes their tasks when nothing else is
  // pending. Returns how many.
  int64_t orphan_worker(int64_t worker);

  // The worker gave up on a task: it goes back to pending (if still current).
  bool release(int64_t lease_id);

  // kCommitted marks the task done (first accepted completion); kStale when
  // `lease_id` is not the task's current, unexpired lease.
  Completion complete(int64_t lease_id, SteadyTime now);

  // A task goes back to pending (a committed shard that turned out bad; a
  // lease of the task is dropped).
  void reopen(int64_t task);

  // Marks a task done without a lease (shards reused from an earlier run).
  void mark_done(int64_t task);

  // Replaying the journal of a previous coordinator (task_journal.h): a
  // lease it granted (kept only while its task is pending), a lease it
  // dropped, a task it committed (false when the task was done already).
  void replay_lease(int64_t lease_id, int64_t task, int64_t worker);
  void replay_drop(int64_t lease_id);
  bool replay_commit(int64_t task);
  // Ids below these are never handed out again.
  void reserve_ids(int64_t next_lease, int64_t next_worker);
  // Ends a replay: the replayed leases are `restored`, with a third of a
  // lease for their workers (external ones; local workers die with their
  // coordinator) to reconnect and renew them; until renewed, any worker
  // asking for work while nothing is pending takes their task at once.
  void finish_replay(SteadyTime now);

  const std::vector<LabelTask>& tasks() const { return tasks_; }
  TaskState state(int64_t task) const { return state_.at(static_cast<size_t>(task)); }
  // The lease for `lease_id` if it is current.
  std::optional<Lease> find(int64_t lease_id) const;
  // The current leases, by id.
  std::vector<Lease> leases() const;
  int64_t lease_count() const { return static_cast<int64_t>(leases_.size()); }
  // Leases held by `worker` now.
  int64_t leases_of(int64_t worker) const;
  int64_t count(TaskState s) const { return counts_[static_cast<size_t>(s)]; }
  bool all_done() const { return count(TaskState::kDone) == static_cast<int64_t>(tasks_.size()); }
  int64_t reassignments() const { return reassignments_; }
  std::chrono::milliseconds lease_duration() const { return lease_duration_; }
  int64_t next_lease_id() const { return next_lease_; }
  int64_t next_worker_id() const { return next_worker_; }

 private:
  void set_state(size_t task, TaskState s);
  void add_lease(const Lease& l);
  Lease remove_lease(int64_t id, bool back_to_pending);
  std::optional<size_t> next_task();

  std::vector<LabelTask> tasks_;
  std::vector<TaskState> state_;
  std::array<int64_t, 3> counts_{};
  size_t cursor_ = 0;                          // every pending task below it is in returned_
  std::set<size_t> returned_;                  // pending tasks below cursor_
  std::unordered_map<int64_t, Lease> leases_;  // current, by id
  std::set<std::pair<SteadyTime, int64_t>> by_deadline_;      // (deadline, id)
  std::unordered_map<int64_t, std::set<int64_t>> by_worker_;  // worker -> ids
  std::unordered_map<int64_t, int64_t> by_task_;              // task -> id
  std::set<int64_t> restored_;                                // ids of restored, unrenewed leases
  std::chrono::milliseconds lease_duration_;
  int64_t next_lease_ = 1;
  int64_t next_worker_ = 1;
  int64_t reassignments_ = 0;
  std::vector<Lease> superseded_;
};

}  // namespace condenser
