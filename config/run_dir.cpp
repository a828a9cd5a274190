#include "config/run_dir.h"

#include <fstream>
#include <random>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"

namespace condenser {
namespace {

std::string random_token() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
    throw RuntimeFailure("cannot read /dev/urandom to create the job token");
  }
  static const char* hex = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += hex[b >> 4];
    token += hex[b & 15];
  }
  return token;
}

}  // namespace

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
  if (!path_exists(paths.token)) atomic_write_file(paths.token, random_token() + "\n", 0600);
  return paths;
}

}  // namespace condenser
