#include "coordinator/stages/labelling.h"

#include <chrono>
#include <cstdio>

#include "core/errors.h"
#include "core/log.h"

namespace condenser {

std::vector<LabelTask> plan_label_tasks(int64_t num_samples, int64_t shard_rows) {
  if (shard_rows < 1) throw UsageError("soft_labels.shard_rows must be at least 1");
  std::vector<LabelTask> tasks;
  for (int64_t begin = 0; begin < num_samples; begin += shard_rows) {
    char name[32];
    std::snprintf(name, sizeof name, "shard-%06zu.h5", tasks.size());
    tasks.push_back({begin, std::min(num_samples, begin + shard_rows), name});
  }
  return tasks;
}

LabellingResult label_all(torch::jit::Module& teacher, const LabellerSetup& setup,
                          const std::vector<LabelTask>& tasks, Manifest manifest,
                          const std::string& manifest_path) {
  const auto start = std::chrono::steady_clock::now();
  LabellingResult result;
  if (manifest.total_rows == 0) {
    for (const LabelTask& t : tasks) manifest.total_rows += (t.end - t.begin) * setup.views;
  }
  save_manifest(manifest_path, manifest);  // valid (with any reused shards) before new ones
  for (const LabelTask& task : tasks) {
    ManifestEntry entry = label_task(teacher, setup, task);
    result.teacher_forward_samples += entry.rows;
    manifest.shards.push_back(std::move(entry));
    save_manifest(manifest_path, manifest);
    log_debug("labelled ", task.file, " (", task.end - task.begin, " rows)");
  }
  result.manifest = std::move(manifest);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace condenser
