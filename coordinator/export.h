#pragma once
// `condenser export`: turns a finished run into what a user deploys.
#include <string>

namespace condenser {

// Writes OUT/student.pt (TorchScript, eval mode: takes float32 pixels in
// [0, 1] shaped [N, 1, 28, 28] and normalises them itself) and
// OUT/metrics.json (teacher vs student accuracy, parameters, nonzeros,
// sparsity overall and per layer, seconds per stage). OUT defaults to
// RUN_DIR/export. Throws UsageError when RUN_DIR is not a finished run.
void export_run(const std::string& run_dir, const std::string& out_dir);

}  // namespace condenser
