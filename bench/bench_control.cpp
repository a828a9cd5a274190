#include "bench/bench_control.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <unordered_map>

#include "bench/bench_control_parts.h"
#include "bench/benches.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Lease grants asked for after `from` seconds into the phase (ms).
nlohmann::json lease_stats(const PhaseResult& p, double from) {
  std::vector<double> ms;
  for (const auto& [at, latency] : p.leases) {
    if (at >= from) ms.push_back(latency);
  }
  return {{"grants", ms.size()},
          {"p50_ms", percentile(ms, 0.50)},
          {"p99_ms", percentile(ms, 0.99)},
          {"max_ms", ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end())}};
}

double commits_per_second(const PhaseResult& p, double from) {
  const double span = p.seconds - from;
  if (span <= 0) return 0.0;
  const auto n =
      std::count_if(p.commit_at.begin(), p.commit_at.end(), [from](double t) { return t >= from; });
  return static_cast<double>(n) / span;
}

// Every shard manifest.json lists, by name (a text scan: a manifest of a
// million shards is bigger than load_manifest reads).
std::unordered_map<std::string, int> manifest_files(const std::string& path) {
  std::unordered_map<std::string, int> files;
  if (!path_exists(path)) return files;
  const std::string text = read_file(path);
  const std::string key = "\"file\": \"";
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
    at += key.size();
    const size_t end = text.find('"', at);
    ++files[text.substr(at, end - at)];
  }
  return files;
}

nlohmann::json exactly_once(const std::string& manifest_path, const std::vector<uint8_t>& acked) {
  const auto files = manifest_files(manifest_path);
  int64_t twice = 0, acked_total = 0, acked_missing = 0, acked_twice = 0;
  for (const auto& [f, n] : files) twice += n > 1 ? 1 : 0;
  for (size_t t = 0; t < acked.size(); ++t) {
    acked_total += acked[t];
    acked_twice += acked[t] > 1 ? 1 : 0;
    if (acked[t] > 0 && files.count(bench_shard_name(static_cast<int64_t>(t))) == 0) {
      ++acked_missing;
    }
  }
  const auto tasks = static_cast<int64_t>(acked.size());
  const bool all = static_cast<int64_t>(files.size()) == tasks;
  return {{"manifest_shards", files.size()},
          {"acked_commits", acked_total},
          {"listed_twice", twice},
          {"acked_twice", acked_twice},
          {"acked_but_not_listed", acked_missing},
          {"all_tasks_done", all},
          {"ok", twice == 0 && acked_twice == 0 && acked_missing == 0}};
}

// A histogram of /metrics as the coordinator measured it: count, mean, and
// the bucket bounds p50 and p99 fall under (ms).
nlohmann::json server_histogram(const std::string& metrics, const std::string& name) {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative)
  double count = 0, sum = 0;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos || line.rfind(name, 0) != 0) continue;
    const double v = std::atof(line.c_str() + sp + 1);
    const std::string key = line.substr(name.size(), sp - name.size());
    if (key == "_count") count = v;
    if (key == "_sum") sum = v;
    if (key.rfind("_bucket{le=\"", 0) == 0 && key.find("+Inf") == std::string::npos) {
      buckets.emplace_back(std::atof(key.c_str() + 12), v);
    }
  }
  const auto bound_ms = [&](double q) {
    for (const auto& [le, n] : buckets) {
      if (n >= q * count) return le * 1000.0;
    }
    return -1.0;  // above the last bound
  };
  return {{"count", count},
          {"mean_ms", count > 0 ? sum / count * 1000.0 : 0.0},
          {"p50_at_most_ms", bound_ms(0.5)},
          {"p99_at_most_ms", bound_ms(0.99)}};
}

void check_options(const ControlBenchOptions& o) {
  if (o.workers < 1 || o.workers > 1000000) {
    throw UsageError("bench control: --workers must be 1 .. 1000000, not " +
                     std::to_string(o.workers));
  }
  if (o.tasks < 2) throw UsageError("bench control: --tasks must be at least 2");
  if (o.heartbeat_ms < 10 || o.lease_ms <= o.heartbeat_ms) {
    throw UsageError("bench control: the heartbeat must be >= 10 ms and shorter than the lease");
  }
}

// What one run measured, before it is summarised.
struct Measured {
  int task_ms = 0;
  int64_t fds = 0;
  double connect_s = 0.0, ready_s = 0.0, kill_to_phase_b = 0.0;
  ProcStats idle, joined, after_a, after_b;
  PhaseResult a, b;
  CoordinatorChild second;
  nlohmann::json exactly_once;
  std::string metrics_a;  // the first coordinator's /metrics before the kill
};

Measured measure(const ControlBenchOptions& o) {
  Measured m;
  // Both processes hold one socket per worker (the child inherits the limit).
  m.fds = raise_fd_limit(o.workers + 256);
  if (m.fds < o.workers + 64) {
    throw UsageError("bench control: " + std::to_string(o.workers) + " workers need " +
                     std::to_string(o.workers + 64) + " open files per process; the limit is " +
                     std::to_string(m.fds) +
                     " and cannot be raised here (run as root, or lower "
                     "--workers)");
  }
  const std::string run_dir = o.scratch_dir + "/control-run";
  remove_tree(run_dir);
  ensure_dir(run_dir + "/soft_labels");
  m.task_ms = o.task_ms >= 0 ? o.task_ms : std::max(1, o.workers / 4);
  CoordinatorChildSetup cs{
      run_dir,   "0123456789abcdef0123456789abcdef", "127.0.0.1:0", o.tasks, o.dry, o.heartbeat_ms,
      o.lease_ms};
  CoordinatorChild first = start_coordinator(cs);
  m.idle = proc_stats(first.pid);
  Fleet fleet({o.workers, o.tasks, o.dry, m.task_ms, cs.token, run_dir + "/soft_labels"});
  m.connect_s = fleet.connect(first.control);
  m.joined = proc_stats(first.pid);
  log_info("bench control: ", o.workers, " workers joined in ", m.connect_s, " s; labelling");
  m.a = fleet.run(o.phase_seconds, o.tasks / 2);
  m.after_a = proc_stats(first.pid);
  m.metrics_a = fetch_metrics(first.http);
  // The crash: SIGKILL, then a new coordinator on the same address from the journal.
  ::kill(first.pid, SIGKILL);
  wait_coordinator(first, false);
  const auto killed = Clock::now();
  cs.listen = first.control;
  m.second = start_coordinator(cs);
  m.ready_s = std::chrono::duration<double>(Clock::now() - killed).count();
  fleet.expect_restart();
  m.kill_to_phase_b = std::chrono::duration<double>(Clock::now() - killed).count();
  m.b = fleet.run(o.phase_seconds, o.tasks);
  m.after_b = proc_stats(m.second.pid);
  const int code = wait_coordinator(m.second, true);  // SIGTERM: it writes manifest.json
  if (code != 0) {
    throw RuntimeFailure("bench control: the coordinator exited " + std::to_string(code));
  }
  m.exactly_once = exactly_once(run_dir + "/manifest.json", fleet.acked());
  return m;
}

nlohmann::json summarise(const ControlBenchOptions& o, const Measured& m) {
  // Steady state: after every worker's first task (1.5 task times).
  const double warm = std::min(m.a.seconds / 2, 1.5 * m.task_ms / 1000.0);
  const double cpu = m.after_a.cpu_seconds - m.joined.cpu_seconds;
  nlohmann::json j = {{"workers", o.workers},
                      {"tasks", o.tasks},
                      {"dry", o.dry},
                      {"task_ms", m.task_ms},
                      {"heartbeat_ms", o.heartbeat_ms},
                      {"lease_ms", o.lease_ms},
                      {"fd_limit", m.fds},
                      {"connect_seconds", m.connect_s}};
  j["lease_grant"] = lease_stats(m.a, warm);
  j["lease_grant"]["warmup_seconds"] = warm;
  j["lease_grant_whole_phase"] = lease_stats(m.a, 0.0);
  // The same phase as the coordinator timed it (request in to reply out),
  // without the workers' own scheduling: the difference is the client side.
  j["coordinator_side"] = {
      {"lease_grant", server_histogram(m.metrics_a, "condenser_lease_grant_seconds")},
      {"commit", server_histogram(m.metrics_a, "condenser_commit_seconds")}};
  j["commits_per_second"] = commits_per_second(m.a, warm);
  j["phase_seconds"] = m.a.seconds;
  j["commits"] = m.a.commits;
  j["coordinator_cpu_seconds"] = cpu;
  j["coordinator_cpu_cores"] = cpu / m.a.seconds;
  j["rss_bytes_idle"] = m.idle.rss_bytes;
  j["rss_bytes_joined"] = m.joined.rss_bytes;
  j["rss_bytes_end"] = m.after_a.rss_bytes;
  j["rss_bytes_per_worker"] =
      static_cast<double>(m.joined.rss_bytes - m.idle.rss_bytes) / o.workers;
  j["recovery"] = {{"journal_replay_seconds", m.second.replay_seconds},
                   {"recovered_commits", m.second.recovered_commits},
                   {"kill_to_serving_seconds", m.ready_s},
                   {"kill_to_first_lease_seconds", m.kill_to_phase_b + m.b.first_lease_seconds},
                   {"kill_to_all_workers_back_seconds", m.kill_to_phase_b + m.b.reconnect_seconds},
                   {"lease_grant_after_restart", lease_stats(m.b, 0.0)},
                   {"commits", m.b.commits},
                   {"seconds", m.b.seconds},
                   {"coordinator_cpu_seconds", m.after_b.cpu_seconds}};
  j["stale_completions"] = m.a.stale + m.b.stale;
  j["exactly_once"] = m.exactly_once;
  return j;
}

}  // namespace

ControlBenchOptions control_bench_defaults(const BenchOptions& options) {
  ControlBenchOptions c;
  c.scratch_dir = options.scratch_dir;
  c.out_dir = options.out_dir;
  if (options.quick) {
    c.workers = 50;
    c.tasks = 2000;
    c.phase_seconds = 20;
  }
  return c;
}

BenchReport bench_control(const ControlBenchOptions& o) {
  check_options(o);
  const nlohmann::json j = summarise(o, measure(o));
  BenchReport report;
  report.bench = "control";
  const double p99 = j["lease_grant"]["p99_ms"].get<double>();
  const double rate = j["commits_per_second"].get<double>();
  const double per_worker = j["rss_bytes_per_worker"].get<double>();
  report.cases.push_back({"lease grant p50", j["lease_grant"]["p50_ms"].get<double>(), 0.0, "ms"});
  report.cases.push_back({"lease grant p99", p99, 0.0, "ms"});
  report.cases.push_back({"lease grant max", j["lease_grant"]["max_ms"].get<double>(), 0.0, "ms"});
  report.cases.push_back({"commits/s", rate, 0.0, "1/s"});
  report.cases.push_back(
      {"coordinator CPU", j["coordinator_cpu_cores"].get<double>(), 0.0, "cores"});
  report.cases.push_back({"RSS per worker", per_worker, 0.0, "bytes"});
  report.cases.push_back(
      {"kill to serving", j["recovery"]["kill_to_serving_seconds"].get<double>(), 0.0, "s"});
  report.ratios.push_back({"lease_grant_p99_ms", p99, 10.0, false});
  report.ratios.push_back({"commits_per_second", rate, 2000.0, true});
  report.ratios.push_back({"rss_bytes_per_worker", per_worker, 16384.0, false});
  report.tables["control"] = j;
  return report;
}

}  // namespace condenser
