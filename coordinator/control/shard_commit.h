#pragma once
// The file side of the coordinator (ControlEffects for the real run
// directory): commit a worker's attempt as the task's shard (checksum and row
// count checked, renamed into place, manifest replaced atomically), remove
// stale attempts, and persist the task table to RUN_DIR/tasks.json.
// Order of a commit: rename, then manifest, then table. A crash between them
// leaves a shard the manifest does not list; it is relabelled on restart.
#include <nlohmann/json.hpp>
#include <string>

#include "coordinator/control/control_handler.h"
#include "data/shards/manifest.h"

namespace condenser {

class ShardCommitter : public ControlEffects {
 public:
  // `manifest` already lists the shards kept from earlier runs. `job` (the
  // label spec) is stored with the table: a restart restores leases only
  // for the same teacher, data and layout.
  ShardCommitter(std::string soft_label_dir, std::string manifest_path, std::string table_path,
                 Manifest manifest, int views, nlohmann::json job);

  std::string commit(const Lease& lease, const LabelTask& task,
                     const msg::TaskDone& done) override;
  void discard(const std::string& attempt_file) override;
  void persist(const TaskTable& table) override;

  const Manifest& manifest() const { return manifest_; }

 private:
  std::string dir_, manifest_path_, table_path_;
  Manifest manifest_;
  int views_;
  nlohmann::json job_;
};

// Removes attempt files (".attempt-*") in `soft_label_dir` that no lease in
// `table` still writes: leftovers of workers or a coordinator that died.
void sweep_stale_attempts(const std::string& soft_label_dir, const TaskTable& table);

}  // namespace condenser
