#pragma once
// The prune schedule: stage after stage (prune.stages), the distilled
// student is cut (magnitude, N:M or structured channels; prune.exclude and
// prune.layer_sparsity), fine-tuned from the cached soft labels with the
// masks held, and checked against the accuracy budget; a miss rolls back
// and retries with half the step (coordinator/stages/budget_schedule.h). Each
// attempt is a checkpointed stage of its own (prune, prune.K, prune.K.R) and
// a PruneAttempt in the report; a structured student is compacted at the end.
#include <torch/script.h>

#include "coordinator/stages/job_checkpoints.h"
#include "coordinator/stages/job_context.h"
#include "coordinator/stages/label_stage.h"

namespace condenser {

// Checks prune.exclude and prune.layer_sparsity against a fresh `student`'s
// weights and that every stage's target is reachable, before anything is
// trained: UsageError naming the key.
void check_prune_targets(const Config& config, const torch::jit::Module& student);

// Returns the student kept (the last attempt within the budget, else the
// dense student) and sets job.report.student_final to its stats.
torch::jit::Module prune_stage(JobContext& job, torch::jit::Module student, const SoftLabels& soft,
                               JobCheckpoints& checkpoints);

}  // namespace condenser
