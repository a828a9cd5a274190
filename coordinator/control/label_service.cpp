#include "coordinator/control/label_service.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <unordered_set>

#include "coordinator/control/control_server.h"
#include "coordinator/control/http_server.h"
#include "coordinator/control/job_http.h"
#include "coordinator/control/local_workers.h"
#include "coordinator/control/shard_commit.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "protocol/job_token.h"
#include "report/dashboard.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The table of `tasks`: those not in `todo` are done (their shards are in
// the manifest already).
TaskTable make_table(const LabelServiceSetup& setup, const std::vector<LabelTask>& tasks,
                     const std::vector<LabelTask>& todo) {
  TaskTable table(tasks, std::chrono::milliseconds(setup.lease_ms));
  std::unordered_set<std::string> pending;
  for (const LabelTask& t : todo) pending.insert(t.file);
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (pending.count(tasks[i].file) == 0) table.mark_done(static_cast<int64_t>(i));
  }
  return table;
}

CommitterSetup committer_setup(const LabelServiceSetup& setup) {
  CommitterSetup c;
  c.soft_label_dir = setup.spec.soft_label_dir;
  c.manifest_path = setup.paths.manifest;
  c.journal_path = setup.paths.root + "/tasks.journal";
  c.job_digest = job_digest(to_json(setup.spec).dump());
  c.views = setup.spec.views;
  c.resume = setup.resume_journal;
  return c;
}

HttpRoutes routes_for(const LabelServiceSetup& setup, const ControlHandler& handler,
                      const StatusInfo& info, Clock::time_point start) {
  const auto status_info = [info, start] {
    StatusInfo i = info;
    i.elapsed_seconds = seconds_since(start);
    return i;
  };
  HttpRoutes routes;
  routes.status = [&handler, status_info] {
    return status_json(handler, status_info(), unix_ms()).dump(2) + "\n";
  };
  routes.metrics = [&handler, status_info] { return metrics_text(handler, status_info()); };
  // GET /: the caller's page, else the live dashboard of this run directory.
  routes.dashboard = setup.dashboard ? setup.dashboard
                                     : [root = setup.paths.root] { return render_dashboard(root); };
  if (setup.http == nullptr) return routes;
  // Under a job: its routes stay the base, the labelling's are added.
  const HttpRoutes job = setup.http->routes();
  if (job.status) {
    routes.status = [&handler, status_info, job] {
      const nlohmann::json labelling = status_json(handler, status_info(), unix_ms());
      return with_labelling(nlohmann::json::parse(job.status()), labelling).dump(2) + "\n";
    };
  }
  if (job.metrics) {
    routes.metrics = [&handler, status_info, job] {
      return job.metrics() + metrics_text(handler, status_info());
    };
  }
  if (job.dashboard) routes.dashboard = job.dashboard;
  return routes;
}

// Serves until every task is done (or a stop), passing commits to the hook.
void serve_until_done(ControlServer& server, const TaskTable& table,
                      const ShardCommitter& committer, LocalWorkers& workers, int local_workers,
                      const LabelServiceHooks& hooks) {
  size_t shards_seen = committer.manifest().shards.size();
  for (bool done = false; !done;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (hooks.stop && hooks.stop()) {
      log_info("coordinator: stopped on request; the next run labels the rest");
      return;
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
    const int running = workers.poll(/*restart=*/!done);
    if (!done && local_workers > 0 && running == 0 && !workers.failures().empty()) {
      // Exit 2: the worker refused its task for a usage error (a teacher whose
      // output is NaN, ...) that its own error line above names.
      const std::string& last = workers.failures().back();
      if (workers.last_failure_was_usage()) {
        throw UsageError("labelling stopped: " + last + ", refusing its task (its error is above)");
      }
      throw RuntimeFailure("labelling stopped: " + last +
                           " and no local worker is left (restarts used up; see its log above)");
    }
  }
}

// Workers learn "no more work" on their next request: keep answering until
// they have hung up (bounded), then let the local ones exit.
void linger(ControlServer& server, const ControlHandler& handler, LocalWorkers& workers) {
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
}

// One descriptor per connected worker: take the whole hard limit (the soft
// one is often 1024). Past it the server says so and keeps serving the
// workers already connected (docs/cluster.md: open files).
void raise_open_file_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
  const rlim_t before = r.rlim_cur;
  r.rlim_cur = r.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &r) == 0) {
    log_debug("coordinator: open-file limit raised from ", before, " to ", r.rlim_max);
  }
}

}  // namespace

LabellingResult label_with_workers(const LabelServiceSetup& setup,
                                   const std::vector<LabelTask>& tasks,
                                   const std::vector<LabelTask>& todo, Manifest manifest,
                                   const LabelServiceHooks& hooks) {
  const auto start = Clock::now();
  const std::string& dir = setup.spec.soft_label_dir;
  if (manifest.total_rows == 0) {
    for (const LabelTask& t : tasks) manifest.total_rows += (t.end - t.begin) * setup.spec.views;
  }
  ::unlink((setup.paths.root + "/tasks.json").c_str());  // the table's file before the journal
  TaskTable table = make_table(setup, tasks, todo);
  ShardCommitter committer(committer_setup(setup), std::move(manifest), table, Clock::now());
  sweep_stale_attempts(dir, table);
  // Valid (reused and recovered shards) before any new one.
  committer.save_manifest_file();
  LabellingResult result;
  if (hooks.committed) hooks.committed(committer.manifest());
  if (table.all_done()) {
    committer.finish();
    if (hooks.serving) hooks.serving("");
    result.manifest = committer.manifest();
    return result;
  }

  HandlerOptions handler_options;
  handler_options.heartbeat_ms = std::max(100, std::min(setup.read_timeout_ms, setup.lease_ms) / 3);
  ControlHandler handler(table, read_job_token(setup.paths.token), setup.spec, committer,
                         handler_options);
  StatusInfo info;
  info.job = setup.job_name;
  info.done_at_start = table.count(TaskState::kDone);
  ServerOptions server_options;
  server_options.control_listen = setup.listen;
  server_options.http_listen = setup.http_listen;
  server_options.http = setup.http;
  server_options.read_timeout = std::chrono::milliseconds(setup.read_timeout_ms);
  raise_open_file_limit();
  ControlServer server(handler, server_options, routes_for(setup, handler, info, start));

  write_coordinator_file(setup.paths.root, server.http_address(), server.control_address());
  const std::string token_file = absolute_path(setup.paths.token);
  log_info("coordinator: control ", server.control_address(), ", http://", server.http_address(),
           "/status; ", tasks.size() - info.done_at_start,
           " task(s) to label; workers: condenser worker --coordinator ", server.control_address(),
           " --token-file ", token_file);

  if (hooks.serving) hooks.serving(server.control_address());
  LocalWorkers workers(setup.local_workers, server.control_address(), token_file, setup.device,
                       setup.worker_threads);
  serve_until_done(server, table, committer, workers, setup.local_workers, hooks);
  linger(server, handler, workers);
  server.run_on_io([&] {
    result.teacher_forward_samples = handler.counters().rows_committed_total;
    result.manifest = committer.manifest();
  });
  server.stop();
  committer.finish();  // manifest.json complete, the journal no longer needed
  if (setup.http != nullptr) {
    write_coordinator_file(setup.paths.root, setup.http->address());  // the job serves on
  } else {
    ::unlink((setup.paths.root + "/coordinator.json").c_str());
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace condenser
