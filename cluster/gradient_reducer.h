#pragma once
// Data-parallel gradient averaging, overlapped with backward (what PyTorch's
// DistributedDataParallel does, which LibTorch's C++ API lacks).
//
// Parameters are packed into buckets of at most `bucket_cap_bytes`, in
// reverse parameter order (roughly the order backward produces gradients),
// the same on every rank. An autograd hook on each parameter copies its
// gradient into its bucket; when a bucket is full its all-reduce starts at
// once while backward carries on. Buckets are launched strictly in index
// order, so every rank issues the same collectives in the same order.
// finish() waits for them and writes the averaged gradients to .grad.
//
// Per step:  reducer.prepare(); loss.backward(); reducer.finish();
// A rank with no samples in a step calls finish() without backward: it
// contributes zero gradients (scale the loss by local_rows * world /
// global_rows so the average equals the global batch's mean).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cluster/communicator.h"

namespace condenser {

// Overwrites every tensor (parameters and buffers) with rank 0's values.
void broadcast_from_rank0(Communicator& comm, const std::vector<at::Tensor>& tensors);

class GradientReducer {
 public:
  static constexpr size_t kDefaultBucketCapBytes = size_t(25) << 20;

  // overlap=false starts every all-reduce in finish(), after backward (the
  // baseline the benchmark compares against). Registers the hooks.
  GradientReducer(std::vector<at::Tensor> parameters, Communicator& comm,
                  size_t bucket_cap_bytes = kDefaultBucketCapBytes, bool overlap = true);
  ~GradientReducer();  // removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  void prepare();
  void finish();
  // What each parameter's autograd hook calls: `grad` is parameter `index`'s
  // gradient of this step (public for benchmarks that feed the reducer
  // without a backward pass).
  void add_gradient(size_t index, const at::Tensor& grad);

  // Bucket b's parameter indices, in the order they are packed.
  const std::vector<std::vector<size_t>>& bucket_layout() const { return layout_; }
  // Seconds finish() spent waiting for all-reduces (the part not hidden
  // behind backward), summed over steps.
  double exposed_wait_seconds() const { return exposed_wait_seconds_; }

 private:
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0;  // in elements, within the bucket's flat buffer
    bool ready = false;
  };
  struct Bucket {
    at::Tensor flat;
    size_t pending = 0;
    WorkPtr work;
  };

  void launch_ready_buckets_locked();  // in index order, as far as ready

  std::vector<at::Tensor> parameters_;
  Communicator& comm_;
  const bool overlap_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<std::vector<size_t>> layout_;
  std::vector<unsigned> hook_ids_;
  at::Tensor world_size_;  // the divisor of the summed gradients
  std::mutex mutex_;
  size_t next_launch_ = 0;
  double exposed_wait_seconds_ = 0.0;
};

}  // namespace condenser
