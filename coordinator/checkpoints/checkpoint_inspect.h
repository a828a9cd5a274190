#pragma once
// `condenser inspect checkpoint DIR`: DIR is a run directory, its
// checkpoints/ folder, or one checkpoint. Lists each checkpoint with its
// stage, position and whether every file passes its SHA-256 check.
#include <string>

namespace condenser {

struct CheckpointInspection {
  std::string text;
  bool ok = true;  // every listed checkpoint verified
};

// UsageError when DIR holds no checkpoint at all.
CheckpointInspection inspect_checkpoints(const std::string& dir);

}  // namespace condenser
