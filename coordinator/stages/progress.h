#pragma once
// Live progress of a job, on rank 0 only: a consumer of the metric records
// (the same JSON objects that go to metrics.jsonl) and of stage ends. On a
// terminal it redraws one progress bar with rate and ETA; otherwise it prints
// a plain line every `plain_interval_s`. It also keeps RUN_DIR/progress.json
// up to date for the dashboard (report/dashboard.h documents its fields).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "config/config.h"

namespace condenser {

struct StagePlan {
  std::string name;
  int64_t epochs = 0;       // 0 for stages without training steps (label, export)
  int64_t total_steps = 0;  // estimated; corrected from each epoch record
};

// The job's stages with their step counts: epochs x ceil(samples / (batch x
// world)) for teacher (when trained), distill and prune (when enabled);
// label and export have no steps.
std::vector<StagePlan> plan_progress(const Config& config, int64_t train_samples,
                                     int world_size = 1);

struct ProgressOptions {
  std::string job;
  bool tty = false;                // draw a bar (stdout is a terminal) or print plain lines
  double plain_interval_s = 10.0;  // plain lines at most this often (and at stage ends)
  double redraw_interval_s = 0.1;  // the bar redraws at most this often
  std::string progress_file;       // progress.json; empty = none
  double file_interval_s = 2.0;
  int bar_width = 30;
  std::function<double()> now;  // seconds; empty = a steady clock (tests inject one)
};

class ProgressReporter {
 public:
  ProgressReporter(std::vector<StagePlan> plan, std::ostream& out, ProgressOptions options);
  ~ProgressReporter();  // takes the bar off the terminal line and the log hooks away
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void on_record(const nlohmann::json& record);  // {"stage", "step", ["epoch", "val_accuracy"]}
  void on_stage_done(const std::string& stage, double seconds);
  void finish();  // writes progress.json with "finished": true and ends the bar's line

  nlohmann::json snapshot() const;  // what progress.json holds

 private:
  struct StageState {
    StagePlan plan;
    int64_t step = 0;
    bool done = false;
    double seconds = 0.0;
  };
  StageState* stage(const std::string& name);
  double rate() const;         // steps/s of the current stage so far
  double eta_seconds() const;  // of the current stage
  void report(bool force);
  void clear_bar();
  void draw_bar();

  std::vector<StageState> stages_;
  std::ostream& out_;
  ProgressOptions options_;
  std::string current_;
  std::string last_plain_key_;  // stage:step of the last plain line
  double start_ = 0.0, stage_start_ = 0.0;
  double last_plain_ = -1e300, last_draw_ = -1e300, last_file_ = -1e300;
  bool bar_shown_ = false, finished_ = false;
  // The log hooks may run on another thread (a background reader logging).
  mutable std::recursive_mutex mutex_;
};

// One bar line: "distill [2/4] [#####-----]  45%  120/264 steps  35.1 steps/s  ETA 4 s".
std::string format_progress_bar(const std::string& stage, int index, int count, int64_t step,
                                int64_t total, double rate, double eta_s, int width);
// One plain line: "progress: distill (stage 2 of 4) step 120/264 (45%), 35.1 steps/s, ETA 4 s".
std::string format_progress_line(const std::string& stage, int index, int count, int64_t step,
                                 int64_t total, double rate, double eta_s);

// A reporter for this process when it is rank 0 of its job (null on other
// ranks, read from the launcher's environment): a bar when stdout is a
// terminal, plain lines otherwise, progress.json in the run directory.
std::unique_ptr<ProgressReporter> make_job_progress(const Config& config,
                                                    const std::string& run_dir,
                                                    int64_t train_samples);

}  // namespace condenser
