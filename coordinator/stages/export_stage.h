#pragma once
// The last stage, on rank 0 once the final model is saved: the finished
// report and export/ (export/export.h).
#include "coordinator/stages/job_context.h"

namespace condenser {

class ProgressReporter;

// Writes export/ and only then marks the job finished in summary.json.
void export_stage(JobContext& job, Clock::time_point job_start, ProgressReporter* progress);

}  // namespace condenser
