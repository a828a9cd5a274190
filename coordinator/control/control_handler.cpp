#include "coordinator/control/control_handler.h"

#include <optional>

#include "core/log.h"

namespace condenser {
namespace {

using nlohmann::json;

// Integer field of a message body, or nullopt if absent / not an integer.
std::optional<int64_t> int_field(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

}  // namespace

ControlHandler::ControlHandler(TaskTable& table, std::string token, json spec,
                               ControlEffects& effects, HandlerOptions options)
    : table_(table),
      token_(std::move(token)),
      spec_(std::move(spec)),
      effects_(effects),
      options_(options) {}

Reply ControlHandler::error(const std::string& message) {
  ++counters_.protocol_errors_total;
  return {{encode_frame(MessageType::kError, {{"message", message}})}, true};
}

Reply ControlHandler::on_parse_error(ControlSession& session, const std::string& error_text) {
  log_warn("coordinator: dropping ", session.peer, ": ", error_text);
  return error(error_text);
}

void ControlHandler::note_expired(const std::vector<Lease>& leases) {
  if (leases.empty()) return;
  counters_.expired_leases_total += static_cast<int64_t>(leases.size());
  for (const Lease& l : leases) {
    log_warn("coordinator: lease ", l.id, " of task ", l.task, " expired; the task is pending again");
    effects_.discard(l.attempt_file);  // a half-written attempt of a hung worker
  }
  effects_.persist(table_);
}

void ControlHandler::tick(SteadyTime now) { note_expired(table_.expire(now)); }

Reply ControlHandler::on_frame(ControlSession& s, const Frame& frame, SteadyTime now,
                               int64_t now_unix_ms) {
  ++counters_.frames_total;
  if (!s.authenticated) {
    if (frame.type != MessageType::kHello) {
      log_warn("coordinator: refused ", s.peer, ": ", type_name(frame.type), " before hello");
      ++counters_.refused_total;
      return {{encode_frame(MessageType::kRefused, {{"reason", "hello first"}})}, true};
    }
    return hello(s, frame.body, now_unix_ms);
  }
  WorkerInfo& w = workers_[s.worker];
  w.last_heartbeat_unix_ms = now_unix_ms;
  switch (frame.type) {
    case MessageType::kGetTask:
      return get_task(s, now);
    case MessageType::kHeartbeat: {
      const auto it = frame.body.find("leases");
      if (it == frame.body.end() || !it->is_array()) return error("heartbeat without leases");
      for (const json& id : *it) {
        if (!id.is_number_integer()) return error("heartbeat lease is not an integer");
        if (!table_.renew(id.get<int64_t>(), s.worker, now)) {
          log_debug("coordinator: heartbeat for lease ", id.get<int64_t>(), " that is not current");
        }
      }
      return {};
    }
    case MessageType::kTaskDone:
      return task_done(s, frame.body, now);
    case MessageType::kTaskFailed: {
      const auto lease = int_field(frame.body, "lease");
      if (!lease) return error("task_failed without a lease");
      const auto held = table_.find(*lease);
      if (held && table_.release(*lease)) {
        log_warn("coordinator: worker ", s.worker, " failed task ", held->task, ": ",
                 frame.body.value("message", std::string("?")));
        effects_.discard(held->attempt_file);
        effects_.persist(table_);
      }
      return {};
    }
    default:
      return error(std::string("unexpected ") + type_name(frame.type) + " from a worker");
  }
}

Reply ControlHandler::hello(ControlSession& s, const json& body, int64_t now_unix_ms) {
  const auto token = body.find("token");
  if (token == body.end() || !token->is_string() ||
      !constant_time_equal(token->get_ref<const std::string&>(), token_)) {
    log_warn("coordinator: refused ", s.peer, ": ",
             token == body.end() ? "no job token" : "wrong job token");
    ++counters_.refused_total;
    return {{encode_frame(MessageType::kRefused,
                          {{"reason", "wrong or missing job token (see RUN_DIR/job.token)"}})},
            true};
  }
  s.authenticated = true;
  s.worker = table_.new_worker_id();
  effects_.persist(table_);
  WorkerInfo& w = workers_[s.worker];
  const auto name = body.find("name");
  w.name = name != body.end() && name->is_string() ? name->get<std::string>() : "?";
  w.peer = s.peer;
  w.pid = int_field(body, "pid").value_or(0);
  w.last_heartbeat_unix_ms = now_unix_ms;
  log_info("coordinator: worker ", s.worker, " (", w.name, ", pid ", w.pid, ") joined from ",
           s.peer);
  return {{encode_frame(MessageType::kWelcome, {{"worker_id", s.worker},
                                                {"heartbeat_ms", options_.heartbeat_ms},
                                                {"spec", spec_}})},
          false};
}

Reply ControlHandler::get_task(ControlSession& s, SteadyTime now) {
  note_expired(table_.expire(now));
  if (table_.all_done()) return {{encode_frame(MessageType::kNoMoreWork, json::object())}, false};
  const auto lease = table_.lease(s.worker, now);
  if (!lease) return {{encode_frame(MessageType::kWait, {{"retry_ms", options_.wait_ms}})}, false};
  ++counters_.leases_total;
  effects_.persist(table_);
  const TableTask& t = table_.tasks()[static_cast<size_t>(lease->task)];
  log_debug("coordinator: lease ", lease->id, " of task ", lease->task, " to worker ", s.worker);
  return {{encode_frame(MessageType::kTask,
                        {{"lease", lease->id},
                         {"task", lease->task},
                         {"begin", t.begin},
                         {"end", t.end},
                         {"file", t.file},
                         {"attempt_file", lease->attempt_file},
                         {"lease_ms", table_.lease_duration().count()}})},
          false};
}

Reply ControlHandler::task_done(ControlSession& s, const json& body, SteadyTime now) {
  const auto lease_id = int_field(body, "lease");
  if (!lease_id) return error("task_done without a lease");
  note_expired(table_.expire(now));
  const auto lease = table_.find(*lease_id);
  const auto ack = [&](bool committed, const std::string& reason) {
    return Reply{{encode_frame(MessageType::kDoneAck,
                               {{"lease", *lease_id}, {"committed", committed}, {"reason", reason}})},
                 false};
  };
  if (!lease || table_.complete(*lease_id, now) != Completion::kCommitted) {
    // Late: the lease expired or its task went to someone else. Its file is
    // not the committed one (attempt files are per lease), so remove it.
    ++counters_.stale_completions_total;
    const auto file = body.find("attempt_file");
    if (file != body.end() && file->is_string()) {
      // Only this lease's own attempt name, never a path or another's file.
      const std::string& f = file->get_ref<const std::string&>();
      if (f.rfind(attempt_prefix(*lease_id), 0) == 0 && f.find('/') == std::string::npos) {
        effects_.discard(f);
      }
    }
    log_warn("coordinator: discarded a late completion of lease ", *lease_id, " from worker ",
             s.worker);
    return ack(false, "lease expired or task reassigned");
  }
  const TableTask& task = table_.tasks()[static_cast<size_t>(lease->task)];
  const std::string rejected = effects_.commit(*lease, task, body);
  if (!rejected.empty()) {
    // Bad attempt (missing file, wrong rows or checksum): label it again.
    ++counters_.rejected_commits_total;
    log_warn("coordinator: rejected ", task.file, " from worker ", s.worker, ": ", rejected);
    table_.reopen(lease->task);
    effects_.discard(lease->attempt_file);
    effects_.persist(table_);
    return ack(false, rejected);
  }
  ++counters_.commits_total;
  counters_.rows_committed_total += int_field(body, "rows").value_or(0);
  ++workers_[s.worker].tasks_committed;
  effects_.persist(table_);
  log_info("coordinator: committed ", task.file, " from worker ", s.worker, " (",
           table_.count(TaskState::kDone), "/", table_.tasks().size(), " tasks)");
  return ack(true, "");
}

void ControlHandler::on_disconnect(ControlSession& s, SteadyTime) {
  if (!s.authenticated) return;
  workers_[s.worker].connected = false;
  const auto released = table_.release_worker(s.worker);
  if (!released.empty()) {
    log_warn("coordinator: worker ", s.worker, " disconnected holding ", released.size(),
             " lease(s); their tasks are pending again");
    for (const Lease& l : released) effects_.discard(l.attempt_file);
    effects_.persist(table_);
  }
}

}  // namespace condenser
