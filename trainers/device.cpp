#include "trainers/device.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include "core/errors.h"

namespace condenser {

c10::Device resolve_device(const std::string& spec, int local_rank) {
  if (spec == "cpu") return c10::Device(c10::kCPU);
  const bool cuda = spec == "cuda" || spec.rfind("cuda:", 0) == 0;
  if (!cuda) {
    throw UsageError("runtime.device: '" + spec + "' is not a device; use cpu, cuda or cuda:N");
  }
#ifndef CONDENSER_WITH_CUDA
  (void)local_rank;
  throw UsageError("runtime.device: '" + spec +
                   "' asks for CUDA, but this condenser was built without it "
                   "(CONDENSER_WITH_CUDA=OFF, a CPU LibTorch); use runtime.device=cpu or rebuild "
                   "against a CUDA LibTorch");
#else
  int index = 0;
  if (spec.size() > 5) {
    const std::string digits = spec.substr(5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
      throw UsageError("runtime.device: '" + spec + "' has a bad GPU index; use cuda:N");
    }
    index = std::stoi(digits);
  }
  const int available = static_cast<int>(torch::cuda::device_count());
  if (spec == "cuda" && available > 0) index = local_rank % available;
  if (index >= available) {
    throw UsageError("runtime.device: '" + spec + "' but this machine has " +
                     std::to_string(available) + " CUDA device(s); use cpu or a smaller index");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
#endif
}

at::Tensor pinned_copy(const at::Tensor& host) {
  at::Tensor pinned = at::empty(host.sizes(), host.options().pinned_memory(true));
  pinned.copy_(host);
  return pinned;
}

at::Tensor gather_pinned(const at::Tensor& source, const at::Tensor& index) {
  std::vector<int64_t> sizes = source.sizes().vec();
  sizes[0] = index.numel();
  at::Tensor pinned = at::empty(sizes, source.options().pinned_memory(true));
  at::index_select_out(pinned, source, 0, index);
  return pinned;
}

at::Tensor to_device(const at::Tensor& host, c10::Device device) {
  if (!device.is_cuda() || !host.device().is_cpu()) return host.to(device);
  return (host.is_pinned() ? host : pinned_copy(host)).to(device, /*non_blocking=*/true);
}

at::Tensor gather_to_device(const at::Tensor& source, const at::Tensor& index,
                            c10::Device device) {
  if (!device.is_cuda() || !source.device().is_cpu()) {
    return source.index_select(0, index).to(device);
  }
  return gather_pinned(source, index).to(device, /*non_blocking=*/true);
}

}  // namespace condenser
