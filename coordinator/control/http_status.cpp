#include "coordinator/control/http_status.h"

#include <sstream>

namespace condenser {
namespace {

std::string respond(int code, const char* reason, const std::string& type,
                    const std::string& body) {
  std::ostringstream out;
  out << "HTTP/1.1 " << code << " " << reason << "\r\nContent-Type: " << type
      << "\r\nContent-Length: " << body.size() << "\r\nCache-Control: no-store"
      << "\r\nConnection: close\r\n\r\n"
      << body;
  return out.str();
}

const char* kMinimalPage =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>condenser</title></head>"
    "<body><h1>condenser coordinator</h1><p><a href=\"/status\">/status</a> (JSON) &middot; "
    "<a href=\"/metrics\">/metrics</a> (Prometheus)</p></body></html>\n";

}  // namespace

nlohmann::json status_json(const ControlHandler& handler, const StatusInfo& info,
                           int64_t now_unix_ms) {
  const TaskTable& t = handler.table();
  const int64_t total = static_cast<int64_t>(t.tasks().size());
  const int64_t done = t.count(TaskState::kDone);
  nlohmann::json j;
  j["job"] = info.job;
  j["stage"] = info.stage;
  j["progress"] = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int64_t done_here = done - info.done_at_start;
  if (done == total) {
    j["eta_seconds"] = 0.0;
  } else if (done_here > 0) {
    j["eta_seconds"] =
        info.elapsed_seconds / static_cast<double>(done_here) * static_cast<double>(total - done);
  } else {
    j["eta_seconds"] = nullptr;
  }
  j["elapsed_seconds"] = info.elapsed_seconds;
  j["tasks"] = {{"total", total},
                {"pending", t.count(TaskState::kPending)},
                {"leased", t.count(TaskState::kLeased)},
                {"done", done}};
  j["workers"] = nlohmann::json::array();
  for (const auto& [id, w] : handler.workers()) {
    j["workers"].push_back(
        {{"id", id},
         {"name", w.name},
         {"peer", w.peer},
         {"pid", w.pid},
         {"connected", w.connected},
         {"last_heartbeat_unix_ms", w.last_heartbeat_unix_ms},
         {"seconds_since_heartbeat", (now_unix_ms - w.last_heartbeat_unix_ms) / 1000.0},
         {"tasks_committed", w.tasks_committed},
         {"uploads", w.uploads}});
  }
  const ControlCounters& c = handler.counters();
  j["counters"] = {{"commits", c.commits_total},
                   {"stale_completions", c.stale_completions_total},
                   {"rejected_commits", c.rejected_commits_total},
                   {"expired_leases", c.expired_leases_total},
                   {"refused_connections", c.refused_total},
                   {"protocol_errors", c.protocol_errors_total},
                   {"reassignments", t.reassignments()}};
  return j;
}

std::string metrics_text(const ControlHandler& handler, const StatusInfo& info) {
  const TaskTable& t = handler.table();
  const ControlCounters& c = handler.counters();
  std::ostringstream out;
  const auto metric = [&out](const char* name, const char* type, const char* help, auto value,
                             const std::string& labels = "") {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
        << name << labels << " " << value << "\n";
  };
  out << "# HELP condenser_tasks Labelling tasks by state.\n# TYPE condenser_tasks gauge\n";
  out << "condenser_tasks{state=\"pending\"} " << t.count(TaskState::kPending) << "\n";
  out << "condenser_tasks{state=\"leased\"} " << t.count(TaskState::kLeased) << "\n";
  out << "condenser_tasks{state=\"done\"} " << t.count(TaskState::kDone) << "\n";
  int64_t busy = 0, idle = 0, gone = 0;
  for (const auto& [id, w] : handler.workers()) {
    if (!w.connected) {
      ++gone;
    } else if (t.leases_of(id) > 0) {
      ++busy;
    } else {
      ++idle;
    }
  }
  metric("condenser_workers_connected", "gauge", "Workers connected now.", busy + idle);
  out << "# HELP condenser_workers Workers by state (busy: holding a lease; disconnected: gone "
         "since they joined).\n# TYPE condenser_workers gauge\n";
  out << "condenser_workers{state=\"busy\"} " << busy << "\n";
  out << "condenser_workers{state=\"idle\"} " << idle << "\n";
  out << "condenser_workers{state=\"disconnected\"} " << gone << "\n";
  out << handler.metrics().lease_grant.text(
      "condenser_lease_grant_seconds",
      "Seconds from a worker's request for work to its lease sent.");
  out << handler.metrics().commit.text("condenser_commit_seconds",
                                       "Seconds from a worker's completion to its acknowledgement "
                                       "(durable journal record included).");
  metric("condenser_elapsed_seconds", "gauge", "Seconds since the coordinator started.",
         info.elapsed_seconds);
  metric("condenser_frames_received_total", "counter", "Protocol frames received.", c.frames_total);
  metric("condenser_leases_total", "counter", "Leases handed out.", c.leases_total);
  metric("condenser_leases_expired_total", "counter", "Leases that expired.",
         c.expired_leases_total);
  metric("condenser_task_reassignments_total", "counter",
         "Tasks put back to pending (expiry, disconnect, failure).", t.reassignments());
  metric("condenser_shards_committed_total", "counter", "Shards committed to the manifest.",
         c.commits_total);
  metric("condenser_rows_committed_total", "counter", "Soft-label rows committed.",
         c.rows_committed_total);
  metric("condenser_uploaded_bytes_total", "counter",
         "Shard bytes received from workers that upload over their connection.",
         c.uploaded_bytes_total);
  metric("condenser_completions_stale_total", "counter",
         "Late completions discarded (expired or reassigned lease).", c.stale_completions_total);
  metric("condenser_commits_rejected_total", "counter", "Completions whose shard failed checks.",
         c.rejected_commits_total);
  metric("condenser_connections_refused_total", "counter", "Handshakes refused (token).",
         c.refused_total);
  metric("condenser_protocol_errors_total", "counter", "Connections dropped for bad frames.",
         c.protocol_errors_total);
  return out.str();
}

std::string http_response(std::string_view request, const HttpRoutes& routes) {
  const size_t line_end = request.find("\r\n");
  const std::string_view line = request.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
    return respond(400, "Bad Request", "text/plain", "bad request\n");
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  path = path.substr(0, path.find('?'));
  if (method != "GET") return respond(405, "Method Not Allowed", "text/plain", "read-only\n");
  try {
    if (path == "/status" && routes.status) {
      return respond(200, "OK", "application/json", routes.status());
    }
    if (path == "/metrics" && routes.metrics) {
      return respond(200, "OK", "text/plain; version=0.0.4", routes.metrics());
    }
    if (path == "/") {
      return respond(200, "OK", "text/html; charset=utf-8",
                     routes.dashboard ? routes.dashboard() : std::string(kMinimalPage));
    }
  } catch (const std::exception& e) {  // the coordinator stopped under the request, ...
    return respond(503, "Service Unavailable", "text/plain", std::string(e.what()) + "\n");
  }
  return respond(404, "Not Found", "text/plain", "not found\n");
}

nlohmann::json with_labelling(nlohmann::json job, const nlohmann::json& labelling) {
  for (const char* key : {"tasks", "workers", "counters"}) {
    if (labelling.contains(key)) job[key] = labelling[key];
  }
  if (job.value("stage", std::string()) == "label") {
    for (const char* key : {"progress", "eta_seconds"}) {
      if (labelling.contains(key)) job[key] = labelling[key];
    }
  }
  job["labelling"] = labelling;
  return job;
}

}  // namespace condenser
