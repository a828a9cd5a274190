#pragma once
// What a width or depth attempt adds to its record (report/job_report.h's
// PruneAttempt): the validation perplexity right after the cut, before the
// fine-tune recovered it, and the tokens/s of the attempt's compacted model
// against the dense student, timed side by side at batch 1 and 64.
//
// The perplexity before recovery is measured once, when the cut is made,
// and kept in the attempt's RUN_DIR/prune_importance/ATTEMPT.json
// ("before_recovery"), so a job resumed inside the attempt reports what was
// measured instead of a value from partly recovered weights.
#include <torch/script.h>

#include <string>

#include "coordinator/stages/job_context.h"
#include "trainers/model_spec.h"
#include "trainers/prune_masks.h"

namespace condenser {

// Scores the freshly cut `student` on the validation windows (every rank:
// the score is a collective) and rank 0 adds it to the attempt's file.
void note_before_recovery(JobContext& job, torch::jit::Module& student,
                          const std::string& attempt);

// Fills attempt.val_perplexity_before from the file (0 when it holds none)
// and, on rank 0, attempt.tokens_per_s: the masked `student` compacted and
// timed against models/student_distilled.pt on the same random windows.
void add_lm_attempt_report(const JobContext& job, const torch::jit::Module& student,
                           const ModelSpec& spec, const PruneMasks& masks, PruneAttempt& attempt);

}  // namespace condenser
