#pragma once
// The checks a job must pass before anything is created, deleted or trained
// (`condenser validate` runs the same ones, so validate passes exactly what
// run accepts): the job name (it names runs/NAME), the runtime (threads, device, ranks), the model names, the
// soft-label and prune settings against the class count and the student,
// the dataset (image headers, labels) against the data sizes asked for, and
// a probe batch through a TorchScript teacher. Cheap: headers, the labels,
// a few images, one small model; never the whole dataset.
#include <cstdint>

#include "config/config.h"

namespace condenser {

// The data sizes preflight found: the split's sample counts after
// data.validation_size and the subsets.
struct DataPlan {
  int64_t train_file_samples = 0;  // in the training IDX files
  int64_t test_file_samples = 0;
  int64_t validation_samples = 0;
  int64_t train_samples = 0;  // used for training (after validation and train_subset)
  int64_t test_samples = 0;   // used for the test report
};

// What preflight checked, for `condenser validate` to say.
struct PreflightReport {
  DataPlan data;
  bool teacher_probed = false;  // teacher.path ran on the probe batch
};

// Throws UsageError naming the first problem (the key or file) and what to do.
PreflightReport preflight(const Config& config);

// Checks the dataset (image headers, labels) and data.* against it (part of preflight).
DataPlan check_data_sizes(const Config& config);

}  // namespace condenser
