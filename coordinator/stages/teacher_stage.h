#pragma once
// The teacher stage: a user's TorchScript teacher (teacher.path) is loaded,
// checked against this job's batches and hashed; otherwise the built-in
// teacher.model is trained (checkpointed as the stage "teacher") and rank 0
// saves it to models/teacher.pt, which a resumed job past this stage loads.
#include <torch/script.h>

#include "coordinator/stages/job_checkpoints.h"
#include "coordinator/stages/job_context.h"

namespace condenser {

// Returns the teacher on job.device and sets job.report's teacher source,
// hash and stats. UsageError for a teacher file that cannot run on this
// dataset's batches or returns the wrong shape.
torch::jit::Module teacher_stage(JobContext& job, JobCheckpoints& checkpoints);

}  // namespace condenser
