// Live progress: the plan's step counts, the bar and plain lines, and
// progress.json, driven by metric records with an injected clock.
#include "coordinator/stages/progress.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "config/config.h"
#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using nlohmann::json;

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

Config small_config() {
  Config c;
  c.name = "t";
  c.teacher.train.epochs = 2;
  c.teacher.train.batch_size = 100;
  c.student.train.epochs = 3;
  c.student.train.batch_size = 128;
  c.prune.finetune.epochs = 1;
  c.prune.finetune.batch_size = 128;
  c.control.enabled = false;
  return c;
}

TEST(ProgressPlan, StepsFromEpochsSamplesAndRanks) {
  const std::vector<StagePlan> plan = plan_progress(small_config(), 1000);
  ASSERT_EQ(plan.size(), 5u);
  EXPECT_EQ(plan[0].name, "teacher");
  EXPECT_EQ(plan[0].total_steps, 20);  // 2 x 1000/100
  EXPECT_EQ(plan[1].name, "label");
  EXPECT_EQ(plan[2].total_steps, 24);  // 3 x ceil(1000/128)
  EXPECT_EQ(plan[3].total_steps, 8);
  EXPECT_EQ(plan[4].name, "export");
  EXPECT_EQ(plan_progress(small_config(), 1000, 2)[2].total_steps, 12);  // 3 x ceil(1000/256)
  Config given = small_config();
  given.teacher.path = "t.pt";
  given.prune.enabled = false;
  const std::vector<StagePlan> short_plan = plan_progress(given, 1000);
  ASSERT_EQ(short_plan.size(), 3u);
  EXPECT_EQ(short_plan[0].name, "label");
  // The no-teacher control trains the student's steps, before distill.
  Config controlled = small_config();
  controlled.control.enabled = true;
  const std::vector<StagePlan> with_control = plan_progress(controlled, 1000);
  ASSERT_EQ(with_control.size(), 6u);
  EXPECT_EQ(with_control[2].name, "control");
  EXPECT_EQ(with_control[2].total_steps, with_control[3].total_steps);
  EXPECT_EQ(with_control[3].name, "distill");
}

TEST(ProgressFormat, BarAndLine) {
  EXPECT_EQ(format_progress_bar("distill", 2, 4, 120, 240, 35.0, 3.4, 10),
            "distill [2/4] [#####-----]  50%  120/240 steps  35.0 steps/s  ETA 3s");
  EXPECT_EQ(format_progress_line("prune", 3, 4, 10, 40, 2.5, 75.0),
            "progress: prune (stage 3 of 4) step 10/40 (25%), 2.5 steps/s, ETA 1m15s");
}

TEST(ProgressReporter, PlainLinesAtIntervalsAndProgressFile) {
  testing_util::TempDir dir("progress");
  double now = 0.0;
  std::ostringstream out;
  ProgressOptions o;
  o.job = "t";
  o.plain_interval_s = 10.0;
  o.file_interval_s = 0.0;
  o.progress_file = dir.path + "/progress.json";
  o.now = [&now] { return now; };
  {
    ProgressReporter p(plan_progress(small_config(), 1000), out, o);
    for (int step = 2; step <= 20; step += 2) {
      now += 1.0;  // 2 steps/s
      p.on_record(
          {{"stage", "teacher"}, {"epoch", 1 + (step - 1) / 10}, {"step", step}, {"loss", 1.0}});
    }
    EXPECT_EQ(count_of(out.str(), "progress: teacher"), 1u);  // t=1, then t=11 <- not < 10 apart
    const json snap = p.snapshot();
    EXPECT_EQ(snap["stage"], "teacher");
    EXPECT_EQ(snap["step"], 20);
    EXPECT_NEAR(snap["rate_steps_per_s"].get<double>(), 2.0, 1e-9);
    p.on_stage_done("teacher", 10.0);
    EXPECT_NE(out.str().find("progress: teacher (stage 1 of 5) step 20/20 (100%)"),
              std::string::npos);
    EXPECT_EQ(p.snapshot()["stage"], "label");  // the next stage is shown before its first record
    // An epoch record corrects the estimate: 30 steps after 1 of 3 epochs -> 90.
    now += 3.0;
    p.on_record({{"stage", "distill"}, {"epoch", 1}, {"step", 30}, {"val_accuracy", 0.5}});
    EXPECT_EQ(p.snapshot()["total_steps"], 90);
    EXPECT_NEAR(p.snapshot()["eta_seconds"].get<double>(), 6.0, 1e-9);  // 60 left at 10/s
    const json file = json::parse(read_file(o.progress_file));
    EXPECT_EQ(file["stage"], "distill");
    EXPECT_EQ(file["stages"][0]["done"], true);
    EXPECT_EQ(file["finished"], false);
    p.finish();
    EXPECT_EQ(json::parse(read_file(o.progress_file))["finished"], true);
  }
  EXPECT_EQ(out.str().find('\r'), std::string::npos);  // no bar without a terminal
}

TEST(ProgressReporter, BarOnATerminalRedrawsInPlace) {
  double now = 0.0;
  std::ostringstream out;
  ProgressOptions o;
  o.tty = true;
  o.bar_width = 10;
  o.now = [&now] { return now; };
  {
    ProgressReporter p(plan_progress(small_config(), 1000), out, o);
    now = 1.0;
    p.on_record({{"stage", "teacher"}, {"epoch", 1}, {"step", 5}, {"loss", 1.0}});
    now = 2.0;
    p.on_record({{"stage", "teacher"}, {"epoch", 1}, {"step", 10}, {"loss", 1.0}});
  }
  const std::string s = out.str();
  EXPECT_EQ(count_of(s, "teacher [1/5]"), 2u);
  EXPECT_NE(s.find("\r\033[Kteacher [1/5] [#####-----]  50%  10/20 steps  5.0 steps/s  ETA 2s"),
            std::string::npos);
  EXPECT_EQ(s.substr(s.size() - 4), "\r\033[K");  // the bar leaves the line clean
  EXPECT_EQ(s.find("progress:"), std::string::npos);
}

}  // namespace
}  // namespace condenser
