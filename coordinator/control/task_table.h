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
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/label_task.h"

namespace condenser {

using SteadyTime = std::chrono::steady_clock::time_point;

enum class TaskState { kPending, kLeased, kDone };

struct Lease {
  int64_t id = 0;        // unique over the table's life, restarts included
  int64_t task = 0;      // index into the table
  int64_t worker = 0;    // worker id holding it
  SteadyTime deadline;   // renewed by heartbeats
  std::string attempt_file;  // where this attempt writes (removed if it is stale)
  // Restored from tasks.json and not renewed since: its worker belonged to
  // a coordinator that died, so a worker asking for work may take its task.
  bool restored = false;
};

// Attempt files of lease `id` start with this (".attempt-000042-").
std::string attempt_prefix(int64_t lease_id);

enum class Completion { kCommitted, kStale };

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

  // Worker ids are never reused, restarts included (they are persisted).
  int64_t new_worker_id() { return next_worker_++; }

  // Overdue leases go back to pending; returns them.
  std::vector<Lease> expire(SteadyTime now);

  // A worker disconnected: its leases go back to pending at once; returns them.
  std::vector<Lease> release_worker(int64_t worker);

  // The worker gave up on a task: it goes back to pending (if still current).
  bool release(int64_t lease_id);

  // kCommitted marks the task done (first accepted completion); kStale when
  // `lease_id` is not the task's current, unexpired lease.
  Completion complete(int64_t lease_id, SteadyTime now);

  // A committed task whose shard turned out bad goes back to pending.
  void reopen(int64_t task);

  // Marks a task done without a lease (shards reused from an earlier run).
  void mark_done(int64_t task);

  const std::vector<LabelTask>& tasks() const { return tasks_; }
  TaskState state(int64_t task) const { return state_.at(static_cast<size_t>(task)); }
  // The lease for `lease_id` if it is current.
  std::optional<Lease> find(int64_t lease_id) const;
  const std::vector<Lease>& leases() const { return leases_; }
  int64_t count(TaskState s) const;
  bool all_done() const { return count(TaskState::kDone) == static_cast<int64_t>(tasks_.size()); }
  int64_t reassignments() const { return reassignments_; }
  std::chrono::milliseconds lease_duration() const { return lease_duration_; }

  // Persistence (RUN_DIR/tasks.json). Deadlines are not stored: a reloaded
  // lease is `restored`, with a third of a lease for its worker (an external
  // one; local workers die with their coordinator) to reconnect and renew it
  // (or commit); until renewed, any worker asking for work while nothing is
  // pending takes its task at once, so no worker waits on a dead lease.
  nlohmann::json to_json() const;
  // Restores states, leases and the lease counter from `saved` when its task
  // list equals this table's (same ranges and files) and every lease is one
  // this table could have made (its task in range, its attempt file exactly
  // attempt_prefix(id) + the task's file: a single name in the soft-label
  // folder, never a path read from the file); otherwise changes nothing and
  // returns false. Tasks already done here stay done.
  bool restore(const nlohmann::json& saved, SteadyTime now);

 private:
  std::vector<LabelTask> tasks_;
  std::vector<TaskState> state_;
  std::vector<Lease> leases_;  // current leases only
  std::chrono::milliseconds lease_duration_;
  int64_t next_lease_ = 1;
  int64_t next_worker_ = 1;
  int64_t reassignments_ = 0;
  std::vector<Lease> superseded_;

  void drop_lease(size_t i, bool back_to_pending);
  std::optional<size_t> next_task();
};

}  // namespace condenser
