#include "coordinator/control/task_table.h"

#include <algorithm>
#include <cstdio>

namespace condenser {

std::string attempt_prefix(int64_t lease_id) {
  char name[48];
  std::snprintf(name, sizeof name, ".attempt-%06lld-", static_cast<long long>(lease_id));
  return name;
}

TaskTable::TaskTable(std::vector<LabelTask> tasks, std::chrono::milliseconds lease_duration)
    : tasks_(std::move(tasks)),
      state_(tasks_.size(), TaskState::kPending),
      lease_duration_(lease_duration) {
  counts_[static_cast<size_t>(TaskState::kPending)] = static_cast<int64_t>(tasks_.size());
}

void TaskTable::set_state(size_t task, TaskState s) {
  TaskState& old = state_.at(task);
  if (old == s) return;
  --counts_[static_cast<size_t>(old)];
  ++counts_[static_cast<size_t>(s)];
  old = s;
  // Keeps the invariant next_task() relies on.
  if (s == TaskState::kPending && task < cursor_) returned_.insert(task);
  if (s != TaskState::kPending) returned_.erase(task);
}

void TaskTable::add_lease(const Lease& l) {
  leases_[l.id] = l;
  by_deadline_.emplace(l.deadline, l.id);
  by_worker_[l.worker].insert(l.id);
  by_task_[l.task] = l.id;
  if (l.restored) restored_.insert(l.id);
  set_state(static_cast<size_t>(l.task), TaskState::kLeased);
}

Lease TaskTable::remove_lease(int64_t id, bool back_to_pending) {
  const auto it = leases_.find(id);
  Lease l = std::move(it->second);
  leases_.erase(it);
  by_deadline_.erase({l.deadline, l.id});
  const auto w = by_worker_.find(l.worker);
  w->second.erase(l.id);
  if (w->second.empty()) by_worker_.erase(w);
  by_task_.erase(l.task);
  restored_.erase(l.id);
  if (back_to_pending) {
    set_state(static_cast<size_t>(l.task), TaskState::kPending);
    ++reassignments_;
  }
  return l;
}

// The first pending task; else frees the task of the first unrenewed
// restored lease (its worker died with the last coordinator).
std::optional<size_t> TaskTable::next_task() {
  while (cursor_ < tasks_.size() && state_[cursor_] != TaskState::kPending) ++cursor_;
  if (!returned_.empty()) return *returned_.begin();  // all below cursor_
  if (cursor_ < tasks_.size()) return cursor_;
  if (restored_.empty()) return std::nullopt;
  Lease old = remove_lease(*restored_.begin(), true);
  const auto t = static_cast<size_t>(old.task);
  superseded_.push_back(std::move(old));
  return t;
}

std::optional<Lease> TaskTable::lease(int64_t worker, SteadyTime now) {
  expire(now);
  const std::optional<size_t> next = next_task();
  if (!next) return std::nullopt;
  Lease l;
  l.id = next_lease_++;
  l.task = static_cast<int64_t>(*next);
  l.worker = worker;
  l.deadline = now + lease_duration_;
  // Each attempt writes its own file: two holders of one task never collide.
  l.attempt_file = attempt_prefix(l.id) + tasks_[*next].file;
  add_lease(l);
  return l;
}

bool TaskTable::renew(int64_t lease_id, int64_t worker, SteadyTime now) {
  const auto it = leases_.find(lease_id);
  if (it == leases_.end() || it->second.deadline < now) return false;  // gone or overdue
  Lease l = remove_lease(lease_id, false);
  l.deadline = now + lease_duration_;
  l.worker = worker;
  l.restored = false;  // its worker is back
  add_lease(l);
  return true;
}

std::vector<Lease> TaskTable::expire(SteadyTime now) {
  std::vector<Lease> expired;
  while (!by_deadline_.empty() && by_deadline_.begin()->first < now) {
    expired.push_back(remove_lease(by_deadline_.begin()->second, true));
  }
  return expired;
}

std::vector<Lease> TaskTable::release_worker(int64_t worker) {
  std::vector<Lease> released;
  const auto w = by_worker_.find(worker);
  if (w == by_worker_.end()) return released;
  const std::set<int64_t> ids = w->second;
  for (const int64_t id : ids) released.push_back(remove_lease(id, true));
  return released;
}

int64_t TaskTable::orphan_worker(int64_t worker) {
  const auto w = by_worker_.find(worker);
  if (w == by_worker_.end()) return 0;
  const std::set<int64_t> ids = w->second;
  for (const int64_t id : ids) {
    Lease l = remove_lease(id, false);
    l.restored = true;
    add_lease(l);
  }
  return static_cast<int64_t>(ids.size());
}

bool TaskTable::release(int64_t lease_id) {
  if (leases_.count(lease_id) == 0) return false;
  remove_lease(lease_id, true);
  return true;
}

Completion TaskTable::complete(int64_t lease_id, SteadyTime now) {
  expire(now);
  const auto it = leases_.find(lease_id);
  if (it == leases_.end()) return Completion::kStale;
  const Lease l = remove_lease(lease_id, false);
  set_state(static_cast<size_t>(l.task), TaskState::kDone);
  return Completion::kCommitted;
}

void TaskTable::reopen(int64_t task) {
  const auto held = by_task_.find(task);
  if (held != by_task_.end()) remove_lease(held->second, false);
  set_state(static_cast<size_t>(task), TaskState::kPending);
}

void TaskTable::mark_done(int64_t task) {
  const auto held = by_task_.find(task);
  if (held != by_task_.end()) remove_lease(held->second, false);
  set_state(static_cast<size_t>(task), TaskState::kDone);
}

void TaskTable::replay_lease(int64_t lease_id, int64_t task, int64_t worker) {
  reserve_ids(lease_id + 1, worker + 1);
  if (state_.at(static_cast<size_t>(task)) != TaskState::kPending) return;
  Lease l;
  l.id = lease_id;
  l.task = task;
  l.worker = worker;
  l.attempt_file = attempt_prefix(l.id) + tasks_[static_cast<size_t>(task)].file;
  l.restored = true;  // deadline set by finish_replay
  add_lease(l);
}

void TaskTable::replay_drop(int64_t lease_id) {
  if (leases_.count(lease_id) != 0) remove_lease(lease_id, true);
}

bool TaskTable::replay_commit(int64_t task) {
  if (state_.at(static_cast<size_t>(task)) == TaskState::kDone) return false;
  mark_done(task);
  return true;
}

void TaskTable::reserve_ids(int64_t next_lease, int64_t next_worker) {
  next_lease_ = std::max(next_lease_, next_lease);
  next_worker_ = std::max(next_worker_, next_worker);
}

void TaskTable::finish_replay(SteadyTime now) {
  std::vector<Lease> replayed;
  for (const auto& [id, l] : leases_) replayed.push_back(l);
  for (Lease& l : replayed) {
    remove_lease(l.id, false);
    l.deadline = now + lease_duration_ / 3;
    l.restored = true;
    add_lease(l);
  }
}

std::optional<Lease> TaskTable::find(int64_t lease_id) const {
  const auto it = leases_.find(lease_id);
  if (it == leases_.end()) return std::nullopt;
  return it->second;
}

std::vector<Lease> TaskTable::leases() const {
  std::vector<Lease> out;
  out.reserve(leases_.size());
  for (const auto& [id, l] : leases_) out.push_back(l);
  std::sort(out.begin(), out.end(), [](const Lease& a, const Lease& b) { return a.id < b.id; });
  return out;
}

int64_t TaskTable::leases_of(int64_t worker) const {
  const auto w = by_worker_.find(worker);
  return w == by_worker_.end() ? 0 : static_cast<int64_t>(w->second.size());
}

}  // namespace condenser
