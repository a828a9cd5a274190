#pragma once
// The job as a `condenser worker` runs it, from the LabelSpec of the
// coordinator's welcome: the shard layout, the data and sample list (checked
// against the spec's fingerprint and count) and the teacher (checked against
// its sha256), loaded once per job; and what one leased task means here.
#include <torch/script.h>

#include <memory>
#include <string>

#include "protocol/label_spec.h"
#include "protocol/messages.h"
#include "worker/teacher_labeller.h"

namespace condenser {

struct LoadedJob {
  LabelSpec spec;
  LabellerSetup setup;
  torch::jit::Module teacher;
};

// The layout half of a LabellerSetup (no images, no sample list): shard
// provenance naming `worker_name` as producer, dtype, top-k, views, seeds,
// batch size, soft-label directory. RuntimeFailure for an unknown dtype.
LabellerSetup labeller_setup(const LabelSpec& spec, const std::string& worker_name);

// Loads data and teacher for `spec` onto `device`. UsageError when this
// machine's data or teacher file differs from the coordinator's;
// RuntimeFailure for another sample count. The data are described and split
// as the coordinator does (data/datasets.h); a source that cannot be read is
// a UsageError naming it.
std::unique_ptr<LoadedJob> load_job(const LabelSpec& spec, const std::string& device,
                                    const std::string& worker_name);

// What a lease asks of this worker: the task's range, written into the
// lease's own attempt file (the coordinator renames it when it commits).
LabelTask attempt_of(const msg::Task& task);

}  // namespace condenser
