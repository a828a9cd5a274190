#pragma once
// The prune stage: masks (global magnitude, N:M or structured channels)
// fixed on the distilled student, a fine-tune distilling from the cached
// soft labels with the masks held, and for structured pruning the physical
// compaction into a smaller model.
#include <torch/script.h>

#include "coordinator/job_checkpoints.h"
#include "coordinator/job_context.h"
#include "coordinator/label_stage.h"

namespace condenser {

// Returns the pruned, fine-tuned (and compacted) student; records the stage.
torch::jit::Module prune_stage(JobContext& job, torch::jit::Module student, const SoftLabels& soft,
                               JobCheckpoints& checkpoints);

}  // namespace condenser
