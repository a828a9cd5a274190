#pragma once
// The run directory contract (README "Run directory"): where every file of a job lives.
#include <string>

#include "config/config.h"

namespace condenser {

struct RunPaths {
  std::string root;
  std::string config_resolved;  // config.resolved.yaml: the config as run
  std::string token;            // job.token: secret workers present (mode 0600)
  std::string manifest;         // manifest.json: committed soft-label shards
  std::string soft_labels;      // soft_labels/shard-NNNNNN.h5
  std::string models;           // models/teacher.pt, student_distilled.pt, student_final.pt
  std::string metrics;          // metrics.jsonl: one JSON object per step/epoch record
  std::string summary;          // summary.json: per-stage results (input to export)
  std::string export_dir;       // export/: student.pt, metrics.json

  static RunPaths at(const std::string& root);
};

// Creates the directories and writes config.resolved.yaml (the job token is
// protocol/job_token.h's). Throws UsageError when the directory cannot be
// created.
RunPaths prepare_run_dir(const std::string& root, const Config& config);

}  // namespace condenser
