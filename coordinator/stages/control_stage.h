#pragma once
// The no-teacher control (control.enabled): what the student would reach
// without distillation. The same fresh student (fresh_student) is trained
// with cross-entropy on the labels only, on exactly the distill stage's
// batches: the same epoch orders, augmented views, mixing pairs and weights,
// dropout seed, optimizer and schedule (StageOptions::order_of = "distill").
// No soft label is read. The report's gain from distillation is the
// distilled student's test accuracy minus the control's, in points.
//
// The stage runs after labelling and before distill, so that the newest
// stage end a prune attempt can roll back to is always the distilled
// student's. Checkpointed as the stage "control"; rank 0 saves
// models/student_control.pt; job.report.student_control holds its accuracy.
// (With soft_labels.reader: stream the distill stage follows the stream's
// own shard order and the control the table's epoch order: the same samples,
// views and schedule, in another order.)
#include "coordinator/stages/job_checkpoints.h"
#include "coordinator/stages/job_context.h"

namespace condenser {

void control_stage(JobContext& job, JobCheckpoints& checkpoints);

}  // namespace condenser
