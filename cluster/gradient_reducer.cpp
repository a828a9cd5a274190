#include "cluster/gradient_reducer.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <chrono>
#include <functional>

#include "core/errors.h"

namespace condenser {
namespace {

// Runs `ready` after the grad accumulator has added this step's gradient to
// .grad (the hook PyTorch's C++ reducer uses; the same API in LibTorch 1.13
// and 2.x).
class ReadyHook : public torch::autograd::FunctionPostHook {
 public:
  explicit ReadyHook(std::function<void()> ready) : ready_(std::move(ready)) {}
  torch::autograd::variable_list operator()(
      const torch::autograd::variable_list& outputs,
      const torch::autograd::variable_list& /*inputs*/) override {
    ready_();
    return outputs;
  }

 private:
  std::function<void()> ready_;
};

// Parameter-shaped storage alias of flat[offset, offset + numel). set_()
// shares the storage without making an autograd view: optimizers call
// detach_() on .grad, which autograd refuses on views.
at::Tensor grad_view(const at::Tensor& flat, int64_t offset, const at::Tensor& param) {
  at::Tensor alias = at::empty({0}, flat.options());
  alias.set_(flat.narrow(0, offset, param.numel()).view(param.sizes()));
  return alias;
}

}  // namespace

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
  torch::NoGradGuard no_grad;
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
    slots_[k].bucket = layout_.size() - 1;
    slots_[k].offset = sizes.back();
    layout_.back().push_back(k);
    sizes.back() += p.numel();
  }
  buckets_.resize(layout_.size());
  for (size_t b = 0; b < layout_.size(); ++b) {
    const at::Tensor& first = parameters_[layout_[b].front()];
    buckets_[b].flat = torch::zeros({sizes[b]}, first.options().requires_grad(false));
  }
  for (size_t k = 0; k < parameters_.size(); ++k) {
    slots_[k].view = grad_view(buckets_[slots_[k].bucket].flat, slots_[k].offset, parameters_[k]);
    std::shared_ptr<torch::autograd::Node> accumulator =
        parameters_[k].requires_grad() ? torch::autograd::impl::grad_accumulator(parameters_[k])
                                       : nullptr;
    if (!accumulator) {
      throw RuntimeFailure("gradient reducer: parameter " + std::to_string(k) +
                           " does not require grad (or is not a leaf); pass only trainable "
                           "parameters");
    }
    const uintptr_t key =
        accumulator->add_post_hook(std::make_unique<ReadyHook>([this, k] { mark_ready(k); }));
    hooks_.emplace_back(std::move(accumulator), key);
  }
  prepare();
}

GradientReducer::~GradientReducer() {
  for (auto& [accumulator, key] : hooks_) accumulator->del_post_hook(key);
}

bool GradientReducer::holds_view(size_t index) const {
  const at::Tensor& grad = parameters_[index].grad();
  return grad.defined() && grad.data_ptr() == slots_[index].view.data_ptr();
}

void GradientReducer::prepare() {
  torch::NoGradGuard no_grad;
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t k = 0; k < slots_.size(); ++k) {
    slots_[k].ready = false;
    if (holds_view(k)) continue;  // zero_grad zeroed it in place
    slots_[k].view.zero_();
    parameters_[k].mutable_grad() = slots_[k].view;
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].pending = layout_[b].size();
    buckets_[b].work.reset();
  }
  next_launch_ = 0;
}

void GradientReducer::mark_ready(size_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  Slot& slot = slots_[index];
  if (slot.ready) {
    throw RuntimeFailure("gradient reducer: parameter " + std::to_string(index) +
                         " got two gradients in one step; call prepare() before each backward");
  }
  if (!holds_view(index)) {
    // .grad was replaced after prepare() (zero_grad between prepare and
    // backward, say): bring the gradient into the bucket and the view back.
    torch::NoGradGuard no_grad;
    const at::Tensor& grad = parameters_[index].grad();
    if (grad.defined()) {
      slot.view.copy_(grad);
    } else {
      slot.view.zero_();
    }
    parameters_[index].mutable_grad() = slot.view;
  }
  slot.ready = true;
  --buckets_[slot.bucket].pending;
  if (overlap_) launch_ready_buckets_locked();
}

void GradientReducer::launch_ready_buckets_locked() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& bucket = buckets_[next_launch_];
    bucket.work = comm_.allreduce(bucket.flat, ReduceOp::kSum);
    ++next_launch_;
  }
}

void GradientReducer::finish() {
  {
    torch::NoGradGuard no_grad;
    std::lock_guard<std::mutex> lock(mutex_);
    // Parameters backward did not reach (unused in this step, or no samples
    // on this rank) contribute zeros, so every rank still launches every bucket.
    for (size_t k = 0; k < slots_.size(); ++k) {
      Slot& slot = slots_[k];
      if (slot.ready) continue;
      slot.view.zero_();
      parameters_[k].mutable_grad() = slot.view;
      slot.ready = true;
      --buckets_[slot.bucket].pending;
    }
    launch_ready_buckets_locked();
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto& bucket : buckets_) wait_all(bucket.work);
  exposed_wait_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace condenser
