#include "cluster/gradient_reducer.h"

#include <torch/torch.h>

#include <chrono>

#include "core/errors.h"

namespace condenser {

void broadcast_from_rank0(Communicator& comm, const std::vector<at::Tensor>& tensors) {
  if (comm.size() <= 1) return;
  torch::NoGradGuard no_grad;
  std::vector<WorkPtr> works;
  std::vector<at::Tensor> staged;  // contiguous copies of non-contiguous tensors
  for (const auto& t : tensors) {
    at::Tensor target = t.is_contiguous() ? t : t.contiguous();
    staged.push_back(target);
    works.push_back(comm.broadcast(staged.back(), 0));
  }
  for (size_t i = 0; i < works.size(); ++i) {
    wait_all(works[i]);
    if (!tensors[i].is_contiguous()) tensors[i].copy_(staged[i]);
  }
}

GradientReducer::GradientReducer(std::vector<at::Tensor> parameters, Communicator& comm,
                                 size_t bucket_cap_bytes, bool overlap)
    : parameters_(std::move(parameters)), comm_(comm), overlap_(overlap) {
  slots_.resize(parameters_.size());
  // Reverse order; a new bucket when the cap would be passed or the dtype or
  // device changes (one flat buffer holds one kind of tensor).
  std::vector<int64_t> sizes;
  for (size_t k = parameters_.size(); k-- > 0;) {
    const at::Tensor& p = parameters_[k];
    const size_t bytes = size_t(p.numel()) * p.element_size();
    const bool fresh = layout_.empty() ||
                       (sizes.back() > 0 && size_t(sizes.back()) * p.element_size() + bytes >
                                                bucket_cap_bytes) ||
                       parameters_[layout_.back().front()].scalar_type() != p.scalar_type() ||
                       parameters_[layout_.back().front()].device() != p.device();
    if (fresh) {
      layout_.emplace_back();
      sizes.push_back(0);
    }
    slots_[k] = {layout_.size() - 1, sizes.back(), false};
    layout_.back().push_back(k);
    sizes.back() += p.numel();
  }
  world_size_ = torch::scalar_tensor(double(comm.size()), parameters_.empty()
                                                              ? torch::TensorOptions()
                                                              : parameters_.front().options()
                                                                    .requires_grad(false));
  buckets_.resize(layout_.size());
  for (size_t b = 0; b < layout_.size(); ++b) {
    const at::Tensor& first = parameters_[layout_[b].front()];
    buckets_[b].flat = torch::zeros({sizes[b]}, first.options().requires_grad(false));
  }
  for (size_t k = 0; k < parameters_.size(); ++k) {
    hook_ids_.push_back(parameters_[k].register_hook(
        [this, k](const at::Tensor& grad) { add_gradient(k, grad); }));
  }
  prepare();
}

GradientReducer::~GradientReducer() {
  for (size_t k = 0; k < hook_ids_.size(); ++k) parameters_[k].remove_hook(hook_ids_[k]);
}

void GradientReducer::prepare() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : slots_) s.ready = false;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].pending = layout_[b].size();
    buckets_[b].work.reset();
  }
  next_launch_ = 0;
}

void GradientReducer::add_gradient(size_t index, const at::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  Slot& slot = slots_[index];
  if (slot.ready) {
    throw RuntimeFailure("gradient reducer: parameter " + std::to_string(index) +
                         " got two gradients in one step; call prepare() before each backward");
  }
  Bucket& bucket = buckets_[slot.bucket];
  bucket.flat.narrow(0, slot.offset, grad.numel()).copy_(grad.reshape({-1}));
  slot.ready = true;
  --bucket.pending;
  if (overlap_) launch_ready_buckets_locked();
}

void GradientReducer::launch_ready_buckets_locked() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& bucket = buckets_[next_launch_];
    // A sum: finish() divides while it copies out (one memory pass less).
    bucket.work = comm_.allreduce(bucket.flat, ReduceOp::kSum);
    ++next_launch_;
  }
}

void GradientReducer::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Parameters backward did not reach (unused in this step, or no samples
    // on this rank) contribute zeros, so every rank still launches every bucket.
    for (size_t k = 0; k < slots_.size(); ++k) {
      Slot& slot = slots_[k];
      if (slot.ready) continue;
      Bucket& bucket = buckets_[slot.bucket];
      bucket.flat.narrow(0, slot.offset, parameters_[k].numel()).zero_();
      slot.ready = true;
      --bucket.pending;
    }
    launch_ready_buckets_locked();
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto& bucket : buckets_) wait_all(bucket.work);
  exposed_wait_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    at::Tensor& p = parameters_[k];
    const Slot& slot = slots_[k];
    const at::Tensor summed =
        buckets_[slot.bucket].flat.narrow(0, slot.offset, p.numel()).view(p.sizes());
    if (!p.grad().defined()) p.mutable_grad() = torch::empty_like(p);
    at::div_out(p.mutable_grad(), summed, world_size_);
  }
}

}  // namespace condenser
