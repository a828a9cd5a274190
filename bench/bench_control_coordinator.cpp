// The coordinator half of `condenser bench control`: a forked child that
// serves the bench's tasks with the real control server, handler, table,
// committer and journal, and the /proc readings of its CPU and memory.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/bench_control_parts.h"
#include "coordinator/control/control_server.h"
#include "coordinator/control/shard_commit.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "protocol/address.h"
#include "protocol/tcp_client.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;
void on_term(int) { g_stop = 1; }

std::vector<LabelTask> bench_tasks(int64_t n) {
  std::vector<LabelTask> tasks;
  tasks.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) tasks.push_back({i, i + 1, bench_shard_name(i)});
  return tasks;
}

// The child's whole life: serve, then write manifest.json and exit.
[[noreturn]] void serve(const CoordinatorChildSetup& s, int ready_fd) {
  std::signal(SIGTERM, on_term);
  set_log_level(LogLevel::kError);  // no line per commit, worker or late completion
  int code = 0;
  try {
    TaskTable table(bench_tasks(s.tasks), std::chrono::milliseconds(s.lease_ms));
    CommitterSetup c;
    c.soft_label_dir = s.run_dir + "/soft_labels";
    c.manifest_path = s.run_dir + "/manifest.json";
    c.journal_path = s.run_dir + "/tasks.journal";
    c.job_digest = job_digest("bench control");
    c.check_files = !s.dry;
    Manifest manifest;
    manifest.total_rows = s.tasks;
    ShardCommitter committer(c, manifest, table, Clock::now());
    HandlerOptions ho;
    ho.heartbeat_ms = s.heartbeat_ms;
    LabelSpec spec;
    spec.soft_label_dir = c.soft_label_dir;
    spec.num_samples = s.tasks;
    ControlHandler handler(table, s.token, spec, committer, ho);
    ServerOptions so;
    so.control_listen = s.listen;
    so.read_timeout = std::chrono::milliseconds(std::max(10000, 3 * s.heartbeat_ms));
    HttpRoutes routes;
    routes.metrics = [&handler] { return metrics_text(handler, StatusInfo{}); };
    ControlServer server(handler, so, routes);
    const std::string ready = "ready " + server.control_address() + " " + server.http_address() +
                              " " + std::to_string(committer.recovery().seconds) + " " +
                              std::to_string(committer.recovery().commits.size()) + "\n";
    if (::write(ready_fd, ready.data(), ready.size()) < 0) std::_Exit(3);
    ::close(ready_fd);
    // Serves until SIGTERM, so that every worker hears "no more work".
    while (g_stop == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      server.run_on_io([] {});  // throws if the io thread failed
    }
    server.stop();
    committer.finish();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench control: coordinator: %s\n", e.what());
    code = 1;
  }
  std::_Exit(code);  // no LibTorch or static destructors in a forked child
}

}  // namespace

std::string bench_shard_name(int64_t task) {
  char name[32];
  std::snprintf(name, sizeof name, "shard-%07lld.h5", static_cast<long long>(task));
  return name;
}

CoordinatorChild start_coordinator(const CoordinatorChildSetup& setup) {
  int fds[2];
  if (::pipe(fds) != 0) throw RuntimeFailure(std::string("pipe: ") + std::strerror(errno));
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw RuntimeFailure(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Not the bench's worker sockets: the coordinator's descriptors are its own.
    ::close_range(3, static_cast<unsigned>(fds[1]) - 1, 0);
    ::close_range(static_cast<unsigned>(fds[1]) + 1, ~0u, 0);
    serve(setup, fds[1]);
  }
  ::close(fds[1]);
  std::string line;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
    if (line.find('\n') != std::string::npos) break;
  }
  ::close(fds[0]);
  CoordinatorChild child;
  child.pid = pid;
  std::istringstream in(line);
  std::string word;
  in >> word >> child.control >> child.http >> child.replay_seconds >> child.recovered_commits;
  if (word != "ready") {
    int status = 0;
    ::waitpid(pid, &status, 0);
    throw RuntimeFailure("bench control: the coordinator did not start (see its error above)");
  }
  child.start_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return child;
}

int wait_coordinator(CoordinatorChild& child, bool terminate) {
  if (child.pid <= 0) return -1;
  if (terminate) ::kill(child.pid, SIGTERM);
  int status = 0;
  while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  child.pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string fetch_metrics(const std::string& http) {
  TcpClient client;
  client.connect(parse_host_port(http, "bench control"), std::chrono::seconds(5));
  client.send_all("GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n");
  std::string response;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (client.receive_some(&response, deadline) > 0) {
  }
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

ProcStats proc_stats(pid_t pid) {
  ProcStats s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close_paren = text.rfind(')');
  if (close_paren != std::string::npos) {
    std::istringstream f(text.substr(close_paren + 2));
    std::string field;
    long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && f >> field; ++i) {
      if (i == 14) utime = std::atoll(field.c_str());
      if (i == 15) stime = std::atoll(field.c_str());
    }
    s.cpu_seconds =
        static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_bytes = std::atoll(line.c_str() + 6) * 1024;
  }
  return s;
}

int64_t raise_fd_limit(int64_t fds) {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_max != RLIM_INFINITY && static_cast<int64_t>(r.rlim_max) < fds) {
    rlimit want = r;
    want.rlim_max = static_cast<rlim_t>(fds);  // needs CAP_SYS_RESOURCE; else keeps the hard limit
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) r = want;
  }
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
  ::getrlimit(RLIMIT_NOFILE, &r);
  return static_cast<int64_t>(r.rlim_cur);
}

}  // namespace condenser
