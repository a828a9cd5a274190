#include "coordinator/control/control_handler.h"

#include <cstdio>

#include "core/log.h"
#include "protocol/job_token.h"

namespace condenser {
namespace {

// At most this much of a worker's name or message reaches a log line.
constexpr size_t kMaxLoggedChars = 200;

}  // namespace

std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text.substr(0, kMaxLoggedChars)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  if (text.size() > kMaxLoggedChars) out += "...";
  return out;
}

ChunkStored ControlEffects::receive(const std::string& attempt_file, const msg::ShardChunk&) {
  throw RuntimeFailure("no shard files are kept here to write " + attempt_file + " into");
}

ControlHandler::ControlHandler(TaskTable& table, std::string token, LabelSpec spec,
                               ControlEffects& effects, HandlerOptions options)
    : table_(table),
      token_(std::move(token)),
      spec_(std::move(spec)),
      effects_(effects),
      options_(options) {}

Reply ControlHandler::error(const std::string& message) {
  ++counters_.protocol_errors_total;
  return {{msg::encode(msg::Error{message})}, true};
}

Reply ControlHandler::refuse(ControlSession& s, const std::string& why, const std::string& reason) {
  log_warn("coordinator: refused ", s.peer, ": ", printable(why));
  ++counters_.refused_total;
  return {{msg::encode(msg::Refused{reason})}, true};
}

Reply ControlHandler::on_parse_error(ControlSession& session, const std::string& error_text) {
  log_warn("coordinator: dropping ", session.peer, ": ", printable(error_text));
  return error(error_text);
}

void ControlHandler::record(TableEvent::Kind kind, int64_t lease, int64_t task, int64_t worker,
                            const std::string& sha256) {
  effects_.record(TableEvent{kind, lease, task, worker, sha256});
}

void ControlHandler::observe(Reply::Timed timed, double seconds) {
  if (timed == Reply::Timed::kLeaseGrant) metrics_.lease_grant.observe(seconds);
  if (timed == Reply::Timed::kCommit) metrics_.commit.observe(seconds);
}

void ControlHandler::note_expired(const std::vector<Lease>& leases) {
  if (leases.empty()) return;
  counters_.expired_leases_total += static_cast<int64_t>(leases.size());
  for (const Lease& l : leases) {
    log_warn("coordinator: lease ", l.id, " of task ", l.task,
             " expired; the task is pending again");
    effects_.discard(l.attempt_file);  // a half-written attempt of a hung worker
    record(TableEvent::Kind::kDrop, l.id, l.task);
  }
}

void ControlHandler::tick(SteadyTime now) { note_expired(table_.expire(now)); }

Reply ControlHandler::on_frame(ControlSession& s, const Frame& frame, SteadyTime now,
                               int64_t now_unix_ms) {
  ++counters_.frames_total;
  if (!s.authenticated) {
    if (frame.type != MessageType::kHello) {
      return refuse(s, std::string(type_name(frame.type)) + " before hello", "hello first");
    }
    return hello(s, frame, now_unix_ms);
  }
  workers_[s.worker].last_heartbeat_unix_ms = now_unix_ms;
  try {
    return dispatch(s, frame, now);
  } catch (const ProtocolError& e) {
    // Decoding failed before anything changed: answer, then close.
    log_warn("coordinator: dropping worker ", s.worker, " (", s.peer, "): ", printable(e.what()));
    return error(e.what());
  }
}

Reply ControlHandler::dispatch(ControlSession& s, const Frame& frame, SteadyTime now) {
  switch (frame.type) {
    case MessageType::kGetTask:
      msg::decode<msg::GetTask>(frame);
      return get_task(s, now);
    case MessageType::kHeartbeat:
      return heartbeat(s, msg::decode<msg::Heartbeat>(frame), now);
    case MessageType::kTaskDone:
      return task_done(s, msg::decode<msg::TaskDone>(frame), now);
    case MessageType::kTaskFailed:
      return task_failed(s, msg::decode<msg::TaskFailed>(frame));
    case MessageType::kShardChunk:
      return shard_chunk(s, msg::decode<msg::ShardChunk>(frame), now);
    default:
      throw ProtocolError(std::string("unexpected ") + type_name(frame.type) + " from a worker");
  }
}

Reply ControlHandler::hello(ControlSession& s, const Frame& frame, int64_t now_unix_ms) {
  msg::Hello m;
  try {
    m = msg::decode<msg::Hello>(frame);
  } catch (const ProtocolError& e) {
    return refuse(s, e.what(), std::string(e.what()) + " (see RUN_DIR/job.token)");
  }
  // An empty or short token never matches, even a coordinator's own (a
  // damaged job.token must not admit an empty hello).
  if (!valid_job_token(m.token) || !valid_job_token(token_) ||
      !constant_time_equal(m.token, token_)) {
    return refuse(s, "wrong job token", "wrong or missing job token (see RUN_DIR/job.token)");
  }
  s.authenticated = true;
  s.worker = table_.new_worker_id();
  record(TableEvent::Kind::kWorker, 0, 0, s.worker);
  WorkerInfo& w = workers_[s.worker];
  w.name = m.name.empty() ? "?" : printable(m.name);  // a newline would forge log lines
  w.peer = s.peer;
  w.pid = m.pid;
  w.last_heartbeat_unix_ms = now_unix_ms;
  w.uploads = m.upload;
  log_info("coordinator: worker ", s.worker, " (", w.name, ", pid ", w.pid, ") joined from ",
           s.peer, m.upload ? ", uploading its shards" : "");
  return {{msg::encode(msg::Welcome{s.worker, options_.heartbeat_ms, spec_})}, false};
}

Reply ControlHandler::heartbeat(ControlSession& s, const msg::Heartbeat& m, SteadyTime now) {
  for (const int64_t id : m.leases) {
    if (!table_.renew(id, s.worker, now)) {
      log_debug("coordinator: heartbeat for lease ", id, " that is not current");
    }
  }
  return {};
}

Reply ControlHandler::get_task(ControlSession& s, SteadyTime now) {
  note_expired(table_.expire(now));
  if (table_.all_done()) return {{msg::encode(msg::NoMoreWork{})}, false};
  const auto lease = table_.lease(s.worker, now);
  if (!lease) return {{msg::encode(msg::Wait{options_.wait_ms})}, false};
  for (const Lease& l : table_.take_superseded()) {
    log_info("coordinator: task ", l.task, " of lease ", l.id,
             " (a worker of the previous coordinator) goes to worker ", s.worker);
    effects_.discard(l.attempt_file);
    record(TableEvent::Kind::kDrop, l.id, l.task);
  }
  ++counters_.leases_total;
  record(TableEvent::Kind::kLease, lease->id, lease->task, s.worker);
  const LabelTask& t = table_.tasks()[static_cast<size_t>(lease->task)];
  log_debug("coordinator: lease ", lease->id, " of task ", lease->task, " to worker ", s.worker);
  Reply r{{msg::encode(msg::Task{lease->id, lease->task, t, lease->attempt_file,
                                 table_.lease_duration().count()})},
          false};
  r.timed = Reply::Timed::kLeaseGrant;
  return r;
}

Reply ControlHandler::task_done(ControlSession& s, const msg::TaskDone& m, SteadyTime now) {
  note_expired(table_.expire(now));
  const auto lease = table_.find(m.lease);
  const auto ack = [&m](bool committed, const std::string& reason) {
    return Reply{{msg::encode(msg::DoneAck{m.lease, committed, reason})}, false};
  };
  if (!lease || table_.complete(m.lease, now) != Completion::kCommitted) {
    // Late: the lease expired or its task went to someone else. Its file is
    // not the committed one (attempt files are per lease), so remove it:
    // only this lease's own attempt name, never a path or another's file.
    ++counters_.stale_completions_total;
    const std::string& f = m.attempt_file;
    if (f.rfind(attempt_prefix(m.lease), 0) == 0 && f.find('/') == std::string::npos) {
      effects_.discard(f);
    }
    log_warn("coordinator: discarded a late completion of lease ", m.lease, " from worker ",
             s.worker);
    return ack(false, "lease expired or task reassigned");
  }
  const LabelTask& task = table_.tasks()[static_cast<size_t>(lease->task)];
  const std::string rejected = effects_.commit(*lease, task, m);
  if (!rejected.empty()) {
    // Bad attempt (missing file, wrong rows or checksum): label it again.
    ++counters_.rejected_commits_total;
    log_warn("coordinator: rejected ", task.file, " from worker ", s.worker, ": ", rejected);
    table_.reopen(lease->task);
    effects_.discard(lease->attempt_file);
    record(TableEvent::Kind::kReopen, lease->id, lease->task);
    return ack(false, rejected);
  }
  ++counters_.commits_total;
  counters_.rows_committed_total += m.rows;
  ++workers_[s.worker].tasks_committed;
  record(TableEvent::Kind::kCommit, lease->id, lease->task, s.worker, m.sha256);
  log_info("coordinator: committed ", task.file, " from worker ", s.worker, " (",
           table_.count(TaskState::kDone), "/", table_.tasks().size(), " tasks)");
  // Acknowledged only once the commit record is durable (group commit).
  Reply r = ack(true, "");
  r.sync = true;
  r.timed = Reply::Timed::kCommit;
  return r;
}

Reply ControlHandler::task_failed(ControlSession& s, const msg::TaskFailed& m) {
  const auto held = table_.find(m.lease);
  if (held && table_.release(m.lease)) {
    log_warn("coordinator: worker ", s.worker, " failed task ", held->task, ": ",
             m.message.empty() ? "?" : printable(m.message));
    effects_.discard(held->attempt_file);
    record(TableEvent::Kind::kDrop, held->id, held->task);
  }
  return {};
}

Reply ControlHandler::shard_chunk(ControlSession& s, const msg::ShardChunk& m, SteadyTime now) {
  if (!workers_[s.worker].uploads) {
    throw ProtocolError("shard_chunk from a worker whose hello did not say upload");
  }
  note_expired(table_.expire(now));
  const auto ack = [&m](bool accepted, int64_t received, const std::string& reason) {
    return Reply{{msg::encode(msg::ChunkAck{m.lease, accepted, received, reason})}, false};
  };
  const auto lease = table_.find(m.lease);
  if (!lease || lease->worker != s.worker) {
    log_warn("coordinator: refused an upload to lease ", m.lease, " from worker ", s.worker,
             ": not its lease");
    return ack(false, 0, "lease expired or task reassigned");
  }
  ChunkStored stored;
  try {
    stored = effects_.receive(lease->attempt_file, m);
  } catch (const ProtocolError&) {
    throw;
  } catch (const std::exception& e) {
    // The coordinator's disk, not the worker: the task is labelled again.
    log_warn("coordinator: cannot store the upload of lease ", m.lease, ": ", e.what());
    table_.release(m.lease);
    effects_.discard(lease->attempt_file);
    record(TableEvent::Kind::kDrop, lease->id, lease->task);
    return ack(false, 0, std::string("the coordinator cannot store it: ") + e.what());
  }
  counters_.uploaded_bytes_total += stored.appended;
  return ack(true, stored.held, "");
}

void ControlHandler::on_disconnect(ControlSession& s, SteadyTime) {
  if (!s.authenticated) return;
  workers_[s.worker].connected = false;
  if (workers_[s.worker].uploads) {
    // Its shards live on its own disk: keep the leases for it to resume.
    const int64_t kept = table_.orphan_worker(s.worker);
    if (kept > 0) {
      log_warn("coordinator: uploading worker ", s.worker, " disconnected holding ", kept,
               " lease(s); kept until they expire for it to resume, or taken by a worker "
               "that finds nothing else pending");
    }
    return;
  }
  const auto released = table_.release_worker(s.worker);
  if (!released.empty()) {
    log_warn("coordinator: worker ", s.worker, " disconnected holding ", released.size(),
             " lease(s); their tasks are pending again");
    for (const Lease& l : released) {
      effects_.discard(l.attempt_file);
      record(TableEvent::Kind::kDrop, l.id, l.task);
    }
  }
}

}  // namespace condenser
