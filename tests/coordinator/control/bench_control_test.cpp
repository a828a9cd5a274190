// `condenser bench control --quick`, run as a real process: 50 simulated
// workers on loopback against a real coordinator child that is killed
// (SIGKILL) halfway and restarted from its journal. The JSON must carry every
// figure the benchmark promises, and every task must be committed exactly once
// (manifest.json lists each shard once; no acknowledged commit is missing).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

TEST(BenchControl, QuickRunReportsEveryFigureAndCommitsEachTaskOnce) {
  const std::string binary = CONDENSER_BINARY;
  if (!path_exists(binary)) GTEST_SKIP() << binary << " is not built";
  TempDir tmp("bench_control");
  const std::string cmd = "'" + binary + "' bench control --quick --out '" + tmp.path + "' > '" +
                          tmp.path + "/log' 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(tmp.path + "/log");
  const auto report = nlohmann::json::parse(read_file(tmp.path + "/control.json"));
  const nlohmann::json& j = report.at("tables").at("control");
  EXPECT_EQ(j.at("workers"), 50);
  EXPECT_EQ(j.at("tasks"), 2000);
  EXPECT_EQ(j.at("dry"), false);
  for (const char* k : {"p50_ms", "p99_ms", "max_ms"}) {
    EXPECT_GT(j.at("lease_grant").at(k).get<double>(), 0.0) << k;
  }
  EXPECT_LE(j["lease_grant"]["p50_ms"].get<double>(), j["lease_grant"]["p99_ms"].get<double>());
  EXPECT_LE(j["lease_grant"]["p99_ms"].get<double>(), j["lease_grant"]["max_ms"].get<double>());
  EXPECT_GT(j.at("commits_per_second").get<double>(), 0.0);
  EXPECT_GT(j.at("coordinator_cpu_seconds").get<double>(), 0.0);
  EXPECT_GT(j.at("rss_bytes_per_worker").get<double>(), 0.0);
  EXPECT_GT(j.at("coordinator_side").at("lease_grant").at("count").get<double>(), 0.0);
  EXPECT_GT(j.at("coordinator_side").at("commit").at("count").get<double>(), 0.0);
  const nlohmann::json& r = j.at("recovery");
  EXPECT_GT(r.at("recovered_commits").get<int64_t>(), 0);  // the journal gave them back
  EXPECT_GT(r.at("kill_to_serving_seconds").get<double>(), 0.0);
  EXPECT_GE(r.at("kill_to_first_lease_seconds").get<double>(), 0.0);
  EXPECT_GT(r.at("kill_to_all_workers_back_seconds").get<double>(), 0.0);
  const nlohmann::json& once = j.at("exactly_once");
  EXPECT_TRUE(once.at("ok").get<bool>()) << once.dump();
  EXPECT_TRUE(once.at("all_tasks_done").get<bool>()) << once.dump();
  EXPECT_EQ(once.at("manifest_shards"), 2000);
  EXPECT_EQ(once.at("listed_twice"), 0);
  EXPECT_EQ(once.at("acked_twice"), 0);
  EXPECT_LE(once.at("acked_commits").get<int64_t>(), 2000);
  EXPECT_TRUE(report.at("ratios").contains("lease_grant_p99_ms"));
}

}  // namespace
}  // namespace condenser
