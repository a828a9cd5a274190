#pragma once
// `condenser export`: turns a finished run into what a user deploys.
#include <string>

#include "report/job_report.h"

namespace condenser {

// Writes into OUT (default RUN_DIR/export):
// - student.pt: TorchScript, eval mode (physically compacted after
//   structured pruning): float32 pixels in [0, 1] shaped [N, 1, 28, 28],
//   normalised inside the model;
// - metrics.json: summary.json's fields (per-stage results, teacher,
//   student_dense, student_final, teacher_forward_samples, soft_label_reads)
//   plus sparsity_per_layer, student_file_bytes, dense_student_file_bytes,
//   "comparison" (teacher vs student: test accuracy, parameters, nonzeros,
//   file bytes, CPU latency at batch 1 and 64 and throughput, measured side
//   by side, see export/latency.h), "cost" (teacher training, teacher
//   inference paid once, student training seconds, teacher passes avoided),
//   "recipe" (from config.resolved.yaml), "int8" (size, test accuracy and
//   latency of student_int8.pt, or "available": false and why);
// - student_int8.pt: linear layers dynamically quantized to int8
//   (export/int8_export.h) when this LibTorch has a quantized engine;
// - README.md: the model card (report/model_card.h);
// - report.html: charts (report/report_html.h).
// Throws UsageError when RUN_DIR is not a finished run, or when its student
// has a non-finite weight. Each file is written atomically; a failed write
// (ENOSPC, EROFS) throws with its cause and leaves no temporary file.
void export_run(const std::string& run_dir, const std::string& out_dir);

// The job's own export into RUN_DIR/export, with the job's `report` (marked
// finished) while summary.json still says unfinished: the job writes
// "finished": true only once every export file is in place, so a run killed
// or failed here is resumed (export only), never taken for finished.
void export_job(const std::string& run_dir, const JobReport& report);

}  // namespace condenser
