#pragma once
// The labelling stage: the teacher runs once per (sample, view) into HDF5
// shards (reusing verified shards of an earlier run in the same directory),
// then the student stages get the soft labels back from those shards.
#include <torch/script.h>

#include <memory>

#include "coordinator/job_context.h"
#include "data/shard_stream.h"
#include "data/soft_label_table.h"

namespace condenser {

// What the student stages distill from: a verified in-memory table, or a
// stream over the shards (soft_labels.reader).
struct SoftLabels {
  SoftTargets table;
  std::unique_ptr<ShardStream> stream;
};

SoftLabels label_stage(JobContext& job, torch::jit::Module& teacher, bool teacher_trained_here);

class JobCheckpoints;

// Options of a stage that distills from `soft` (distill, each prune
// fine-tune): the stage's optimizer, its resume point, the KD settings.
StageOptions distill_options(JobContext& job, const std::string& stage, const OptimConfig& optim,
                             const SoftLabels& soft, JobCheckpoints& checkpoints);

}  // namespace condenser
