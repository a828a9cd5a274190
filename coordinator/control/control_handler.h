#pragma once
// The coordinator's side of the worker protocol as a pure state machine: a
// parsed frame (or a parse error, or a disconnect) in, reply frames and a
// close flag out. No sockets and no clock: the Asio session (control_server.h)
// feeds it, unit tests and the fuzzer call it directly. Bodies are read and
// written only through protocol/messages.h. File effects (commit a shard,
// remove a stale attempt, journal each change of the table) go through
// ControlEffects so tests can record them.
//
// Bad input: before a valid hello with the job's token, any frame gets a
// refused frame and close; afterwards a message that does not decode (a
// missing or mistyped field) or that a worker never sends gets an error
// frame naming the problem, then close. Either way other sessions are
// unaffected and the table is unchanged. A hello's token must be a valid job
// token (protocol/job_token.h: an empty or short one is refused even if it
// matched); text a worker sends (its name, a failure message) is logged only
// through printable(), so it cannot forge log lines.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "coordinator/control/latency_histogram.h"
#include "coordinator/control/task_table.h"
#include "protocol/frame.h"
#include "protocol/label_spec.h"
#include "protocol/messages.h"

namespace condenser {

// What ControlEffects::receive did with an uploaded chunk.
struct ChunkStored {
  int64_t held = 0;      // bytes of the attempt file stored now
  int64_t appended = 0;  // of them, added by this chunk (0: a resent or misplaced one)
};

// What the handler asks the outside world to do. All calls come from the
// coordinator's one Asio thread.
class ControlEffects {
 public:
  virtual ~ControlEffects() = default;
  // Makes the attempt the task's shard: check it, move it to task.file, add
  // it to the manifest. Returns "" on success, else why it was rejected (the
  // task then goes back to pending).
  virtual std::string commit(const Lease& lease, const LabelTask& task,
                             const msg::TaskDone& done) = 0;
  // Removes a stale attempt's file (late completion of an expired lease).
  virtual void discard(const std::string& attempt_file) = 0;
  // Stores an uploaded chunk of an attempt file: appended when it starts
  // where the stored bytes end (else ignored: the worker resends from the
  // returned count), flushed to disk once the file is complete. Returns the
  // bytes stored and how many this chunk added. ProtocolError when more
  // than `chunk.size` bytes are stored already; RuntimeFailure when the
  // bytes cannot be stored (the default: effects that keep no files take no
  // uploads).
  virtual ChunkStored receive(const std::string& attempt_file, const msg::ShardChunk& chunk);
  // Records one change of the table (RUN_DIR/tasks.journal): an append,
  // durable after the next sync().
  virtual void record(const TableEvent& event) = 0;
  // Makes every change recorded before the call durable. The server calls
  // it once for all the replies held (Reply::sync) before sending them, on
  // a thread of its own while the io thread goes on recording: it must be
  // safe against concurrent record() calls (RecordLog::sync is).
  virtual void sync() {}
};

// `text` for one log line: control characters escaped (\n as \x0a, a
// backslash doubled), at most 200 characters then "...".
std::string printable(const std::string& text);

struct ControlSession {
  std::string peer;  // "ip:port", for logs
  bool authenticated = false;
  int64_t worker = 0;  // id given at welcome
};

struct Reply {
  std::vector<std::string> frames;  // encoded, to send in order
  bool close = false;               // close after sending
  bool sync = false;                // send only after ControlEffects::sync (a commit)
  // Which latency histogram the time from request to sent reply goes to.
  enum class Timed { kNone, kLeaseGrant, kCommit } timed = Timed::kNone;
};

struct WorkerInfo {
  std::string name, peer;
  int64_t pid = 0;
  bool connected = true;
  int64_t last_heartbeat_unix_ms = 0;  // wall clock, for /status
  int64_t tasks_committed = 0;
  bool uploads = false;  // sends its shards over the connection (hello's upload)
};

struct ControlMetrics {
  LatencyHistogram lease_grant, commit;  // seconds, request in to reply out
};

struct ControlCounters {
  int64_t frames_total = 0, protocol_errors_total = 0, refused_total = 0;
  int64_t commits_total = 0, stale_completions_total = 0, rejected_commits_total = 0;
  int64_t leases_total = 0, expired_leases_total = 0, rows_committed_total = 0;
  int64_t uploaded_bytes_total = 0;  // shard bytes stored from uploading workers
};

struct HandlerOptions {
  int64_t heartbeat_ms = 2000;  // workers heartbeat this often (< read deadline)
  int64_t wait_ms = 500;        // retry hint when every pending task is leased
};

class ControlHandler {
 public:
  // `spec` is what every welcome carries.
  ControlHandler(TaskTable& table, std::string token, LabelSpec spec, ControlEffects& effects,
                 HandlerOptions options);

  // `now_unix_ms` only feeds /status (last heartbeat); leases use `now`.
  Reply on_frame(ControlSession& session, const Frame& frame, SteadyTime now,
                 int64_t now_unix_ms = 0);
  // The bytes could not be parsed: an error frame, then close.
  Reply on_parse_error(ControlSession& session, const std::string& error);
  // Releases the session's leases (their tasks go back to pending at once);
  // an uploading worker's are orphaned instead (TaskTable::orphan_worker).
  void on_disconnect(ControlSession& session, SteadyTime now);
  // Expires overdue leases (called from a timer).
  void tick(SteadyTime now);
  // The server sent a timed reply `seconds` after its request arrived.
  void observe(Reply::Timed timed, double seconds);
  // Makes the recorded changes durable (before sending Reply::sync
  // replies); the one call that may come from another thread.
  void sync() { effects_.sync(); }

  const TaskTable& table() const { return table_; }
  const std::map<int64_t, WorkerInfo>& workers() const { return workers_; }
  const ControlCounters& counters() const { return counters_; }
  const ControlMetrics& metrics() const { return metrics_; }

 private:
  Reply hello(ControlSession& s, const Frame& frame, int64_t now_unix_ms);
  Reply refuse(ControlSession& s, const std::string& why, const std::string& reason);
  // A decoded message of an authenticated session.
  Reply dispatch(ControlSession& s, const Frame& frame, SteadyTime now);
  Reply heartbeat(ControlSession& s, const msg::Heartbeat& m, SteadyTime now);
  Reply get_task(ControlSession& s, SteadyTime now);
  Reply task_done(ControlSession& s, const msg::TaskDone& m, SteadyTime now);
  Reply task_failed(ControlSession& s, const msg::TaskFailed& m);
  Reply shard_chunk(ControlSession& s, const msg::ShardChunk& m, SteadyTime now);
  Reply error(const std::string& message);
  void note_expired(const std::vector<Lease>& leases);
  void record(TableEvent::Kind kind, int64_t lease, int64_t task, int64_t worker = 0,
              const std::string& sha256 = "");

  TaskTable& table_;
  std::string token_;
  LabelSpec spec_;
  ControlEffects& effects_;
  HandlerOptions options_;
  std::map<int64_t, WorkerInfo> workers_;
  ControlCounters counters_;
  ControlMetrics metrics_;
};

}  // namespace condenser
