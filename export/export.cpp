#include "export/export.h"

#include <sys/stat.h>
#include <torch/script.h>

#include <cmath>
#include <optional>

#include "config/config.h"
#include "config/prune_plan.h"
#include "config/run_dir.h"
#include "core/errors.h"
#include "core/fault_injection.h"
#include "core/files.h"
#include "core/log.h"
#include "data/datasets.h"
#include "data/shards/manifest.h"
#include "data/text/token_file.h"
#include "data/text/tokenizer.h"
#include "export/int8_export.h"
#include "export/latency.h"
#include "export/lm_export.h"
#include "report/job_report.h"
#include "report/model_card.h"
#include "report/report_html.h"
#include "report/run_files.h"
#include "trainers/model_choice.h"
#include "trainers/model_io.h"
#include "trainers/prune_masks.h"
#include "trainers/training.h"

namespace condenser {
namespace {

using nlohmann::json;

int64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// Seconds of the stage `name`, or of every prune attempt for "prune"
// (prune, prune.K, prune.K.R).
double stage_seconds(const JobReport& r, const std::string& name) {
  double s = 0.0;
  for (const StageRecord& st : r.stages) {
    const bool attempt = name == "prune" && st.name.rfind("prune.", 0) == 0;
    s += st.name == name || attempt ? st.seconds : 0.0;
  }
  return s;
}

// What the soft-label cache saved: every epoch of distillation and
// fine-tuning read cached teacher outputs instead of running the teacher.
json cost_json(const JobReport& r) {
  const double label_s = stage_seconds(r, "label");
  const double per_pass = r.teacher_forward_samples > 0 ? label_s / r.teacher_forward_samples : NAN;
  json c = {{"teacher_training_seconds", stage_seconds(r, "teacher")},
            {"teacher_inference_seconds", label_s},
            {"teacher_forward_passes", r.teacher_forward_samples},
            {"teacher_forward_passes_avoided", r.soft_label_reads},
            {"student_training_seconds", stage_seconds(r, "distill") + stage_seconds(r, "prune")},
            {"control_training_seconds", stage_seconds(r, "control")}};
  // Labelling time per pass times the passes avoided (null when this run
  // reused every shard and so never timed the teacher).
  c["estimated_teacher_seconds_avoided"] =
      std::isfinite(per_pass) ? json(per_pass * double(r.soft_label_reads)) : json(nullptr);
  return c;
}

// The distilled student against the no-teacher control (null without one).
json gain_json(const JobReport& r) {
  if (!r.has_control) return nullptr;
  json g = {{"points_test", distillation_gain_points(r)},
            {"points_validation", distillation_gain_val_points(r)},
            {"student",
             {{"test_accuracy", r.student_dense.test_accuracy},
              {"val_accuracy", r.student_dense.val_accuracy}}},
            {"control",
             {{"test_accuracy", r.student_control.test_accuracy},
              {"val_accuracy", r.student_control.val_accuracy}}},
            {"what",
             "the distilled student (before pruning) minus the same student trained "
             "without the teacher (cross-entropy only) on the same batches, views, mixing "
             "and schedule, in percentage points"}};
  if (r.student_dense.test_perplexity > 0 && r.student_control.test_perplexity > 0) {
    g["student"]["test_perplexity"] = r.student_dense.test_perplexity;
    g["control"]["test_perplexity"] = r.student_control.test_perplexity;
    g["perplexity_lower_percent"] = distillation_perplexity_gain_percent(r);
  }
  return g;
}

json prune_stages_json(const Config& c) {
  json stages = json::array();
  if (!c.prune.enabled) return stages;
  for (const PruneStep& step : prune_steps(c.prune)) {
    stages.push_back({{"sparsity", step.sparsity}, {"epochs", step.epochs}, {"lr", step.lr}});
  }
  return stages;
}

json recipe_json(const Config& c, const JobReport& report, const std::string& manifest_path) {
  const auto optim = [](const OptimConfig& o) {
    return json{{"epochs", o.epochs},           {"batch_size", o.batch_size},
                {"optimizer", o.optimizer},     {"lr", o.lr},
                {"lr_schedule", o.lr_schedule}, {"weight_decay", o.weight_decay}};
  };
  json student = optim(c.student.train);
  student["model"] = report.student_model;  // zoo name, "declared (N layers)" or the file
  student["layers"] = c.student.layers;
  student["path"] = c.student.path;
  student["alpha"] = c.student.alpha;
  student["mix"] = c.student.mix;
  student["mix_alpha"] = c.student.mix_alpha;
  json teacher = optim(c.teacher.train);
  teacher["model"] = c.teacher.path.empty() && c.teacher.layers.empty() ? c.teacher.model : "";
  teacher["layers"] = c.teacher.layers;
  teacher["path"] = c.teacher.path;
  json r = {{"dataset", c.data.dataset},
            {"test_samples", report.data.test_samples > 0 ? report.data.test_samples
                             : c.data.test_subset > 0     ? std::min(c.data.test_subset, 10000)
                                                          : 10000},  // legacy summaries
            {"seed", c.seed},
            {"teacher", teacher},
            {"soft_labels",
             {{"temperature", c.soft_labels.temperature},
              {"format", c.soft_labels.format},
              {"top_k", c.soft_labels.top_k},
              {"dtype", c.soft_labels.dtype},
              {"views_per_sample", c.soft_labels.views_per_sample},
              {"flip", c.soft_labels.flip}}},
            {"student", student},
            {"control", {{"enabled", c.control.enabled}}},
            {"prune",
             {{"enabled", c.prune.enabled},
              {"method", c.prune.enabled ? c.prune.method : "none"},
              {"sparsity", c.prune.sparsity},
              {"nm", std::to_string(c.prune.nm_n) + ":" + std::to_string(c.prune.nm_m)},
              {"finetune_epochs", c.prune.finetune.epochs},
              {"stages", prune_stages_json(c)},
              {"schedule", c.prune.schedule},
              {"budget",
               {{"enabled", c.budget.enabled},
                {"max_drop_points", c.budget.max_drop},
                {"metric", c.budget.metric},
                {"reference", c.budget.reference},
                {"max_retries", c.budget.max_retries}}}}}};
  if (path_exists(manifest_path)) {
    const Manifest m = load_manifest(manifest_path);
    r["train_samples"] = m.total_rows / std::max(1, m.views);
  }
  return r;
}

// What the exported models take (legacy summaries: Fashion-MNIST pixels).
json input_json(const DataSummary& d) {
  if (d.sample_shape.empty()) {
    return {{"shape", {"N", 1, 28, 28}},
            {"dtype", "float32"},
            {"range", {0.0, 1.0}},
            {"normalisation", "inside the model"}};
  }
  json shape = json::array({"N"});
  for (int64_t s : d.sample_shape) shape.push_back(s);
  return {{"shape", shape},
          {"dtype", d.input_dtype},
          {"normalisation", d.normalisation},
          {"classes", d.classes},
          {"class_names", d.class_names},
          {"dataset", {{"kind", d.kind}, {"path", d.path}}}};
}

// Latency on inputs of the data's shape: random floats, or token id 0.
LatencyOptions latency_options(const DataSummary& d) {
  LatencyOptions o;
  if (d.sample_shape.empty()) return o;  // the default [N, 1, 28, 28] pixels
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), d.sample_shape.begin(), d.sample_shape.end());
  o.sample = d.input_dtype == "int64" ? at::zeros(shape, at::kLong) : at::rand(shape);
  return o;
}

// The job's dataset as the export finds it, or none when it moved.
std::optional<DatasetInfo> dataset_now(const Config& config) {
  try {
    return describe_dataset(config.data.dataset, config.data.path, config.data.seq_len);
  } catch (const Error& e) {
    log_warn("export: the dataset is not readable any more (", e.what(), ")");
    return std::nullopt;
  }
}

// The int8 student (export/int8_export.h) next to the float one:
// size, accuracy on the job's test samples, latency measured side by side.
// `data` is the job's dataset, or null when it is no longer where the config
// says (then no test accuracy, and no int8 model for a student that needs
// the data's shape to be rebuilt).
json int8_json(const Config& config, const JobReport& report, const DatasetInfo* data,
               torch::jit::Module& student, const std::string& out_dir) {
  const std::string path = out_dir + "/student_int8.pt";
  Int8Model q;
  const std::optional<ModelSpec> spec =
      data != nullptr ? student_spec(config, *data) : std::optional<ModelSpec>();
  if (!spec) {
    q.reason = data == nullptr ? "the dataset is not at '" + config.data.path + "' any more"
                               : "a TorchScript student's layers are unknown to condenser";
  } else {
    try {
      q = quantize_linear_dynamic(student, *spec);
    } catch (const std::exception& e) {
      q.reason = std::string("quantization failed: ") + e.what();
    }
  }
  if (!q.available) {
    remove_tree(path);  // never leave an earlier export's int8 model beside this student
    return {{"available", false}, {"reason", q.reason}};
  }
  save_module(q.module, path);
  json j = {{"available", true},
            {"file", "student_int8.pt"},
            {"method",
             "dynamic quantization of the linear layers (int8 weights per tensor, "
             "activations quantized at run time); convolutions stay float32"},
            {"engine", q.engine},
            {"quantized_layers", q.quantized_layers},
            {"file_bytes", file_bytes(path)}};
  try {
    const DataConfig& d = config.data;
    const SetRows test = test_rows(
        *data, plan_splits(*data, d.validation_size, d.train_subset, config.seed), d.test_subset);
    // An HDF5 file's fingerprint is its SHA-256: a changed file is not the data the job measured.
    if (!data->file_sha256.empty() && data->file_sha256 != report.dataset_fingerprint) {
      throw UsageError("the dataset at '" + config.data.path + "' changed since the run");
    }
    const ImageDataset set = load_split(*data, test.split);
    // Activations are quantized per batch, so predictions depend on the
    // batching: record it, a user reproducing the number needs it.
    const int64_t batch = 1000;
    j["test_accuracy"] = accuracy(q.module, LabelledSet{set.images, set.labels, test.rows}, batch);
    j["test_batch_size"] = batch;
  } catch (const Error& e) {  // the dataset changed since the run
    j["test_accuracy"] = nullptr;
    j["test_accuracy_unavailable"] = e.what();
  }
  const json cmp = compare_latency(student, q.module, latency_options(report.data));
  j["latency_ms"] = cmp["student"]["latency_ms"];
  j["float_student_latency_ms"] = cmp["teacher"]["latency_ms"];
  j["speedup_vs_float_student"] = cmp["speedup"];
  return j;
}

// Teacher vs student side by side; the teacher file may be gone (a user's
// teacher moved): then only the student's numbers are known.
json comparison_json(const JobReport& r, const RunPaths& paths, torch::jit::Module& student,
                     const std::string& student_file) {
  const std::string teacher_file =
      r.teacher_source.rfind("built-in", 0) == 0 ? paths.models + "/teacher.pt" : r.teacher_source;
  json c;
  if (path_exists(teacher_file)) {
    torch::jit::Module teacher = load_module(teacher_file, "teacher");
    c = compare_latency(teacher, student, latency_options(r.data));
  } else {
    c = {{"teacher_missing", "'" + teacher_file + "' not found: latency not measured"}};
  }
  const auto side = [](const ModelStats& s, int64_t bytes) {
    return json{{"test_accuracy", s.test_accuracy},
                {"parameters", s.parameters},
                {"nonzeros", s.nonzeros},
                {"file_bytes", bytes}};
  };
  c["teacher"].update(side(r.teacher, file_bytes(teacher_file)));
  c["student"].update(side(r.student_final, file_bytes(student_file)));
  return c;
}

// A student with a NaN or infinite weight is not worth deploying: refused.
void check_finite(torch::jit::Module& student, const std::string& path) {
  for (const auto& p : student.named_parameters(/*recurse=*/true)) {
    if (!torch::isfinite(p.value).all().item<bool>()) {
      throw UsageError("the student '" + path + "' has non-finite weights (" + p.name +
                       "); it is not exported: train it again (a lower learning rate, a teacher "
                       "with finite outputs)");
    }
  }
}

JobReport finished_report(const RunPaths& paths, const std::string& run_dir) {
  JobReport report;
  try {
    report = report_from_json(nlohmann::json::parse(read_file(paths.summary)), paths.summary);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("'" + paths.summary + "' is not valid JSON (" + e.what() + ")");
  }
  if (!report.finished) {
    throw UsageError("the run in '" + run_dir + "' has not finished; nothing to export yet");
  }
  return report;
}

// Every export file from the run's final student and `report`.
void export_files(const RunPaths& paths, const JobReport& report, const std::string& out_dir);

}  // namespace

void export_run(const std::string& run_dir, const std::string& out_dir_arg) {
  const RunPaths paths = RunPaths::at(run_dir);
  const std::string out_dir = out_dir_arg.empty() ? paths.export_dir : out_dir_arg;
  const std::string student_path = paths.models + "/student_final.pt";
  if (!path_exists(paths.summary) || !path_exists(student_path)) {
    throw UsageError("'" + run_dir + "' is not a finished condenser run (no summary.json or " +
                     "models/student_final.pt); run `condenser run CONFIG --run-dir " + run_dir +
                     "` first");
  }
  export_files(paths, finished_report(paths, run_dir), out_dir);
}

void export_job(const std::string& run_dir, const JobReport& report) {
  const RunPaths paths = RunPaths::at(run_dir);
  export_files(paths, report, paths.export_dir);
}

namespace {

void export_files(const RunPaths& paths, const JobReport& report, const std::string& out_dir) {
  const std::string student_path = paths.models + "/student_final.pt";
  torch::jit::Module student = load_module(student_path, "student");
  check_finite(student, student_path);
  ensure_dir(out_dir);
  const std::string student_file = out_dir + "/student.pt";
  const bool language_model = !report.data.tokenizer_sha256.empty();
  std::optional<TokenFileInfo> tokens;
  if (language_model) {
    if (!path_exists(report.data.token_file)) {
      throw UsageError("the token file this run was trained on, '" + report.data.token_file +
                       "', is gone (its tokenizer goes into the export); for a text dataset, "
                       "`condenser validate " +
                       paths.config_resolved + "` makes it again");
    }
    tokens = inspect_token_file(report.data.token_file);
    const std::string tokenizer = read_tokenizer_model(*tokens);
    save_language_model(student, student_file, tokenizer, report.data.sample_shape.at(0));
    atomic_write_file(out_dir + "/tokenizer.model", tokenizer);
  } else {
    save_module(student, student_file);
  }
  fault_point("in_export", "student.pt");

  json metrics = to_json(report);
  json layers = json::array();
  for (const LayerSparsity& l : measure_sparsity(student).layers) {
    layers.push_back(
        {{"name", l.name}, {"numel", l.numel}, {"nonzero", l.nonzero}, {"sparsity", l.sparsity()}});
  }
  metrics["sparsity_per_layer"] = layers;
  metrics["student_file_bytes"] = file_bytes(student_file);
  // The dense student as distilled, saved the same way: what pruning saved on disk.
  metrics["dense_student_file_bytes"] = file_bytes(paths.models + "/student_distilled.pt");
  metrics["input"] = input_json(report.data);
  metrics["comparison"] = comparison_json(report, paths, student, student_file);
  metrics["cost"] = cost_json(report);
  metrics["distillation_gain"] = gain_json(report);
  const Config config = load_config(paths.config_resolved);
  metrics["recipe"] = recipe_json(config, report, paths.manifest);
  if (language_model) {
    metrics["samples"] = lm_samples_json(student, *tokens, report.data.sample_shape.at(0));
    metrics["tokens_per_s"] =
        tokens_per_s_json(metrics["comparison"], report.data.sample_shape.at(0));
    remove_tree(out_dir + "/student_int8.pt");
    metrics["int8"] = {{"available", false},
                       {"reason", "int8 export of language models is not offered yet"}};
  } else {
    const std::optional<DatasetInfo> data = dataset_now(config);
    metrics["int8"] = int8_json(config, report, data ? &*data : nullptr, student, out_dir);
  }
  atomic_write_file(out_dir + "/metrics.json", metrics.dump(2) + "\n");

  atomic_write_file(out_dir + "/README.md",
                    render_model_card(metrics, read_file(paths.config_resolved)));
  const std::vector<json> records =
      path_exists(paths.metrics) ? parse_json_lines(read_file(paths.metrics)) : std::vector<json>{};
  atomic_write_file(out_dir + "/report.html", render_report(metrics, records));
  fsync_dir(out_dir);
  const json& cmp = metrics["comparison"];
  if (cmp.contains("speedup")) {
    log_info("export: student ", fixed(cmp["speedup"].value("batch_1", 0.0), 1),
             "x faster at batch 1, ", fixed(cmp["speedup"].value("batch_64", 0.0), 1),
             "x at batch 64 (", cmp["threads"].get<int>(), " thread(s)); ", out_dir,
             "/{student.pt, metrics.json, README.md, report.html}");
  }
}

}  // namespace

}  // namespace condenser
