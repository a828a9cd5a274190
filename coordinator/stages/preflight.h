#pragma once
// The checks a job must pass before anything is created, deleted or trained
// (`condenser validate` runs the same ones): the config against the dataset's
// headers, the model names, the device, the teacher file (a probe batch) and
// the prune and soft-label settings against the class count.
#include "config/config.h"

namespace condenser {

// Throws UsageError naming the first problem and what to do about it.
void preflight(const Config& config);

}  // namespace condenser
