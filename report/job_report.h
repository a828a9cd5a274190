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
  // Language models (token windows): next-token perplexity, exp of the mean
  // loss per scored token; accuracies above are then next-token accuracies.
  // 0 = not measured (not a language model): absent from JSON.
  double val_perplexity = 0.0;
  double test_perplexity = 0.0;
};

struct StageRecord {
  std::string name;  // teacher, label, distill, prune, export
  double seconds = 0.0;
  int64_t steps = 0;
  bool has_model = false;  // stats below apply (not for label/export)
  ModelStats model;
};

// One prune stage attempt: the cut, its fine-tune, and the budget's verdict.
// A missed attempt was rolled back; the next one halves the sparsity step.
// Tokens per second of a compacted width or depth attempt and of the dense
// student on the same windows, timed side by side.
struct TokenSpeed {
  int64_t batch = 1;
  double pruned = 0.0, dense = 0.0;
  double speedup() const { return dense > 0 ? pruned / dense : 0.0; }
};

struct PruneAttempt {
  std::string name;  // its stage name in metrics and checkpoints (prune, prune.2, prune.2.1)
  int stage = 1;     // 1-based index into the schedule
  int retry = 0;     // 0 as planned; r: the r-th back-off
  double target = 0.0;    // sparsity asked for
  ModelStats model;       // after the fine-tune (sparsity reached, accuracies)
  // Per sample (model_flops); -1 when unknown (a TorchScript student's
  // layers are not condenser's to count): null in JSON, "n/a" in tables.
  int64_t flops = 0;        // nonzero weights only
  int64_t dense_flops = 0;  // every weight
  nlohmann::json layer_sparsity = nlohmann::json::object();  // weight -> sparsity
  double drop_points = 0.0;  // reference accuracy - val accuracy, in points
  bool passed = true;        // within the budget (or no budget)
  double seconds = 0.0;
  int64_t steps = 0;
  // Language models: validation perplexity right after the cut, before the
  // fine-tune recovered it (0: not measured; absent from JSON).
  double val_perplexity_before = 0.0;
  // Width and depth cuts: at batch 1 and 64 (empty: not timed).
  std::vector<TokenSpeed> tokens_per_s;
};

// The data the job ran on and what its models take: the model card and
// metrics.json say it, so a user feeds the export the right inputs.
struct DataSummary {
  std::string kind;           // fashion_mnist | hdf5
  std::string path;           // as the config gave it
  std::vector<int64_t> sample_shape;  // per sample; empty in summaries older than this field
  std::string input_dtype;    // float32 | int64: what the models take
  std::string normalisation;  // how stored values become inputs, in words
  int classes = 0;
  std::vector<std::string> class_names;
  int64_t test_samples = 0;  // the test set the accuracies are measured on
  // Language models (kind tokens or text; empty / 0 otherwise): the token
  // file the job read, its tokenizer's SHA-256, the scored test tokens.
  std::string token_file;
  std::string tokenizer_sha256;
  int64_t test_tokens = 0;
};

struct JobReport {
  std::string job_name;
  DataSummary data;
  std::string teacher_source;  // "built-in cnn (trained)" or the TorchScript path
  std::string teacher_sha256;  // its identity: SHA-256 of parameters, buffers and code
  std::string student_model;
  std::string dataset_fingerprint;
  double target_sparsity = 0.0;
  ModelStats teacher;
  ModelStats student_dense;  // after distillation
  ModelStats student_final;  // after pruning and fine-tuning
  // The no-teacher control (control.enabled): the same student trained with
  // cross-entropy only on the same batches. has_control: it ran.
  bool has_control = false;
  ModelStats student_control;
  std::vector<StageRecord> stages;
  int64_t teacher_forward_samples = 0;  // teacher passes paid, once, for labelling
  int64_t soft_label_reads = 0;         // cached labels read by training (passes avoided)
  double total_seconds = 0.0;
  bool finished = false;
  // The prune schedule: every attempt in order, the budget's reference
  // accuracy (validation), and why the schedule ended where it did.
  std::vector<PruneAttempt> prune_attempts;
  double budget_reference_accuracy = 0.0;
  std::string prune_outcome;
  bool budget_missed = false;  // not even the first stage met the budget (exit 3)
};

// What distillation gained: the distilled (dense) student's accuracy minus
// the control's, in percentage points. NaN when the job has no control.
double distillation_gain_points(const JobReport& report);  // test set
double distillation_gain_val_points(const JobReport& report);  // validation set
// Language models: how much lower the distilled student's test perplexity
// is than the control's, in percent of the control's (positive = better).
// NaN without a control or perplexities.
double distillation_perplexity_gain_percent(const JobReport& report);

nlohmann::json to_json(const JobReport& report);
// Throws UsageError naming `origin` when a field is missing or mistyped.
JobReport report_from_json(const nlohmann::json& j, const std::string& origin);

// The end-of-run table: one row per stage, then teacher vs student.
std::string format_summary_table(const JobReport& report);

}  // namespace condenser
