#pragma once
// RUN_DIR/checkpoints/step-NNNNNNNN/: everything a killed job needs to end
// exactly where an uninterrupted one would. Files:
//   weights.pt    the model's parameters and buffers (LibTorch archive)
//   optimizer.pt  the optimizer's state
//   rng.pt        every rank's CPU generator state
//   masks.pt      the prune masks (prune stage only)
//   state.json    stage, cursor, the job's summary so far, the resolved
//                 config, the SHA-256 of every file above, and of its own
//                 content (state_sha256: an edited or torn state is damaged)
// Written to a temporary directory, each file fsynced, renamed into place,
// the parent fsynced, then `latest` (the directory's name) replaced the
// same way. The newest keep_last are kept, the best by validation
// accuracy, and the newest stage end (a missed prune attempt rolls back to it).
#include <torch/script.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "trainers/prune_masks.h"
#include "trainers/training.h"

namespace condenser {

struct Checkpoint {
  std::string stage;          // teacher | distill | prune | prune.K | prune.K.R
  bool stage_done = false;    // the stage is complete: the next one starts from these weights
  int64_t job_step = 0;       // optimizer steps of the whole job so far (names the directory)
  double val_accuracy = -1;   // at an epoch's end; -1 elsewhere
  StageResume resume;         // the loop's position within the stage
  nlohmann::json report;      // summary.json so far
  std::map<std::string, std::string> config;  // resolved config, key -> value text
  std::map<std::string, at::Tensor> weights;  // parameter and buffer name -> tensor
  PruneMasks masks;
  std::string path;           // set by load_checkpoint
};

// Parameters and buffers of a module, by name (copies, on the CPU).
std::map<std::string, at::Tensor> module_state(const torch::jit::Module& module);
// Copies them back; RuntimeFailure naming a missing or mis-shaped tensor.
void load_module_state(torch::jit::Module& module, const std::map<std::string, at::Tensor>& state);

// Writes CHECKPOINTS/step-NNNNNNNN and points `latest` at it; then prunes
// old ones. Returns its path. UsageError, writing nothing, when a weight is
// NaN or infinite (a checkpoint is only ever a state worth resuming from);
// RuntimeFailure naming the file and the cause (ENOSPC, ...) when a write
// fails, the temporary directory removed.
std::string write_checkpoint(const std::string& checkpoints_dir, const Checkpoint& checkpoint,
                             int keep_last);

// The step-NNNNNNNN names in a checkpoints folder, newest first.
std::vector<std::string> list_checkpoints(const std::string& dir);

// Reads and verifies one checkpoint directory: UsageError naming the file
// that is missing or fails its checksum.
Checkpoint load_checkpoint(const std::string& dir);

// The newest checkpoint that verifies: `latest` first, then the others from
// newest to oldest, each bad one named in a warning. nullopt when none.
std::optional<Checkpoint> load_latest_checkpoint(const std::string& checkpoints_dir);

// The newest checkpoint written at a stage's end (verified), or nullopt:
// the state a prune stage that misses its budget rolls back to. UsageError
// when a newer checkpoint's state cannot be verified (it may be that stage
// end) or the stage end is damaged: never an older state instead.
std::optional<Checkpoint> load_latest_stage_end(const std::string& checkpoints_dir);

// Keys whose values differ between a checkpoint's config and this run's,
// ignoring those that may change on resume (logging.*, checkpoint.*,
// runtime.threads, runtime.bucket_cap_mb).
std::vector<std::string> config_differences(const std::map<std::string, std::string>& saved,
                                            const std::map<std::string, std::string>& now);

std::map<std::string, std::string> config_map(const Config& config);

}  // namespace condenser
