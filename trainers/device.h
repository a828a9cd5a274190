#pragma once
// Where models and batches live (config key runtime.device), and how CPU
// batches get there.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>

namespace condenser {

// Parses "cpu", "cuda" or "cuda:N". Asking for CUDA from a build without it
// (CONDENSER_WITH_CUDA=OFF), or on a machine without that GPU, is a
// UsageError that says so and how to fix it.
// Plain "cuda" picks GPU local_rank mod the GPU count, so the ranks of one
// node spread over its GPUs.
c10::Device resolve_device(const std::string& spec, int local_rank = 0);

// A CPU tensor on `device`. To a GPU the data is staged in page-locked
// (pinned) host memory and copied with non_blocking = true: the copy is
// queued on the current CUDA stream and the host goes on preparing the next
// batch (LibTorch's pinned-memory cache keeps the staging buffer until the
// copy has run). To the CPU: `host` itself, no copy (the CPU path is as before).
at::Tensor to_device(const at::Tensor& host, c10::Device device);

// The staging buffers of the two functions below (public for tests): a
// pinned copy of `host`, and source.index_select(0, index) gathered straight
// into pinned memory. Need a CUDA build.
at::Tensor pinned_copy(const at::Tensor& host);
at::Tensor gather_pinned(const at::Tensor& source, const at::Tensor& index);

// source.index_select(0, index) on `device`; to a GPU the rows are gathered
// straight into pinned memory (one host pass) and copied as to_device does.
at::Tensor gather_to_device(const at::Tensor& source, const at::Tensor& index,
                            c10::Device device);

}  // namespace condenser
