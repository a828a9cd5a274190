#include "coordinator/control/label_service.h"

#include <ATen/Parallel.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <thread>

#include "coordinator/control/control_server.h"
#include "coordinator/control/local_workers.h"
#include "coordinator/control/shard_commit.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "report/dashboard.h"
#include "protocol/label_spec.h"

namespace condenser {
namespace {

std::string absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return path;
  return buf;
}

LabelSpec make_spec(const JobContext& job, const LabellerSetup& setup) {
  LabelSpec s;
  s.teacher_path = absolute(job.config.teacher.path.empty() ? job.paths.models + "/teacher.pt"
                                                            : job.config.teacher.path);
  s.teacher_sha256 = setup.meta.teacher_sha256;
  s.dataset = job.config.data.dataset;
  s.data_dir = absolute(job.config.data.path);
  s.validation_size = job.config.data.validation_size;
  s.train_subset = job.config.data.train_subset;
  s.split_seed = static_cast<uint64_t>(job.config.seed);
  s.dataset_fingerprint = setup.meta.dataset_fingerprint;
  s.num_samples = static_cast<int64_t>(setup.samples.size());
  s.soft_label_dir = absolute(setup.soft_label_dir);
  s.temperature = setup.meta.temperature;
  s.num_classes = setup.meta.num_classes;
  s.dtype = setup.dtype == LogitDType::kFloat16 ? "float16" : "float32";
  s.top_k = setup.top_k;
  s.views = setup.views;
  s.augment_seed = setup.augment_seed;
  s.batch_size = setup.batch_size;
  s.precision = job.config.teacher.precision;
  return s;
}

std::string trimmed_token(const std::string& path) {
  std::string t = read_file(path);
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LabellingResult label_with_workers(JobContext& job, const LabellerSetup& setup,
                                   const std::vector<LabelTask>& tasks,
                                   const std::vector<LabelTask>& todo, Manifest manifest,
                                   const LabelServiceHooks& hooks) {
  const auto start = Clock::now();
  const JobOptions& o = job.options;
  const int local_workers = hooks.local_workers >= 0 ? hooks.local_workers : o.local_workers;
  if (manifest.total_rows == 0) {
    for (const LabelTask& t : tasks) manifest.total_rows += (t.end - t.begin) * setup.views;
  }
  save_manifest(job.paths.manifest, manifest);  // valid (with reused shards) before new ones

  std::vector<TableTask> plan;
  for (const LabelTask& t : tasks) plan.push_back({t.begin, t.end, t.file});
  TaskTable table(plan, std::chrono::milliseconds(o.lease_ms));
  for (size_t i = 0; i < tasks.size(); ++i) {
    bool pending = false;
    for (const LabelTask& t : todo) pending = pending || t.file == tasks[i].file;
    if (!pending) table.mark_done(static_cast<int64_t>(i));
  }
  const nlohmann::json spec = to_json(make_spec(job, setup));
  const std::string table_path = job.paths.root + "/tasks.json";
  if (path_exists(table_path)) {
    const auto saved = nlohmann::json::parse(read_file(table_path), nullptr, false);
    if (saved.is_discarded() || !saved.is_object() || saved.value("job", nlohmann::json()) != spec) {
      log_info("coordinator: ", table_path, " belongs to another labelling job; not resumed");
    } else if (table.restore(saved, std::chrono::steady_clock::now())) {
      log_info("coordinator: resumed the task table (", table.count(TaskState::kLeased),
               " lease(s) kept for their workers, ", table.count(TaskState::kDone), "/",
               tasks.size(), " tasks done)");
    }
  }
  sweep_stale_attempts(setup.soft_label_dir, table);

  ShardCommitter committer(setup.soft_label_dir, job.paths.manifest, table_path, manifest,
                           setup.views, spec);
  LabellingResult result;
  size_t shards_seen = committer.manifest().shards.size();
  if (hooks.committed) hooks.committed(committer.manifest());
  if (table.all_done()) {
    if (hooks.serving) hooks.serving("");
    result.manifest = committer.manifest();
    return result;
  }
  committer.persist(table);

  HandlerOptions handler_options;
  handler_options.heartbeat_ms = std::max(100, std::min(o.read_timeout_ms, o.lease_ms) / 3);
  ControlHandler handler(table, trimmed_token(job.paths.token), spec, committer, handler_options);
  StatusInfo info;
  info.job = job.config.name;
  info.done_at_start = table.count(TaskState::kDone);
  const auto status_info = [&info, start] {
    StatusInfo i = info;
    i.elapsed_seconds = since(start);
    return i;
  };
  HttpRoutes routes;
  routes.status = [&] { return status_json(handler, status_info(), unix_ms()).dump(2) + "\n"; };
  routes.metrics = [&] { return metrics_text(handler, status_info()); };
  // GET /: the caller's page, else the live dashboard of this run directory.
  routes.dashboard = o.dashboard ? o.dashboard : [root = job.paths.root] {
    return render_dashboard(root);
  };
  ServerOptions server_options;
  server_options.control_listen = hooks.listen.empty() ? o.listen : hooks.listen;
  server_options.http_listen = o.http_listen;
  server_options.read_timeout = std::chrono::milliseconds(o.read_timeout_ms);
  ControlServer server(handler, server_options, routes);

  const std::string where = job.paths.root + "/coordinator.json";
  atomic_write_file(where, nlohmann::json{{"control", server.control_address()},
                                          {"http", server.http_address()},
                                          {"pid", ::getpid()}}
                                   .dump() + "\n");
  log_info("coordinator: control ", server.control_address(), ", http://",
           server.http_address(), "/status; ", tasks.size() - info.done_at_start,
           " task(s) to label; workers: condenser worker --coordinator ",
           server.control_address(), " --token-file ", absolute(job.paths.token));

  if (hooks.serving) hooks.serving(server.control_address());
  const int threads = std::max(1, at::get_num_threads() / std::max(1, local_workers));
  LocalWorkers workers(local_workers, server.control_address(), absolute(job.paths.token),
                       job.config.runtime.device, threads);
  for (bool done = false; !done;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (hooks.stop && hooks.stop()) {
      log_info("coordinator: stopped on request; the next run labels the rest");
      break;
    }
    Manifest committed;
    server.run_on_io([&] {
      done = table.all_done();
      if (hooks.committed && committer.manifest().shards.size() != shards_seen) {
        committed = committer.manifest();
      }
    });
    if (!committed.shards.empty()) {
      shards_seen = committed.shards.size();
      hooks.committed(committed);
    }
    const int running = workers.poll();
    if (!done && local_workers > 0 && running == 0 && !workers.failures().empty()) {
      throw RuntimeFailure("labelling stopped: " + workers.failures().front() +
                           " and no local worker is left (see its log above)");
    }
  }
  // Workers learn "no more work" on their next request: keep answering until
  // they have hung up (bounded), then stop.
  const auto linger_until = Clock::now() + std::chrono::seconds(5);
  for (bool connected = true; connected && Clock::now() < linger_until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    workers.poll();
    server.run_on_io([&] {
      connected = false;
      for (const auto& [id, w] : handler.workers()) connected = connected || w.connected;
    });
  }
  workers.wait(10.0);
  server.run_on_io([&] {
    result.teacher_forward_samples = handler.counters().rows_committed_total;
    result.manifest = committer.manifest();
  });
  server.stop();
  ::unlink(where.c_str());
  ::unlink(table_path.c_str());
  result.seconds = since(start);
  return result;
}

}  // namespace condenser
