#include "worker/worker_loop.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <set>
#include <thread>

#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "protocol/address.h"
#include "protocol/frame_client.h"
#include "protocol/job_token.h"
#include "protocol/messages.h"
#include "trainers/device.h"
#include "worker/background_writer.h"
#include "worker/shard_upload.h"
#include "worker/worker_job.h"

namespace condenser {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kReplyTimeout{30000};

// A task or the job's set-up failed here (not the connection): reconnecting
// would only fail again, so the worker stops.
struct WorkerFailure : RuntimeFailure {
  using RuntimeFailure::RuntimeFailure;
};

std::string read_token(const std::string& path) {
  if (path.empty()) throw UsageError("worker: --token-file is required (the job's RUN_DIR/job.token)");
  if (!path_exists(path)) {
    throw UsageError("worker: token file '" + path +
                     "' not found; pass the job's RUN_DIR/job.token with --token-file");
  }
  return read_job_token(path);
}

// Sends a heartbeat with the leases held every `period` while running.
class Heartbeat {
 public:
  Heartbeat(FrameClient& client, milliseconds period, const std::set<int64_t>& held)
      : client_(client), period_(period), held_(held.begin(), held.end()) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void set_leases(const std::set<int64_t>& held) {
    std::lock_guard<std::mutex> lock(mutex_);
    held_.assign(held.begin(), held.end());
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stop_; })) {
      const msg::Heartbeat beat{held_};
      lock.unlock();
      try {
        client_.send(beat);
      } catch (const Error&) {
        // The main thread notices the broken connection on its next receive.
      }
      lock.lock();
    }
  }
  FrameClient& client_;
  milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<int64_t> held_;
  std::thread thread_;
};

enum class Session { kNoMoreWork, kStopped, kLost };

// What outlives a connection: the loaded job, the shard writer, the leases
// held and the completions not yet acknowledged (resent after a reconnect).
struct WorkerState {
  std::unique_ptr<LoadedJob> job;
  BackgroundWriter writer;
  std::set<int64_t> held;
  std::deque<msg::TaskDone> unacked;
  // The give-up clock: when the coordinator last answered, and since when it
  // has not (reset by the first failure after an answer). A connect alone
  // does not count: a port may accept and never answer.
  std::chrono::steady_clock::time_point last_reply{}, unreachable_since =
                                                         std::chrono::steady_clock::now();
  milliseconds give_up_after{60000};
  std::string upload_dir;  // WorkerOptions::upload_dir
};

// The coordinator's answer; an error frame (it then closes) ends the
// connection with its message.
Frame reply(FrameClient& client, WorkerState& w, milliseconds timeout = kReplyTimeout) {
  Frame f = client.receive(timeout);
  w.last_reply = std::chrono::steady_clock::now();
  if (f.type == MessageType::kError) {
    throw RuntimeFailure("worker: the coordinator closed the connection: " +
                         msg::decode<msg::Error>(f).message);
  }
  return f;
}

// Tells the coordinator a lease failed, if the connection still allows.
void send_failure(FrameClient& client, int64_t lease, const std::string& why) {
  try {
    client.send(msg::TaskFailed{lease, why});
  } catch (const Error&) {
  }
}

// Sends the attempt file of `done` from the upload directory; false when
// the coordinator no longer takes it (its lease went to another worker).
bool upload(FrameClient& client, WorkerState& w, const msg::TaskDone& done) {
  const UploadOutcome out = upload_shard(client, w.upload_dir + "/" + done.attempt_file,
                                         done.lease, [&] { return reply(client, w); });
  if (!out.accepted) {
    log_warn("worker: upload of ", done.attempt_file, " refused: ", out.reason);
    return false;
  }
  log_info("worker: uploaded ", done.attempt_file, " (", out.bytes_sent, " bytes sent)");
  return true;
}

// Moves finished shards into `unacked` and reports them, oldest first.
void report(FrameClient& client, WorkerState& w, Heartbeat& heartbeat) {
  for (BackgroundWriter::Result& r : w.writer.take_results()) {
    if (!r.error.empty()) {
      send_failure(client, r.lease, r.error);
      throw WorkerFailure("worker: writing " + r.task.file + " failed: " + r.error);
    }
    w.unacked.push_back({r.lease, r.task.file, r.entry.rows, r.entry.sha256});
  }
  while (!w.unacked.empty()) {
    const msg::TaskDone& done = w.unacked.front();
    if (w.upload_dir.empty() || upload(client, w, done)) {
      client.send(done);
      const msg::DoneAck ack = msg::decode<msg::DoneAck>(reply(client, w));
      if (!ack.committed) log_warn("worker: task not committed: ", ack.reason);
    }
    if (!w.upload_dir.empty()) ::unlink((w.upload_dir + "/" + done.attempt_file).c_str());
    w.held.erase(done.lease);
    w.unacked.pop_front();
    heartbeat.set_leases(w.held);
  }
}

// The coordinator's spec with this node's own paths where it has them.
LabelSpec local_spec(LabelSpec spec, const WorkerOptions& o, const std::string& upload_dir) {
  if (!upload_dir.empty()) spec.soft_label_dir = upload_dir;
  if (!o.teacher_path.empty()) spec.teacher_path = o.teacher_path;
  if (!o.data_dir.empty()) spec.data_dir = o.data_dir;
  return spec;
}

// Hello and welcome; loads the job when it is new. Returns the heartbeat period.
milliseconds handshake(FrameClient& client, const WorkerOptions& o, const std::string& token,
                       WorkerState& w) {
  client.send(msg::Hello{token, o.name, ::getpid(), !o.upload_dir.empty()});
  // A coordinator that accepts but never answers: wait no longer than the
  // give-up time left (at least 1 s).
  const auto waited = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() -
                                                               w.unreachable_since);
  const Frame answer =
      reply(client, w, std::clamp(w.give_up_after - waited, milliseconds(1000), kReplyTimeout));
  if (answer.type == MessageType::kRefused) {
    throw UsageError("worker: the coordinator refused this worker: " +
                     msg::decode<msg::Refused>(answer).reason);
  }
  const msg::Welcome welcome = msg::decode<msg::Welcome>(answer);
  const LabelSpec spec = local_spec(welcome.spec, o, w.upload_dir);
  if (w.job && to_json(w.job->spec) == to_json(spec)) return milliseconds(welcome.heartbeat_ms);
  w.writer.wait_idle();
  if (w.job) {
    // Another job now (the coordinator restarted with another teacher or
    // layout): what we labelled for the old one is worth nothing to it.
    w.writer.take_results();
    w.unacked.clear();
    w.held.clear();
  }
  try {
    w.job = load_job(spec, o.device, o.name);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw WorkerFailure(std::string("worker: cannot load the job: ") + e.what());
  }
  log_info("worker: teacher ", spec.teacher_path, " on ", o.device, ", ", spec.num_samples,
           " samples x ", spec.views, " views, batch ", spec.batch_size);
  return milliseconds(welcome.heartbeat_ms);
}

// Runs the teacher on a leased task here; its shard goes to the writer thread.
void label(FrameClient& client, WorkerState& w, Heartbeat& heartbeat, const msg::Task& t) {
  w.held.insert(t.lease);
  heartbeat.set_leases(w.held);
  const LabelTask task = attempt_of(t);
  log_info("worker: labelling ", t.task.file, " [", task.begin, ", ", task.end, ") (lease ",
           t.lease, ")");
  TaskLogits logits;
  try {
    logits = infer_task(w.job->teacher, w.job->setup, task);
  } catch (const std::exception& e) {
    send_failure(client, t.lease, e.what());
    if (dynamic_cast<const UsageError*>(&e) != nullptr) throw;
    throw WorkerFailure(std::string("worker: labelling failed: ") + e.what());
  }
  w.writer.submit(t.lease, task, std::move(logits), w.job->setup);
}

// One connection's life: handshake, then tasks until no more work or the
// link drops. The teacher runs on task N + 1 while task N's shard is written.
Session serve(FrameClient& client, const WorkerOptions& o, const std::string& token,
              WorkerState& w) {
  Heartbeat heartbeat(client, handshake(client, o, token, w), w.held);
  // Reconnected holding leases (the coordinator may have restarted): claim
  // them before asking for work, or an idle worker, this one included, may
  // be given their tasks.
  if (!w.held.empty()) client.send(msg::Heartbeat{{w.held.begin(), w.held.end()}});
  for (;;) {
    report(client, w, heartbeat);
    if (o.stop && o.stop()) {
      w.writer.wait_idle();
      report(client, w, heartbeat);
      return Session::kStopped;
    }
    client.send(msg::GetTask{});
    const Frame answer = reply(client, w);
    if (answer.type == MessageType::kNoMoreWork) {
      w.writer.wait_idle();
      report(client, w, heartbeat);
      return Session::kNoMoreWork;
    }
    if (answer.type == MessageType::kWait) {
      const msg::Wait wait = msg::decode<msg::Wait>(answer);
      // Our own shard (in flight or just written, not yet reported) may be
      // what the job waits for: report it now rather than sleep.
      if (!w.held.empty()) {
        w.writer.wait_idle();
      } else {
        std::this_thread::sleep_for(milliseconds(wait.retry_ms));
      }
      continue;
    }
    label(client, w, heartbeat, msg::decode<msg::Task>(answer));
  }
}

// The upload directory, absolute and created; UsageError when it cannot be.
std::string prepare_upload_dir(const std::string& dir) {
  if (dir.empty()) return dir;
  try {
    ensure_dir(dir);
  } catch (const std::exception& e) {
    throw UsageError("worker: --upload directory '" + dir + "' cannot be created (" + e.what() +
                     "); give a writable local directory");
  }
  return absolute_path(dir);
}

}  // namespace

int run_worker(const WorkerOptions& options) {
  WorkerOptions o = options;
  if (o.coordinator.empty()) throw UsageError("worker: --coordinator HOST:PORT is required");
  const HostPort coordinator = parse_host_port(o.coordinator, "--coordinator");
  const std::string upload_dir = prepare_upload_dir(o.upload_dir);
  const std::string token = o.token.empty() ? read_token(o.token_file) : o.token;
  if (o.name.empty()) {
    char host[256] = "host";
    ::gethostname(host, sizeof host - 1);
    o.name = std::string(host) + ":" + std::to_string(::getpid());
  }
  bind_to_parent_process();  // a local worker dies with its job
  if (o.threads > 0) at::set_num_threads(o.threads);
  resolve_device(o.device);  // a bad --device is a usage error before connecting
  WorkerState state;
  state.give_up_after = o.give_up_after;
  state.upload_dir = upload_dir;
  FrameClient client;
  milliseconds backoff{100};
  for (;;) {
    const auto attempt = std::chrono::steady_clock::now();
    try {
      client.connect(coordinator, milliseconds(5000));
      const Session end = serve(client, o, token, state);
      if (end != Session::kLost) {
        log_info(end == Session::kStopped ? "worker: stopped on request"
                                          : "worker: no more work; exiting");
        return 0;
      }
    } catch (const UsageError&) {
      throw;
    } catch (const WorkerFailure&) {
      throw;
    } catch (const RuntimeFailure& e) {
      client.close();
      if (o.stop && o.stop()) {
        log_info("worker: stopped on request (", e.what(), ")");
        return 0;  // what was not reported is labelled again by the next run
      }
      // The coordinator answered on this connection: a new outage starts now.
      if (state.last_reply > attempt) {
        state.unreachable_since = std::chrono::steady_clock::now();
        backoff = milliseconds(100);
      }
      if (std::chrono::steady_clock::now() - state.unreachable_since > o.give_up_after) {
        throw RuntimeFailure("worker: gave up on coordinator " + o.coordinator + " after " +
                             std::to_string(o.give_up_after.count() / 1000) + " s: " + e.what());
      }
      log_warn("worker: ", e.what(), "; reconnecting in ", backoff.count(), " ms");
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, milliseconds(2000));
    }
  }
}

}  // namespace condenser
