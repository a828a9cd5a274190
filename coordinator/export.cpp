#include "coordinator/export.h"

#include <torch/script.h>

#include <filesystem>

#include "coordinator/job_report.h"
#include "coordinator/run_dir.h"
#include "core/errors.h"
#include "core/files.h"
#include "trainers/model_io.h"
#include "trainers/pruning.h"

namespace condenser {

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
  save_module(student, out_dir + "/student.pt");

  nlohmann::json metrics = to_json(report);
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSparsity& l : measure_sparsity(student).layers) {
    layers.push_back({{"name", l.name}, {"numel", l.numel}, {"nonzero", l.nonzero},
                      {"sparsity", l.sparsity()}});
  }
  metrics["sparsity_per_layer"] = layers;
  metrics["student_file_bytes"] = std::filesystem::file_size(out_dir + "/student.pt");
  metrics["input"] = {{"shape", {"N", 1, 28, 28}},
                      {"dtype", "float32"},
                      {"range", {0.0, 1.0}},
                      {"normalisation", "inside the model"}};
  atomic_write_file(out_dir + "/metrics.json", metrics.dump(2) + "\n");
  fsync_dir(out_dir);
}

}  // namespace condenser
