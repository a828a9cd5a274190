#pragma once
// Data-parallel gradient summing, overlapped with backward (what PyTorch's
// DistributedDataParallel does, which LibTorch's C++ API lacks).
//
// Parameters are packed into buckets of at most `bucket_cap_bytes`, in
// reverse parameter order (roughly the order backward produces gradients),
// the same on every rank. Each parameter's .grad is a view into its bucket
// (DDP's gradient_as_bucket_view): backward's AccumulateGrad adds the
// gradient straight into the bucket, so nothing is copied in or out. A
// post-hook on each parameter's grad accumulator marks it ready; when a
// bucket is complete its all-reduce starts at once while backward carries
// on. Buckets are launched strictly in index order, so every rank issues
// the same collectives in the same order. finish() waits for them.
//
// The all-reduce is a plain SUM (no division pass): averaging is folded into
// the loss. Scale each rank's loss by local_rows / global_rows (1/world for
// equal shares) and the summed gradient is the global batch's mean.
//
// Per step:  optimizer.zero_grad(); reducer.prepare(); loss.backward();
//            reducer.finish();
// zero_grad zeroes the views in place (LibTorch 1.x) or drops them
// (LibTorch 2.x sets grads to undefined): prepare() re-installs dropped views
// zeroed, so either way every step starts from zero gradients in the
// buckets. A rank with no samples in a step calls finish() without backward:
// it contributes zero gradients.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "cluster/communicator.h"

namespace torch {
namespace autograd {
struct Node;
}  // namespace autograd
}  // namespace torch

namespace condenser {

// Overwrites every tensor (parameters and buffers) with rank 0's values.
void broadcast_from_rank0(Communicator& comm, const std::vector<at::Tensor>& tensors);

class GradientReducer {
 public:
  static constexpr size_t kDefaultBucketCapBytes = size_t(25) << 20;

  // overlap=false starts every all-reduce in finish(), after backward (the
  // baseline the benchmark compares against). Every parameter must require
  // grad. Installs the bucket views as .grad (zeroed) and the hooks.
  GradientReducer(std::vector<at::Tensor> parameters, Communicator& comm,
                  size_t bucket_cap_bytes = kDefaultBucketCapBytes, bool overlap = true);
  ~GradientReducer();  // removes the hooks; .grad keeps aliasing the buckets
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  void prepare();
  void finish();
  // What parameter `index`'s grad-accumulator hook calls once backward has
  // added its gradient to .grad (public for benchmarks that write the
  // gradients into .grad without a backward pass).
  void mark_ready(size_t index);

  // Bucket b's parameter indices, in the order they are packed.
  const std::vector<std::vector<size_t>>& bucket_layout() const { return layout_; }
  // Seconds finish() spent waiting for all-reduces (the part not hidden
  // behind backward), summed over steps.
  double exposed_wait_seconds() const { return exposed_wait_seconds_; }

 private:
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0;  // in elements, within the bucket's flat buffer
    at::Tensor view;     // the parameter's .grad: its part of the bucket
    bool ready = false;
  };
  struct Bucket {
    at::Tensor flat;
    size_t pending = 0;
    WorkPtr work;
  };

  bool holds_view(size_t index) const;  // .grad is still slot `index`'s view
  void launch_ready_buckets_locked();   // in index order, as far as ready

  std::vector<at::Tensor> parameters_;
  Communicator& comm_;
  const bool overlap_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<std::vector<size_t>> layout_;
  // Held so the accumulators (and the hooks on them) outlive each graph:
  // a parameter keeps only a weak reference to its accumulator.
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks_;
  std::mutex mutex_;
  size_t next_launch_ = 0;
  double exposed_wait_seconds_ = 0.0;
};

}  // namespace condenser
