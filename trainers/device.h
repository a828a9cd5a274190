#pragma once
// Where models and batches live (config key runtime.device).
#include <c10/core/Device.h>

#include <string>

namespace condenser {

// Parses "cpu", "cuda" or "cuda:N". Asking for CUDA from a build without it
// (CONDENSER_WITH_CUDA=OFF), or on a machine without that GPU, is a
// UsageError that says so and how to fix it.
// Plain "cuda" picks GPU local_rank mod the GPU count, so the ranks of one
// node spread over its GPUs.
c10::Device resolve_device(const std::string& spec, int local_rank = 0);

}  // namespace condenser
