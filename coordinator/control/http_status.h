#pragma once
// The coordinator's read-only HTTP side, as pure functions: GET /status
// (JSON), GET /metrics (Prometheus text format, base units, _total
// counters), GET / (an HTML page from a pluggable provider); everything else
// 404, anything but GET 405. http_server.cpp only moves the bytes.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "coordinator/control/control_handler.h"

namespace condenser {

struct StatusInfo {
  std::string job;  // job name
  std::string stage = "label";
  double elapsed_seconds = 0;  // since this coordinator started
  int64_t done_at_start = 0;   // tasks already done when it started (reused shards)
};

// {"job", "stage", "progress" (0..1 of tasks), "eta_seconds" (null until a
// task was committed here), "tasks": {"total","pending","leased","done"},
// "workers": [{"id","name","peer","pid","connected","last_heartbeat_unix_ms",
// "seconds_since_heartbeat","tasks_committed","uploads"}], "counters": {...}}.
nlohmann::json status_json(const ControlHandler& handler, const StatusInfo& info,
                           int64_t now_unix_ms);

// Prometheus exposition text: condenser_* gauges (tasks and workers by
// state), _total counters, and the histograms condenser_lease_grant_seconds
// and condenser_commit_seconds (_bucket{le}, _sum, _count).
std::string metrics_text(const ControlHandler& handler, const StatusInfo& info);

struct HttpRoutes {
  std::function<std::string()> status;     // body of /status
  std::function<std::string()> metrics;    // body of /metrics
  std::function<std::string()> dashboard;  // body of / (HTML); a minimal page when empty
};

// A complete HTTP/1.1 response (Connection: close) to the request whose head
// is `request` (request line + headers). A route that throws is answered 503
// with its message.
std::string http_response(std::string_view request, const HttpRoutes& routes);

// The job's /status while it labels (label_service.h, under a job): `job`
// with the labelling status under "labelling", and its "tasks", "workers"
// and "counters" on top as a coordinator alone shows them; its "progress"
// and "eta_seconds" too while the job's stage is "label" (pipelined, the
// student stage's own stay).
nlohmann::json with_labelling(nlohmann::json job, const nlohmann::json& labelling);

}  // namespace condenser
