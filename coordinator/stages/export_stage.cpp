#include "coordinator/stages/export_stage.h"

#include "coordinator/stages/progress.h"
#include "export/export.h"

namespace condenser {

void export_stage(JobContext& job, Clock::time_point job_start, ProgressReporter* progress) {
  const auto start = Clock::now();
  job.report.total_seconds = since(job_start);
  // finished only in the export's copy: summary.json says so once every
  // export file is in place (a kill or a full disk here is resumed, not taken
  // for a finished run).
  JobReport exported = job.report;
  exported.finished = true;
  export_job(job.options.run_dir, exported);
  job.record("export", since(start), 0, nullptr);
  if (progress) progress->finish();
  job.report.total_seconds = since(job_start);
  job.report.finished = true;
  job.save_report();
  job.barrier();
}

}  // namespace condenser
