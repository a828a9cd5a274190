#include "report/status_view.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/bounded_read.h"
#include "core/errors.h"
#include "core/files.h"
#include "protocol/address.h"
#include "protocol/tcp_client.h"

namespace condenser {
namespace {

std::string bar(double fraction, int width) {
  const int filled = static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * width));
  return "[" + std::string(size_t(filled), '#') + std::string(size_t(width - filled), '-') + "]";
}

std::string duration(double seconds) {
  const auto s = static_cast<long long>(seconds);
  std::ostringstream out;
  if (s >= 3600) out << s / 3600 << "h";
  if (s >= 60) out << (s % 3600) / 60 << "m";
  out << s % 60 << "s";
  return out.str();
}

}  // namespace

std::string render_progress(const nlohmann::json& p) {
  std::ostringstream out;
  out << "job " << p.value("job", std::string("?")) << ": "
      << (p.value("finished", false) ? "finished" : "running, stage " + p.value("stage", std::string("?")))
      << ", " << duration(p.value("elapsed_seconds", 0.0)) << " elapsed";
  if (p.contains("eta_seconds") && p["eta_seconds"].is_number()) {
    out << ", ETA " << duration(p["eta_seconds"].get<double>());
  }
  out << "\n";
  for (const auto& s : p.value("stages", nlohmann::json::array())) {
    const int64_t total = s.value("total_steps", int64_t(0)), steps = s.value("steps", int64_t(0));
    const bool done = s.value("done", false);
    out << "  " << s.value("name", std::string("?"));
    out << std::string(size_t(std::max<int>(1, 9 - int(s.value("name", std::string()).size()))), ' ');
    out << bar(done ? 1.0 : total > 0 ? double(steps) / double(total) : 0.0, 30) << " ";
    if (total > 0) out << steps << "/" << total << " steps";
    if (done) out << (total > 0 ? ", " : "") << "done in " << duration(s.value("seconds", 0.0));
    out << "\n";
  }
  return out.str();
}

nlohmann::json read_progress(const std::string& run_dir) {
  const std::string path = run_dir + "/progress.json";
  if (!path_exists(path)) {
    throw UsageError("no progress in '" + run_dir + "' (" + path + " is missing): not a run "
                     "directory, or its job has not started yet");
  }
  try {
    return nlohmann::json::parse(read_file_at_most(path, kMaxRecordBytes, "progress file"));
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("'" + path + "' is not valid JSON: " + e.what());
  }
}

nlohmann::json fetch_status(const std::string& host_port) {
  const std::string flag = "--coordinator '" + host_port + "'";
  const HostPort at = parse_host_port(host_port, "--coordinator");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string response;
  TcpClient http;
  try {
    http.connect(at, std::chrono::seconds(5));
    http.send_all("GET /status HTTP/1.0\r\nHost: " + format_host_port(at) + "\r\n\r\n");
    while (http.receive_some(&response, deadline) > 0) {
    }
  } catch (const TcpError& e) {
    if (e.kind() == TcpError::Kind::kResolve) throw UsageError(flag + ": " + e.what());
    throw UsageError(flag + ": nothing answers there (" + e.what() + "; is the job running? "
                     "its http address is in RUN_DIR/coordinator.json)");
  }
  const size_t body = response.find("\r\n\r\n");
  try {
    return nlohmann::json::parse(body == std::string::npos ? "" : response.substr(body + 4));
  } catch (const nlohmann::json::exception&) {
    throw UsageError(flag + " did not answer GET /status with JSON");
  }
}

}  // namespace condenser
