// The read-only HTTP side as pure functions: routing, /status JSON, /metrics text.
#include "coordinator/control/http_status.h"
#include "tests/coordinator/control/control_test_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <sstream>

namespace condenser {
namespace {

using testing_util::kToken;

using testing_util::NoEffects;

std::string body_of(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

TEST(HttpStatus, Routes) {
  HttpRoutes routes;
  routes.status = [] { return std::string("{\"ok\":1}"); };
  routes.metrics = [] { return std::string("m 1\n"); };
  std::string r = http_response("GET /status HTTP/1.1\r\nHost: x\r\n\r\n", routes);
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(r.find("Content-Length: 8\r\n"), std::string::npos);
  EXPECT_EQ(body_of(r), "{\"ok\":1}");
  EXPECT_EQ(body_of(http_response("GET /metrics?x=1 HTTP/1.1\r\n\r\n", routes)), "m 1\n");
  EXPECT_EQ(http_response("GET /nope HTTP/1.1\r\n\r\n", routes).rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(http_response("POST /status HTTP/1.1\r\n\r\n", routes).rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(http_response("garbage", routes).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(http_response("", routes).rfind("HTTP/1.1 400", 0), 0u);
  // GET /: a minimal page until a dashboard provider is set, then the provider's.
  EXPECT_NE(http_response("GET / HTTP/1.1\r\n\r\n", routes).find("<html"), std::string::npos);
  routes.dashboard = [] { return std::string("<p>dash</p>"); };
  EXPECT_EQ(body_of(http_response("GET / HTTP/1.1\r\n\r\n", routes)), "<p>dash</p>");
}

TEST(HttpStatus, StatusAndMetricsFromTheHandler) {
  TaskTable table({{0, 4, "a.h5"}, {4, 8, "b.h5"}, {8, 9, "c.h5"}}, std::chrono::seconds(10));
  NoEffects fx;
  ControlHandler handler(table, kToken, LabelSpec{}, fx, HandlerOptions{});
  const SteadyTime now{};
  ControlSession s{"127.0.0.1:1"};
  const auto frame_of = [](const std::string& bytes) { return parse_frame(bytes).frame; };
  handler.on_frame(s, frame_of(msg::encode(msg::Hello{kToken, "w", 42})), now, 1000);
  const Frame get = frame_of(msg::encode(msg::GetTask{}));
  handler.on_frame(s, get, now, 2000);
  const auto lease = table.leases().at(0);
  handler.on_frame(s, frame_of(msg::encode(msg::TaskDone{lease.id, "", 4, ""})), now, 3000);
  handler.on_frame(s, get, now, 4000);

  StatusInfo info;
  info.job = "quick";
  info.elapsed_seconds = 10.0;
  const nlohmann::json j = status_json(handler, info, 5000);
  EXPECT_EQ(j["stage"], "label");
  EXPECT_EQ(j["tasks"]["total"], 3);
  EXPECT_EQ(j["tasks"]["done"], 1);
  EXPECT_EQ(j["tasks"]["leased"], 1);
  EXPECT_EQ(j["tasks"]["pending"], 1);
  EXPECT_NEAR(j["progress"].get<double>(), 1.0 / 3, 1e-9);
  EXPECT_NEAR(j["eta_seconds"].get<double>(), 20.0, 1e-9);  // 10 s per task, 2 left
  ASSERT_EQ(j["workers"].size(), 1u);
  EXPECT_EQ(j["workers"][0]["name"], "w");
  EXPECT_EQ(j["workers"][0]["last_heartbeat_unix_ms"], 4000);
  EXPECT_NEAR(j["workers"][0]["seconds_since_heartbeat"].get<double>(), 1.0, 1e-9);

  const std::string m = metrics_text(handler, info);
  EXPECT_NE(m.find("# TYPE condenser_shards_committed_total counter\n"
                   "condenser_shards_committed_total 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("condenser_tasks{state=\"pending\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("condenser_rows_committed_total 4\n"), std::string::npos);
  EXPECT_NE(m.find("condenser_elapsed_seconds 10\n"), std::string::npos);
  // Every sample line belongs to a declared metric; counters end in _total.
  std::istringstream lines(m);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0 && line.find(" counter") != std::string::npos) {
      EXPECT_NE(line.find("_total counter"), std::string::npos) << line;
    }
  }
}

// The histograms parse as Prometheus text: cumulative buckets ending in
// +Inf equal to _count, and _sum the total observed; workers by state.
TEST(HttpStatus, MetricsHaveLatencyHistogramsAndWorkersByState) {
  TaskTable table({{0, 4, "a.h5"}, {4, 8, "b.h5"}}, std::chrono::seconds(10));
  NoEffects fx;
  ControlHandler handler(table, kToken, LabelSpec{}, fx, HandlerOptions{});
  const auto frame_of = [](const std::string& bytes) { return parse_frame(bytes).frame; };
  ControlSession busy{"busy"}, idle{"idle"}, gone{"gone"};
  for (ControlSession* s : {&busy, &idle, &gone}) {
    handler.on_frame(*s, frame_of(msg::encode(msg::Hello{kToken, s->peer, 1})), SteadyTime{});
  }
  handler.on_frame(busy, frame_of(msg::encode(msg::GetTask{})), SteadyTime{});
  handler.on_disconnect(gone, SteadyTime{});
  for (const double s : {0.00005, 0.0003, 0.0003, 0.02, 30.0}) {
    handler.observe(Reply::Timed::kLeaseGrant, s);
  }
  handler.observe(Reply::Timed::kCommit, 0.003);
  const std::string m = metrics_text(handler, StatusInfo{});
  std::map<std::string, double> samples;
  std::istringstream lines(m);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  const std::string h = "condenser_lease_grant_seconds";
  EXPECT_NE(m.find("# TYPE " + h + " histogram\n"), std::string::npos);
  EXPECT_EQ(samples.at(h + "_bucket{le=\"0.0001\"}"), 1);
  EXPECT_EQ(samples.at(h + "_bucket{le=\"0.00025\"}"), 1);
  EXPECT_EQ(samples.at(h + "_bucket{le=\"0.0005\"}"), 3);
  EXPECT_EQ(samples.at(h + "_bucket{le=\"0.025\"}"), 4);
  EXPECT_EQ(samples.at(h + "_bucket{le=\"10\"}"), 4);
  EXPECT_EQ(samples.at(h + "_bucket{le=\"+Inf\"}"), 5);
  EXPECT_EQ(samples.at(h + "_count"), 5);
  EXPECT_NEAR(samples.at(h + "_sum"), 30.02065, 1e-9);
  EXPECT_EQ(samples.at("condenser_commit_seconds_bucket{le=\"0.0025\"}"), 0);
  EXPECT_EQ(samples.at("condenser_commit_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(samples.at("condenser_commit_seconds_count"), 1);
  EXPECT_EQ(samples.at("condenser_workers{state=\"busy\"}"), 1);
  EXPECT_EQ(samples.at("condenser_workers{state=\"idle\"}"), 1);
  EXPECT_EQ(samples.at("condenser_workers{state=\"disconnected\"}"), 1);
  EXPECT_EQ(samples.at("condenser_workers_connected"), 2);
  // Buckets never decrease.
  double last = 0;
  for (const double le : LatencyHistogram::kBounds) {
    char key[96];
    std::snprintf(key, sizeof key, "%s_bucket{le=\"%.9g\"}", h.c_str(), le);
    EXPECT_GE(samples.at(key), last) << key;
    last = samples.at(key);
  }
}

TEST(HttpStatus, EtaUnknownUntilATaskIsCommittedHere) {
  TaskTable table({{0, 4, "a.h5"}, {4, 8, "b.h5"}}, std::chrono::seconds(10));
  table.mark_done(0);
  NoEffects fx;
  ControlHandler handler(table, kToken, LabelSpec{}, fx, HandlerOptions{});
  StatusInfo info;
  info.done_at_start = 1;
  info.elapsed_seconds = 3;
  EXPECT_TRUE(status_json(handler, info, 0)["eta_seconds"].is_null());
}

}  // namespace
}  // namespace condenser
