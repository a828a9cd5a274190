#pragma once
// The whole job as the HTTP side shows it, from the first stage to the end
// of export: which stage runs, each stage's step, epoch, last loss and last
// validation accuracy, the prune attempts, the checkpoints written. The
// stages feed JobStatus (coordinator/stages/job_context.cpp, on the training
// thread); the HTTP thread reads a snapshot. No LibTorch: the inputs are the
// metric records (the JSON objects of metrics.jsonl) and plain values.
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "coordinator/control/http_status.h"

namespace condenser {

struct JobStageStatus {
  std::string name;
  int64_t epochs = 0;          // planned; 0 for stages without steps (label, export)
  int64_t total_steps = 0;     // planned, corrected from each epoch record
  int64_t step = 0;            // steps done in this stage
  int64_t epoch = 0;           // of the last record
  double loss = -1;            // last training loss (step record) or epoch train_loss; -1: none yet
  double val_accuracy = -1;    // last validation accuracy (epoch end, stage end); -1: none yet
  double val_perplexity = -1;  // token sets, at the stage end; -1: none
  bool done = false;
  double seconds = 0;  // when done
};

struct JobPruneAttemptStatus {
  std::string name;  // prune, prune.2, prune.2.1
  int stage = 1;     // 1-based index into the schedule
  double target_sparsity = 0;
  double sparsity = 0;  // reached
  bool passed = true;   // false: rolled back by the budget
  double val_accuracy = 0;
  double test_accuracy = 0;
};

struct JobStatusData {
  std::string job;
  std::string stage;  // the stage running now (or the last one, finished)
  bool finished = false;
  double elapsed_seconds = 0;
  std::vector<JobStageStatus> stages;
  std::vector<JobPruneAttemptStatus> prune_attempts;
  int64_t checkpoints = 0;        // written by this job
  std::string latest_checkpoint;  // path; empty: none yet
  std::string latest_checkpoint_stage;
  int64_t latest_checkpoint_step = 0;  // the job's step count at it
};

// {"job", "stage", "finished", "elapsed_seconds", "step", "total_steps",
// "epoch", "loss", "val_accuracy", "progress" (0..1 of the stage's steps),
// "stages": [{"name", "epochs", "step", "total_steps", "epoch", "loss",
// "val_accuracy", ["val_perplexity"], "done", "seconds"}], "prune_attempts":
// [{"name", "stage", "target_sparsity", "sparsity", "passed",
// "val_accuracy", "test_accuracy"}], "checkpoints": {"written", "latest":
// {"path", "stage", "step"} or null}}. Values not known yet are null.
nlohmann::json job_status_json(const JobStatusData& d);

// Prometheus gauges: condenser_job_stage_info{stage="..."} 1,
// condenser_job_step, condenser_job_steps_total, condenser_job_epoch,
// condenser_job_loss, condenser_job_val_accuracy (NaN until known),
// condenser_job_stages_done, condenser_job_prune_attempts_total (and
// _passed_total), condenser_job_checkpoints_total,
// condenser_job_elapsed_seconds, condenser_job_finished.
std::string job_metrics_text(const JobStatusData& d);

// Thread-safe: the stages write, the HTTP thread reads.
class JobStatus {
 public:
  // `plan`: the job's stages in order with their planned steps (may come
  // later, set_plan); `now` returns seconds (empty: a steady clock; tests
  // inject one). The stage is "start" until a plan is set.
  JobStatus(std::string job, std::vector<JobStageStatus> plan, std::function<double()> now = {});

  void set_plan(std::vector<JobStageStatus> plan);  // the stage: the plan's first

  // A metric record {"stage", "step", ["epoch"], ["loss" | "train_loss"],
  // ["val_accuracy"]}; others are ignored.
  void on_record(const nlohmann::json& record);
  // A stage ended after `steps` steps; the first stage not done runs from
  // now. Negative accuracies/perplexities: not measured. A stage the plan
  // lacks is added before the first stage not done.
  void on_stage_done(const std::string& stage, double seconds, int64_t steps,
                     double val_accuracy = -1, double val_perplexity = -1);
  void set_prune_attempts(std::vector<JobPruneAttemptStatus> attempts);
  void on_checkpoint(const std::string& path, const std::string& stage, int64_t job_step);
  void finish();

  JobStatusData snapshot() const;

 private:
  JobStageStatus& stage(const std::string& name);  // appended when not planned

  mutable std::mutex mutex_;
  JobStatusData data_;
  std::function<double()> now_;
  double start_ = 0;
};

// The job's routes: /status and /metrics from `status`, / from `dashboard`.
HttpRoutes job_routes(const JobStatus& status, std::function<std::string()> dashboard);

}  // namespace condenser
