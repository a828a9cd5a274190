#pragma once
// What a job measured, stage by stage. Written to RUN_DIR/summary.json as the
// job goes, read back by `condenser export`, printed as the end-of-run table.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace condenser {

struct ModelStats {
  int64_t parameters = 0;
  int64_t nonzeros = 0;
  double sparsity = 0.0;  // over prunable (conv/linear) weights
  double val_accuracy = 0.0;
  double test_accuracy = 0.0;
};

struct StageRecord {
  std::string name;  // teacher, label, distill, prune, export
  double seconds = 0.0;
  int64_t steps = 0;
  bool has_model = false;  // stats below apply (not for label/export)
  ModelStats model;
};

struct JobReport {
  std::string job_name;
  std::string teacher_source;  // "built-in cnn (trained)" or the TorchScript path
  std::string teacher_sha256;
  std::string student_model;
  std::string dataset_fingerprint;
  double target_sparsity = 0.0;
  ModelStats teacher;
  ModelStats student_dense;  // after distillation
  ModelStats student_final;  // after pruning and fine-tuning
  std::vector<StageRecord> stages;
  int64_t teacher_forward_samples = 0;  // teacher passes paid, once, for labelling
  int64_t soft_label_reads = 0;         // cached labels read by training (passes avoided)
  double total_seconds = 0.0;
  bool finished = false;
};

nlohmann::json to_json(const JobReport& report);
// Throws UsageError naming `origin` when a field is missing or mistyped.
JobReport report_from_json(const nlohmann::json& j, const std::string& origin);

// The end-of-run table: one row per stage, then teacher vs student.
std::string format_summary_table(const JobReport& report);

}  // namespace condenser
