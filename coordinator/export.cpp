#include "coordinator/export.h"

#include <sys/stat.h>
#include <torch/script.h>

#include <cmath>

#include "coordinator/job_report.h"
#include "coordinator/latency.h"
#include "coordinator/run_dir.h"
#include "core/config.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "data/manifest.h"
#include "report/model_card.h"
#include "report/report_html.h"
#include "report/run_files.h"
#include "trainers/model_io.h"
#include "trainers/pruning.h"

namespace condenser {
namespace {

using nlohmann::json;

int64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

double stage_seconds(const JobReport& r, const std::string& name) {
  double s = 0.0;
  for (const StageRecord& st : r.stages) s += st.name == name ? st.seconds : 0.0;
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
            {"student_training_seconds", stage_seconds(r, "distill") + stage_seconds(r, "prune")}};
  // Labelling time per pass times the passes avoided (null when this run
  // reused every shard and so never timed the teacher).
  c["estimated_teacher_seconds_avoided"] =
      std::isfinite(per_pass) ? json(per_pass * double(r.soft_label_reads)) : json(nullptr);
  return c;
}

json recipe_json(const Config& c, const std::string& manifest_path) {
  const auto optim = [](const OptimConfig& o) {
    return json{{"epochs", o.epochs}, {"batch_size", o.batch_size}, {"optimizer", o.optimizer},
                {"lr", o.lr}, {"lr_schedule", o.lr_schedule}, {"weight_decay", o.weight_decay}};
  };
  json student = optim(c.student.train);
  student["model"] = c.student.model;
  student["alpha"] = c.student.alpha;
  json teacher = optim(c.teacher.train);
  teacher["model"] = c.teacher.path.empty() ? c.teacher.model : "";
  teacher["path"] = c.teacher.path;
  json r = {{"dataset", c.data.dataset},
            {"test_samples", c.data.test_subset > 0 ? std::min(c.data.test_subset, 10000) : 10000},
            {"seed", c.seed},
            {"teacher", teacher},
            {"soft_labels", {{"temperature", c.soft_labels.temperature},
                             {"format", c.soft_labels.format},
                             {"top_k", c.soft_labels.top_k},
                             {"dtype", c.soft_labels.dtype},
                             {"views_per_sample", c.soft_labels.views_per_sample}}},
            {"student", student},
            {"prune", {{"enabled", c.prune.enabled},
                       {"method", c.prune.enabled ? c.prune.method : "none"},
                       {"sparsity", c.prune.sparsity},
                       {"nm", std::to_string(c.prune.nm_n) + ":" + std::to_string(c.prune.nm_m)},
                       {"finetune_epochs", c.prune.finetune.epochs}}}};
  if (path_exists(manifest_path)) {
    const Manifest m = load_manifest(manifest_path);
    r["train_samples"] = m.total_rows / std::max(1, m.views);
  }
  return r;
}

// int8 needs quantize_dynamic, a Python (torch.ao) transformation of eager
// modules; LibTorch's C++ API has no equivalent for TorchScript modules.
json int8_json() {
  std::string engines;
  for (const auto e : at::globalContext().supportedQEngines()) {
    engines += (engines.empty() ? "" : ", ") + c10::toString(e);
  }
  return {{"available", false},
          {"reason", "dynamic int8 quantization (torch.ao.quantization.quantize_dynamic) is a "
                     "Python API with no LibTorch C++ counterpart for TorchScript modules, so "
                     "condenser does not export student_int8.pt (quantized engines in this "
                     "LibTorch: " + (engines.empty() ? std::string("none") : engines) + ")"}};
}

// Teacher vs student side by side; the teacher file may be gone (a user's
// teacher moved): then only the student's numbers are known.
json comparison_json(const JobReport& r, const RunPaths& paths, torch::jit::Module& student,
                     const std::string& student_file) {
  const std::string teacher_file = r.teacher_source.rfind("built-in", 0) == 0
                                       ? paths.models + "/teacher.pt"
                                       : r.teacher_source;
  json c;
  if (path_exists(teacher_file)) {
    torch::jit::Module teacher = load_module(teacher_file, "teacher");
    c = compare_latency(teacher, student);
  } else {
    c = {{"teacher_missing", "'" + teacher_file + "' not found: latency not measured"}};
  }
  const auto side = [](const ModelStats& s, int64_t bytes) {
    return json{{"test_accuracy", s.test_accuracy}, {"parameters", s.parameters},
                {"nonzeros", s.nonzeros}, {"file_bytes", bytes}};
  };
  c["teacher"].update(side(r.teacher, file_bytes(teacher_file)));
  c["student"].update(side(r.student_final, file_bytes(student_file)));
  return c;
}

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
  JobReport report;
  try {
    report = report_from_json(nlohmann::json::parse(read_file(paths.summary)), paths.summary);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError("'" + paths.summary + "' is not valid JSON (" + e.what() + ")");
  }
  if (!report.finished) {
    throw UsageError("the run in '" + run_dir + "' has not finished; nothing to export yet");
  }
  torch::jit::Module student = load_module(student_path, "student");
  ensure_dir(out_dir);
  const std::string student_file = out_dir + "/student.pt";
  save_module(student, student_file);

  json metrics = to_json(report);
  json layers = json::array();
  for (const LayerSparsity& l : measure_sparsity(student).layers) {
    layers.push_back({{"name", l.name}, {"numel", l.numel}, {"nonzero", l.nonzero},
                      {"sparsity", l.sparsity()}});
  }
  metrics["sparsity_per_layer"] = layers;
  metrics["student_file_bytes"] = file_bytes(student_file);
  // The dense student as distilled, saved the same way: what pruning saved on disk.
  metrics["dense_student_file_bytes"] = file_bytes(paths.models + "/student_distilled.pt");
  metrics["input"] = {{"shape", {"N", 1, 28, 28}},
                      {"dtype", "float32"},
                      {"range", {0.0, 1.0}},
                      {"normalisation", "inside the model"}};
  metrics["comparison"] = comparison_json(report, paths, student, student_file);
  metrics["cost"] = cost_json(report);
  const Config config = load_config(paths.config_resolved);
  metrics["recipe"] = recipe_json(config, paths.manifest);
  metrics["int8"] = int8_json();
  atomic_write_file(out_dir + "/metrics.json", metrics.dump(2) + "\n");

  atomic_write_file(out_dir + "/README.md",
                    render_model_card(metrics, read_file(paths.config_resolved)));
  const std::vector<json> records =
      path_exists(paths.metrics) ? parse_json_lines(read_file(paths.metrics)) : std::vector<json>{};
  atomic_write_file(out_dir + "/report.html", render_report(metrics, records));
  fsync_dir(out_dir);
  const json& cmp = metrics["comparison"];
  if (cmp.contains("speedup")) {
    log_info("export: student ", fixed(cmp["speedup"].value("batch_1", 0.0), 1), "x faster at batch 1, ",
             fixed(cmp["speedup"].value("batch_64", 0.0), 1), "x at batch 64 (",
             cmp["threads"].get<int>(), " thread(s)); ", out_dir,
             "/{student.pt, metrics.json, README.md, report.html}");
  }
}

}  // namespace condenser
