#pragma once
// What the stages of one job share (coordinator/stages/job.cpp runs them in order;
// coordinator/stages/label_stage.cpp is the labelling stage). Internal to coordinator/.
#include <torch/script.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/run_dir.h"
#include "coordinator/stages/job.h"
#include "coordinator/stages/metrics_log.h"
#include "data/datasets.h"
#include "report/job_report.h"
#include "trainers/training.h"

namespace condenser {

class ProgressReporter;
class JobStatus;
class HttpServer;

using Clock = std::chrono::steady_clock;

inline double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Everything the stages share.
struct JobContext {
  const Config& config;
  const JobOptions& options;
  c10::Device device;
  RunPaths paths;
  MetricsLog metrics;
  JobReport report;
  DatasetInfo dataset;  // what preflight found: kind, sample shape, classes, splits
  // The source's splits in memory (validation_data / test_data stay empty
  // when those sets are carved from train_data).
  ImageDataset train_data, validation_data, test_data;
  LabelledSet train, validation, test;
  ProgressReporter* progress = nullptr;  // rank 0's live progress (not owned), or null
  // Rank 0's HTTP side (coordinator/control/job_http.h, not owned), or null:
  // the status the stages feed, the listener the label stage borrows.
  JobStatus* status = nullptr;
  HttpServer* http = nullptr;

  // Rank 0 of the job writes the run directory; every rank runs the stages.
  bool is_root() const;
  // Waits until every rank got here (a no-op alone).
  void barrier() const;

  void save_report();  // rank 0 only

  ModelStats measure(torch::jit::Module& module);

  // Appends a stage record (with the model's stats when given) to summary.json.
  void record(const std::string& stage, double seconds, int64_t steps, torch::jit::Module* model);

  MetricSink sink();  // to metrics.jsonl, epoch lines to the log

  StageOptions stage_options(const std::string& stage, const OptimConfig& optim) const;
};
// Augmented views depend on (this seed, sample, view) only.
uint64_t augment_seed(const Config& config);

}  // namespace condenser
