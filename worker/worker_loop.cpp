#include "worker/worker_loop.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <optional>
#include <set>
#include <thread>

#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "data/sampling.h"
#include "trainers/device.h"
#include "trainers/model_io.h"
#include "worker/background_writer.h"
#include "protocol/frame_client.h"
#include "protocol/label_spec.h"
#include "worker/teacher_labeller.h"

namespace condenser {
namespace {

using nlohmann::json;
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
  std::string token = read_file(path);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  return token;
}

// The job as this worker runs it: data, sample list and teacher, loaded once.
struct LoadedJob {
  LabelSpec spec;
  LabellerSetup setup;
  torch::jit::Module teacher;
};

std::unique_ptr<LoadedJob> load_job(const LabelSpec& spec, const std::string& device_name,
                                    const std::string& worker_name) {
  auto job = std::make_unique<LoadedJob>();
  job->spec = spec;
  if (spec.dataset != "fashion_mnist") {
    throw RuntimeFailure("worker: dataset '" + spec.dataset + "' is not supported");
  }
  const ImageDataset data = load_fashion_mnist(spec.data_dir, /*train=*/true);
  if (data.fingerprint != spec.dataset_fingerprint) {
    throw UsageError("worker: the data in '" + spec.data_dir + "' (" + data.fingerprint.substr(0, 12) +
                     ") is not the coordinator's (" + spec.dataset_fingerprint.substr(0, 12) + ")");
  }
  const TrainValSplit split =
      make_train_val_split(data.size(), spec.validation_size, spec.train_subset, spec.split_seed);
  if (static_cast<int64_t>(split.train.size()) != spec.num_samples) {
    throw RuntimeFailure("worker: sample list of " + std::to_string(split.train.size()) +
                         " differs from the coordinator's " + std::to_string(spec.num_samples));
  }
  const std::string sha = sha256_file(spec.teacher_path);
  if (sha != spec.teacher_sha256) {
    throw UsageError("worker: teacher '" + spec.teacher_path + "' has sha256 " + sha.substr(0, 12) +
                     ", the coordinator's has " + spec.teacher_sha256.substr(0, 12));
  }
  job->teacher = load_module(spec.teacher_path, "teacher");
  job->teacher.to(resolve_device(device_name));
  set_teacher_precision(job->teacher, spec.precision);
  job->teacher.eval();
  LabellerSetup& s = job->setup;
  s.images = data.images;
  s.samples = split.train;
  s.meta.teacher_sha256 = spec.teacher_sha256;
  s.meta.dataset_fingerprint = spec.dataset_fingerprint;
  s.meta.temperature = spec.temperature;
  s.meta.num_classes = spec.num_classes;
  s.meta.top_k = spec.top_k;
  // Each shard names the worker that labelled it (h5py: attrs["producer"]).
  s.meta.producer = "condenser worker " + worker_name;
  if (!parse_logit_dtype(spec.dtype, &s.dtype)) throw RuntimeFailure("worker: dtype " + spec.dtype);
  s.top_k = spec.top_k;
  s.views = spec.views;
  s.augment_seed = spec.augment_seed;
  s.batch_size = spec.batch_size;
  s.soft_label_dir = spec.soft_label_dir;
  return job;
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
      const json leases = held_;
      lock.unlock();
      try {
        client_.send(MessageType::kHeartbeat, {{"leases", leases}});
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
  std::deque<json> unacked;
};

// Moves finished shards into `unacked` and reports them, oldest first.
void report(FrameClient& client, WorkerState& w, Heartbeat& heartbeat) {
  for (BackgroundWriter::Result& r : w.writer.take_results()) {
    if (!r.error.empty()) {
      try {
        client.send(MessageType::kTaskFailed, {{"lease", r.lease}, {"message", r.error}});
      } catch (const Error&) {
      }
      throw WorkerFailure("worker: writing " + r.task.file + " failed: " + r.error);
    }
    w.unacked.push_back({{"lease", r.lease}, {"attempt_file", r.task.file},
                         {"rows", r.entry.rows}, {"sha256", r.entry.sha256}});
  }
  while (!w.unacked.empty()) {
    client.send(MessageType::kTaskDone, w.unacked.front());
    const Frame ack = client.receive(kReplyTimeout);
    if (ack.type != MessageType::kDoneAck) throw RuntimeFailure("worker: expected done_ack");
    if (!ack.body.value("committed", false)) {
      log_warn("worker: task not committed: ", ack.body.value("reason", std::string("?")));
    }
    w.held.erase(w.unacked.front()["lease"].get<int64_t>());
    w.unacked.pop_front();
    heartbeat.set_leases(w.held);
  }
}

// One connection's life: hello, then tasks until no more work or the link
// drops. The teacher runs on task N + 1 while task N's shard is written.
Session serve(FrameClient& client, const WorkerOptions& o, const std::string& token,
              WorkerState& w) {
  client.send(MessageType::kHello, {{"token", token}, {"name", o.name}, {"pid", ::getpid()}});
  const Frame welcome = client.receive(kReplyTimeout);
  if (welcome.type == MessageType::kRefused) {
    throw UsageError("worker: the coordinator refused this worker: " +
                     welcome.body.value("reason", std::string("?")));
  }
  if (welcome.type != MessageType::kWelcome) {
    throw RuntimeFailure(std::string("worker: expected welcome, got ") + type_name(welcome.type));
  }
  const LabelSpec spec = label_spec_from_json(welcome.body.value("spec", json::object()));
  if (!w.job || to_json(w.job->spec) != to_json(spec)) {
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
  }
  Heartbeat heartbeat(client, milliseconds(welcome.body.value("heartbeat_ms", 2000)), w.held);
  for (;;) {
    report(client, w, heartbeat);
    if (o.stop && o.stop()) {
      w.writer.wait_idle();
      report(client, w, heartbeat);
      return Session::kStopped;
    }
    client.send(MessageType::kGetTask, json::object());
    const Frame reply = client.receive(kReplyTimeout);
    if (reply.type == MessageType::kNoMoreWork) {
      w.writer.wait_idle();
      report(client, w, heartbeat);
      return Session::kNoMoreWork;
    }
    if (reply.type == MessageType::kWait) {
      // Our own shard (in flight or just written, not yet reported) may be
      // what the job waits for: report it now rather than sleep.
      if (!w.held.empty()) {
        w.writer.wait_idle();
      } else {
        std::this_thread::sleep_for(milliseconds(reply.body.value("retry_ms", 500)));
      }
      continue;
    }
    if (reply.type != MessageType::kTask) {
      throw RuntimeFailure(std::string("worker: unexpected ") + type_name(reply.type));
    }
    const int64_t lease = reply.body.at("lease").get<int64_t>();
    w.held.insert(lease);
    heartbeat.set_leases(w.held);
    const LabelTask task{reply.body.at("begin").get<int64_t>(), reply.body.at("end").get<int64_t>(),
                         reply.body.at("attempt_file").get<std::string>()};
    log_info("worker: labelling ", reply.body.value("file", std::string("?")), " [", task.begin,
             ", ", task.end, ") (lease ", lease, ")");
    TaskLogits logits;
    try {
      logits = infer_task(w.job->teacher, w.job->setup, task);
    } catch (const std::exception& e) {
      try {
        client.send(MessageType::kTaskFailed, {{"lease", lease}, {"message", e.what()}});
      } catch (const Error&) {
      }
      if (dynamic_cast<const UsageError*>(&e) != nullptr) throw;
      throw WorkerFailure(std::string("worker: labelling failed: ") + e.what());
    }
    w.writer.submit(lease, task, std::move(logits), w.job->setup);
  }
}

}  // namespace

int run_worker(const WorkerOptions& options) {
  WorkerOptions o = options;
  if (o.coordinator.empty()) throw UsageError("worker: --coordinator HOST:PORT is required");
  const std::string token = o.token.empty() ? read_token(o.token_file) : o.token;
  if (o.name.empty()) {
    char host[256] = "host";
    ::gethostname(host, sizeof host - 1);
    o.name = std::string(host) + ":" + std::to_string(::getpid());
  }
  if (o.threads > 0) at::set_num_threads(o.threads);
  resolve_device(o.device);  // a bad --device is a usage error before connecting
  WorkerState state;
  FrameClient client;
  milliseconds backoff{100};
  auto last_contact = std::chrono::steady_clock::now();
  for (;;) {
    try {
      client.connect(o.coordinator, milliseconds(5000));
      last_contact = std::chrono::steady_clock::now();
      backoff = milliseconds(100);
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
      if (std::chrono::steady_clock::now() - last_contact > o.give_up_after) {
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
