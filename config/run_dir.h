#pragma once
// The run directory contract (README "Run directory"): where every file of a
// job lives, which folders condenser may write into, and the order in which a
// job takes one: check it, claim it (create it with its marker, lock it),
// check everything else, and only then write into it.
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/run_lock.h"

namespace condenser {

struct RunPaths {
  std::string root;
  std::string marker;           // .condenser-run: written at creation; says condenser owns it
  std::string lock;             // job.lock: flock'ed by the job for its life, holds its pid
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

// UsageError unless `name` (config `name`, the default run directory is
// runs/NAME) is one path component of printable UTF-8.
void check_run_name(const std::string& name);

// UsageError unless `root` may be a run directory: printable UTF-8 (also
// once made absolute), not "/", not the home directory, not a file, and
// either missing, empty, or carrying the marker of a condenser run
// directory. Creates nothing.
void check_run_dir(const std::string& root);

// Rank 0's hold on its run directory for the job's life. Until commit(),
// everything it made is undone when it is destroyed (the job was refused),
// so a refused run leaves the disk as it found it; the lock is released
// either way.
class RunDirClaim {
 public:
  // check_run_dir(root); creates `root` (and missing parents) and its
  // marker when needed; takes job.lock. UsageError when the folder cannot be
  // created or another job holds the lock (naming its pid).
  explicit RunDirClaim(const std::string& root);
  RunDirClaim(const RunDirClaim&) = delete;
  RunDirClaim& operator=(const RunDirClaim&) = delete;
  ~RunDirClaim();

  const RunPaths& paths() const { return paths_; }
  // A file the job may create before commit() (metrics.jsonl): removed on
  // an uncommitted end if it did not exist now.
  void track_file(const std::string& path);
  // Every check passed: creates soft_labels/ and models/ and writes
  // config.resolved.yaml; from now on what was created stays.
  void commit(const Config& config);

 private:
  void undo() noexcept;

  RunPaths paths_;
  FileLock lock_;
  std::vector<std::string> created_dirs_;   // in creation order
  std::vector<std::string> created_files_;  // removed before the folders
  bool committed_ = false;
};

}  // namespace condenser
