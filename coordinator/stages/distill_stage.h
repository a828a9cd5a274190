#pragma once
// The distill stage: a fresh student (trainers/model_choice.h) trained from the
// teacher's soft labels with the KD loss (soft_labels.temperature,
// student.alpha): from the in-memory table, the shard stream
// (soft_labels.reader), or pipelined, its first epoch in the order the
// shards are committed (coordinator/stages/shard_pipeline.h). Checkpointed
// as the stage "distill"; rank 0 saves models/student_distilled.pt.
#include <torch/script.h>

#include <string>

#include "coordinator/stages/job_checkpoints.h"
#include "coordinator/stages/job_context.h"
#include "coordinator/stages/label_stage.h"

namespace condenser {

// The job's fresh student (trainers/model_choice.h) on job.device: the distilled
// student and the no-teacher control start equal.
torch::jit::Module fresh_student(const JobContext& job);

// student.mix and student.mix_alpha.
MixOptions mix_options(const Config& config);

// Options of a stage that distills from `soft` (distill, each prune
// fine-tune): the stage's optimizer, its resume point, the KD settings and
// where its batches come from. Pipelined, only the distill stage's first
// epoch follows the commit order; any other stage first takes every shard
// (ShardPipeline::finish, collective). A fresh stage's soft-label reads are
// counted in job.report.
StageOptions distill_options(JobContext& job, const std::string& stage, const OptimConfig& optim,
                             const SoftLabels& soft, JobCheckpoints& checkpoints);

// Returns the distilled student on job.device and sets
// job.report.student_dense. A job resumed past this stage loads the
// checkpoint's weights instead (this stage's or a later stage's).
torch::jit::Module distill_stage(JobContext& job, const SoftLabels& soft,
                                 JobCheckpoints& checkpoints);

}  // namespace condenser
