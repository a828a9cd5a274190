#include "config/run_dir.h"

#include "core/errors.h"
#include "core/files.h"

namespace condenser {

RunPaths RunPaths::at(const std::string& root) {
  RunPaths p;
  p.root = root;
  p.config_resolved = root + "/config.resolved.yaml";
  p.token = root + "/job.token";
  p.manifest = root + "/manifest.json";
  p.soft_labels = root + "/soft_labels";
  p.models = root + "/models";
  p.metrics = root + "/metrics.jsonl";
  p.summary = root + "/summary.json";
  p.export_dir = root + "/export";
  return p;
}

RunPaths prepare_run_dir(const std::string& root, const Config& config) {
  RunPaths paths = RunPaths::at(root);
  try {
    ensure_dir(paths.root);
    ensure_dir(paths.soft_labels);
    ensure_dir(paths.models);
  } catch (const Error& e) {
    throw UsageError("cannot create run directory '" + root + "': " + e.what() +
                     "; pass a writable --run-dir");
  }
  atomic_write_file(paths.config_resolved, config_to_yaml(config));
  return paths;
}

}  // namespace condenser
