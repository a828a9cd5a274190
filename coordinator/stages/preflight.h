#pragma once
// The checks a job must pass before anything is created, deleted or trained
// (`condenser validate` runs the same ones, so validate passes exactly what
// run accepts): the job name (it names runs/NAME), the runtime (threads,
// device, ranks), the dataset (headers, shapes, labels) against the data sizes
// asked for, the models against the data (trainers/model_choice.h),
// the soft-label and prune settings against the class count, the sample
// shape and the student, and a probe batch through a TorchScript teacher.
// Cheap: headers, the labels, a few samples, small models; never the whole dataset.
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "data/datasets.h"

namespace condenser {

// The data sizes preflight found: the split's sample counts after
// data.validation_size and the subsets.
struct DataPlan {
  int64_t train_file_samples = 0;  // in the source's train split
  int64_t test_file_samples = 0;   // its test split, or the size carved for one
  int64_t validation_samples = 0;
  int64_t train_samples = 0;  // used for training (after validation and train_subset)
  int64_t test_samples = 0;   // used for the test report
};

// What preflight checked, for `condenser validate` to say.
struct PreflightReport {
  DatasetInfo dataset;  // the source as found (the job loads it from this)
  DataPlan data;
  std::vector<std::string> models;  // "student: small_cnn, N parameters, F MFLOPs per sample"
  bool teacher_probed = false;  // teacher.path ran on the probe batch
};

// Throws UsageError naming the first problem (the key or file) and what to do.
PreflightReport preflight(const Config& config);

// The dataset data.* names, described without loading its inputs; a text
// corpus (data.dataset: text) is tokenized first into the token cache
// (data/text/token_cache.h) and described as that token file.
DatasetInfo describe_job_dataset(const Config& config);

// Checks data.* against the dataset found (part of preflight).
DataPlan check_data_sizes(const Config& config, const DatasetInfo& data);

}  // namespace condenser
