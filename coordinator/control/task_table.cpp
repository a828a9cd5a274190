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
      lease_duration_(lease_duration) {}

void TaskTable::drop_lease(size_t i, bool back_to_pending) {
  if (back_to_pending) {
    state_[static_cast<size_t>(leases_[i].task)] = TaskState::kPending;
    ++reassignments_;
  }
  leases_.erase(leases_.begin() + static_cast<std::ptrdiff_t>(i));
}

// The index of the first pending task; else frees the task of the first
// unrenewed restored lease (its worker died with the last coordinator).
std::optional<size_t> TaskTable::next_task() {
  for (size_t t = 0; t < tasks_.size(); ++t) {
    if (state_[t] == TaskState::kPending) return t;
  }
  for (size_t i = 0; i < leases_.size(); ++i) {
    if (!leases_[i].restored) continue;
    const auto t = static_cast<size_t>(leases_[i].task);
    superseded_.push_back(leases_[i]);
    drop_lease(i, true);
    return t;
  }
  return std::nullopt;
}

std::optional<Lease> TaskTable::lease(int64_t worker, SteadyTime now) {
  expire(now);
  if (const std::optional<size_t> next = next_task()) {
    const size_t t = *next;
    Lease l;
    l.id = next_lease_++;
    l.task = static_cast<int64_t>(t);
    l.worker = worker;
    l.deadline = now + lease_duration_;
    // Each attempt writes its own file: two holders of one task never collide.
    l.attempt_file = attempt_prefix(l.id) + tasks_[t].file;
    state_[t] = TaskState::kLeased;
    leases_.push_back(l);
    return l;
  }
  return std::nullopt;
}

bool TaskTable::renew(int64_t lease_id, int64_t worker, SteadyTime now) {
  for (Lease& l : leases_) {
    if (l.id != lease_id) continue;
    if (l.deadline < now) return false;  // overdue: expire() will take it
    l.deadline = now + lease_duration_;
    l.worker = worker;
    l.restored = false;  // its worker is back
    return true;
  }
  return false;
}

std::vector<Lease> TaskTable::expire(SteadyTime now) {
  std::vector<Lease> expired;
  for (size_t i = leases_.size(); i-- > 0;) {
    if (leases_[i].deadline < now) {
      expired.push_back(leases_[i]);
      drop_lease(i, true);
    }
  }
  return expired;
}

std::vector<Lease> TaskTable::release_worker(int64_t worker) {
  std::vector<Lease> released;
  for (size_t i = leases_.size(); i-- > 0;) {
    if (leases_[i].worker == worker) {
      released.push_back(leases_[i]);
      drop_lease(i, true);
    }
  }
  return released;
}

bool TaskTable::release(int64_t lease_id) {
  for (size_t i = 0; i < leases_.size(); ++i) {
    if (leases_[i].id == lease_id) {
      drop_lease(i, true);
      return true;
    }
  }
  return false;
}

Completion TaskTable::complete(int64_t lease_id, SteadyTime now) {
  expire(now);
  for (size_t i = 0; i < leases_.size(); ++i) {
    if (leases_[i].id != lease_id) continue;
    state_[static_cast<size_t>(leases_[i].task)] = TaskState::kDone;
    drop_lease(i, false);
    return Completion::kCommitted;
  }
  return Completion::kStale;
}

void TaskTable::reopen(int64_t task) {
  if (state_.at(static_cast<size_t>(task)) == TaskState::kDone) {
    state_[static_cast<size_t>(task)] = TaskState::kPending;
  }
}

void TaskTable::mark_done(int64_t task) {
  for (size_t i = leases_.size(); i-- > 0;) {
    if (leases_[i].task == task) drop_lease(i, false);
  }
  state_.at(static_cast<size_t>(task)) = TaskState::kDone;
}

std::optional<Lease> TaskTable::find(int64_t lease_id) const {
  for (const Lease& l : leases_) {
    if (l.id == lease_id) return l;
  }
  return std::nullopt;
}

int64_t TaskTable::count(TaskState s) const {
  int64_t n = 0;
  for (TaskState x : state_) n += x == s ? 1 : 0;
  return n;
}

nlohmann::json TaskTable::to_json() const {
  nlohmann::json j;
  j["schema_version"] = 1;
  j["next_lease"] = next_lease_;
  j["next_worker"] = next_worker_;
  j["tasks"] = nlohmann::json::array();
  for (size_t t = 0; t < tasks_.size(); ++t) {
    const char* s = state_[t] == TaskState::kDone     ? "done"
                    : state_[t] == TaskState::kLeased ? "leased"
                                                      : "pending";
    j["tasks"].push_back({{"begin", tasks_[t].begin}, {"end", tasks_[t].end},
                          {"file", tasks_[t].file}, {"state", s}});
  }
  j["leases"] = nlohmann::json::array();
  for (const Lease& l : leases_) {
    j["leases"].push_back({{"id", l.id}, {"task", l.task}, {"worker", l.worker},
                           {"attempt_file", l.attempt_file}});
  }
  return j;
}

bool TaskTable::restore(const nlohmann::json& saved, SteadyTime now) {
  try {
    const auto& ts = saved.at("tasks");
    if (!ts.is_array() || ts.size() != tasks_.size()) return false;
    for (size_t t = 0; t < tasks_.size(); ++t) {
      if (ts[t].at("begin").get<int64_t>() != tasks_[t].begin ||
          ts[t].at("end").get<int64_t>() != tasks_[t].end ||
          ts[t].at("file").get<std::string>() != tasks_[t].file) {
        return false;
      }
    }
    std::vector<Lease> leases;
    for (const auto& jl : saved.at("leases")) {
      Lease l;
      l.id = jl.at("id").get<int64_t>();
      l.task = jl.at("task").get<int64_t>();
      l.worker = jl.at("worker").get<int64_t>();
      l.attempt_file = jl.at("attempt_file").get<std::string>();
      l.deadline = now + lease_duration_ / 3;
      l.restored = true;
      if (l.task < 0 || l.task >= static_cast<int64_t>(tasks_.size())) return false;
      // Only the name this table gives: a path here would let a tampered
      // tasks.json aim the removal of a stale attempt outside the folder.
      if (l.attempt_file != attempt_prefix(l.id) + tasks_[static_cast<size_t>(l.task)].file) {
        return false;
      }
      leases.push_back(l);
    }
    const int64_t next = saved.at("next_lease").get<int64_t>();
    const int64_t next_worker = saved.value("next_worker", int64_t{1});
    // Done is decided by the manifest (mark_done), not by this file: a task
    // whose commit did not reach the manifest is labelled again.
    for (const Lease& l : leases) {
      if (state_[static_cast<size_t>(l.task)] == TaskState::kPending) {
        state_[static_cast<size_t>(l.task)] = TaskState::kLeased;
        leases_.push_back(l);
      }
    }
    if (next > next_lease_) next_lease_ = next;
    for (const Lease& l : leases) next_lease_ = std::max(next_lease_, l.id + 1);
    if (next_worker > next_worker_) next_worker_ = next_worker;
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace condenser
