#pragma once
// The parts of a training loop's state LibTorch keeps outside the module:
// the optimizer's (Adam moments, SGD momentum, step counts) and the CPU
// random generator's (dropout). Captured exactly, so a resumed stage takes
// the same steps an uninterrupted one would.
#include <ATen/core/Tensor.h>

#include <string>

namespace torch::optim {
class Optimizer;
}

namespace condenser {

std::string serialize_optimizer(torch::optim::Optimizer& optimizer);
// RuntimeFailure when the bytes do not fit this optimizer's parameters.
void restore_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes);

at::Tensor cpu_rng_state();  // uint8, the default CPU generator's full state
void set_cpu_rng_state(const at::Tensor& state);

}  // namespace condenser
