// The job's /status and /metrics as pure functions of the records the
// stages feed (JobStatus, an injected clock), and the labelling's status
// merged over the job's (with_labelling).
#include "coordinator/control/job_status.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace condenser {
namespace {

using nlohmann::json;

std::vector<JobStageStatus> plan() {
  std::vector<JobStageStatus> p(5);
  p[0].name = "teacher", p[0].epochs = 2, p[0].total_steps = 100;
  p[1].name = "label";
  p[2].name = "distill", p[2].epochs = 3, p[2].total_steps = 150;
  p[3].name = "prune", p[3].epochs = 1, p[3].total_steps = 50;
  p[4].name = "export";
  return p;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(JobStatus, StartsBeforeThePlanThenAtItsFirstStage) {
  double t = 10;
  JobStatus status("quick", {}, [&t] { return t; });
  EXPECT_EQ(job_status_json(status.snapshot())["stage"], "start");
  status.set_plan(plan());
  t = 12.5;
  const json j = job_status_json(status.snapshot());
  EXPECT_EQ(j["job"], "quick");
  EXPECT_EQ(j["stage"], "teacher");
  EXPECT_EQ(j["step"], 0);
  EXPECT_EQ(j["total_steps"], 100);
  EXPECT_TRUE(j["loss"].is_null());
  EXPECT_TRUE(j["val_accuracy"].is_null());
  EXPECT_DOUBLE_EQ(j["elapsed_seconds"].get<double>(), 2.5);
  EXPECT_EQ(j["stages"].size(), 5u);
  EXPECT_TRUE(j["checkpoints"]["latest"].is_null());
  EXPECT_EQ(j["finished"], false);
}

TEST(JobStatus, RecordsMoveTheStageStepLossAndAccuracy) {
  double t = 0;
  JobStatus status("quick", plan(), [&t] { return t; });
  status.on_record({{"stage", "teacher"}, {"epoch", 1}, {"step", 20}, {"loss", 1.5}, {"lr", 0.1}});
  json j = job_status_json(status.snapshot());
  EXPECT_EQ(j["step"], 20);
  EXPECT_DOUBLE_EQ(j["loss"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(j["progress"].get<double>(), 0.2);
  // An epoch end: 40 steps per epoch, not the 50 planned.
  status.on_record({{"stage", "teacher"},
                    {"epoch", 1},
                    {"step", 40},
                    {"train_loss", 1.25},
                    {"train_accuracy", 0.5},
                    {"val_accuracy", 0.75},
                    {"seconds", 3.0}});
  j = job_status_json(status.snapshot());
  EXPECT_EQ(j["total_steps"], 80);
  EXPECT_DOUBLE_EQ(j["loss"].get<double>(), 1.25);
  EXPECT_DOUBLE_EQ(j["val_accuracy"].get<double>(), 0.75);
  EXPECT_EQ(j["epoch"], 1);
  status.on_record({{"stage", "teacher"}, {"nonsense", true}});  // ignored
  status.on_record(json::array());
  EXPECT_EQ(job_status_json(status.snapshot())["step"], 40);
}

TEST(JobStatus, AStageEndMovesToTheNextPlannedStage) {
  JobStatus status("quick", plan(), [] { return 0.0; });
  status.on_record({{"stage", "teacher"}, {"step", 80}, {"epoch", 2}, {"loss", 0.5}});
  status.on_stage_done("teacher", 9.0, 80, 0.8);
  json j = job_status_json(status.snapshot());
  EXPECT_EQ(j["stage"], "label");
  EXPECT_EQ(j["stages"][0]["done"], true);
  EXPECT_DOUBLE_EQ(j["stages"][0]["val_accuracy"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(j["stages"][0]["seconds"].get<double>(), 9.0);
  status.on_stage_done("label", 4.0, 3);
  EXPECT_EQ(job_status_json(status.snapshot())["stage"], "distill");
  // A token set's stage end brings its perplexity.
  status.on_stage_done("distill", 1.0, 150, 0.3, 42.5);
  EXPECT_DOUBLE_EQ(job_status_json(status.snapshot())["stages"][2]["val_perplexity"].get<double>(),
                   42.5);
  status.on_stage_done("prune", 1.0, 50, 0.2);
  EXPECT_EQ(job_status_json(status.snapshot())["stage"], "export");
  // A stage the plan did not know (a prune retry) goes before the first not done.
  status.on_record({{"stage", "prune.1.1"}, {"step", 5}});
  j = job_status_json(status.snapshot());
  EXPECT_EQ(j["stage"], "prune.1.1");
  EXPECT_EQ(j["stages"][4]["name"], "prune.1.1");
  EXPECT_EQ(j["stages"][5]["name"], "export");
  status.on_stage_done("prune.1.1", 1.0, 50);
  EXPECT_EQ(job_status_json(status.snapshot())["stage"], "export");
  status.on_stage_done("export", 1.0, 0);
  status.finish();
  j = job_status_json(status.snapshot());
  EXPECT_EQ(j["finished"], true);
  EXPECT_DOUBLE_EQ(j["progress"].get<double>(), 1.0);
}

// A loaded teacher is not in the plan but records its stage: it comes
// first, and labelling runs after it (not export).
TEST(JobStatus, AnUnplannedStageGoesBeforeTheFirstNotDone) {
  std::vector<JobStageStatus> p = plan();
  p.erase(p.begin());  // teacher.path: no teacher training planned
  JobStatus status("quick", p, [] { return 0.0; });
  EXPECT_EQ(job_status_json(status.snapshot())["stage"], "label");
  status.on_stage_done("teacher", 0.5, 0);
  const json j = job_status_json(status.snapshot());
  EXPECT_EQ(j["stages"][0]["name"], "teacher");
  EXPECT_EQ(j["stages"][1]["name"], "label");
  EXPECT_EQ(j["stage"], "label");
  // Pipelined: labelling ends while distill trains; distill stays current.
  status.on_record({{"stage", "distill"}, {"step", 3}});
  status.on_stage_done("label", 2.0, 3);
  EXPECT_EQ(job_status_json(status.snapshot())["stage"], "distill");
}

TEST(JobStatus, PruneAttemptsAndCheckpoints) {
  JobStatus status("quick", plan(), [] { return 0.0; });
  status.on_checkpoint("/r/checkpoints/step-000020", "teacher", 20);
  status.on_checkpoint("/r/checkpoints/step-000040", "teacher", 40);
  status.set_prune_attempts(
      {{"prune", 1, 0.8, 0.79, true, 0.81, 0.8}, {"prune.2", 2, 0.9, 0.9, false, 0.6, 0.59}});
  const JobStatusData d = status.snapshot();
  const json j = job_status_json(d);
  EXPECT_EQ(j["checkpoints"]["written"], 2);
  EXPECT_EQ(j["checkpoints"]["latest"]["path"], "/r/checkpoints/step-000040");
  EXPECT_EQ(j["checkpoints"]["latest"]["step"], 40);
  ASSERT_EQ(j["prune_attempts"].size(), 2u);
  EXPECT_EQ(j["prune_attempts"][1]["name"], "prune.2");
  EXPECT_EQ(j["prune_attempts"][1]["passed"], false);
  EXPECT_DOUBLE_EQ(j["prune_attempts"][0]["target_sparsity"].get<double>(), 0.8);
  const std::string m = job_metrics_text(d);
  EXPECT_TRUE(has_line(m, "condenser_job_checkpoints_total 2")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_prune_attempts_total 2")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_prune_attempts_passed_total 1")) << m;
}

TEST(JobStatus, MetricsText) {
  double t = 0;
  JobStatus status("my \"job\"", plan(), [&t] { return t; });
  std::string m = job_metrics_text(status.snapshot());
  EXPECT_TRUE(has_line(m, "condenser_job_stage_info{stage=\"teacher\"} 1")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_info{job=\"my \\\"job\\\"\"} 1")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_loss NaN")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_val_accuracy NaN")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_finished 0")) << m;
  status.on_stage_done("teacher", 1.0, 100);
  status.on_stage_done("label", 1.0, 0);
  status.on_record({{"stage", "distill"}, {"epoch", 2}, {"step", 60}, {"loss", 0.25}});
  t = 30;
  m = job_metrics_text(status.snapshot());
  EXPECT_TRUE(has_line(m, "condenser_job_stage_info{stage=\"distill\"} 1")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_step 60")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_steps_total 150")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_epoch 2")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_loss 0.25")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_stages_done 2")) << m;
  EXPECT_TRUE(has_line(m, "condenser_job_elapsed_seconds 30")) << m;
  EXPECT_TRUE(has_line(m, "# TYPE condenser_job_step gauge")) << m;
  // One HELP and one TYPE per metric name.
  EXPECT_EQ(m.find("# TYPE condenser_job_step gauge"), m.rfind("# TYPE condenser_job_step gauge"));
}

TEST(JobStatus, RoutesServeTheSnapshot) {
  JobStatus status("quick", plan(), [] { return 0.0; });
  const HttpRoutes routes = job_routes(status, [] { return std::string("<p>dash</p>"); });
  status.on_record({{"stage", "teacher"}, {"step", 7}});
  EXPECT_EQ(json::parse(routes.status())["step"], 7);
  EXPECT_NE(routes.metrics().find("condenser_job_step 7\n"), std::string::npos);
  EXPECT_EQ(routes.dashboard(), "<p>dash</p>");
}

TEST(WithLabelling, TheJobsStatusGainsTheLabellingsOwn) {
  const json labelling = {{"job", "quick"},
                          {"stage", "label"},
                          {"progress", 0.5},
                          {"eta_seconds", 3.0},
                          {"elapsed_seconds", 1.0},
                          {"tasks", {{"total", 8}, {"done", 4}}},
                          {"workers", json::array({{{"name", "w0"}}})},
                          {"counters", {{"commits", 4}}}};
  json job = {{"job", "quick"}, {"stage", "label"}, {"progress", 0.0}, {"elapsed_seconds", 20.0}};
  json j = with_labelling(job, labelling);
  EXPECT_EQ(j["tasks"]["total"], 8);
  EXPECT_EQ(j["workers"][0]["name"], "w0");
  EXPECT_EQ(j["counters"]["commits"], 4);
  EXPECT_DOUBLE_EQ(j["progress"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["eta_seconds"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(j["elapsed_seconds"].get<double>(), 20.0);  // the job's
  EXPECT_EQ(j["labelling"], labelling);
  // Pipelined: the student trains while labelling runs; its progress stays.
  job["stage"] = "distill";
  job["progress"] = 0.25;
  j = with_labelling(job, labelling);
  EXPECT_EQ(j["stage"], "distill");
  EXPECT_DOUBLE_EQ(j["progress"].get<double>(), 0.25);
  EXPECT_FALSE(j.contains("eta_seconds"));
  EXPECT_EQ(j["tasks"]["done"], 4);
}

}  // namespace
}  // namespace condenser
