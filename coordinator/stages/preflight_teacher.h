#pragma once
// The teacher probe of preflight: a user's TorchScript teacher is loaded and
// run on a few training images before anything is created or trained, so a
// wrong model (other input or class count, a fixed batch size, NaN outputs,
// batch-dependent outputs) is one usage error, not a traceback mid-job.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>

namespace condenser {

// Loads the teacher at `path` onto `device` and runs it in eval mode on
// `images` (the first B >= 1 training inputs, [B, ...sample shape]) and on
// images[0] alone. `expected_input` says in messages what the teacher must
// take ("[N, 3, 32, 32] float32 inputs (...)").
// Throws UsageError naming the file and the problem: not a regular file or
// not TorchScript, forward fails (the error's last line), the output is not
// [B, classes], holds NaN or infinity, or row 0 of the batch differs from the
// single image's output by more than a float tolerance. Returns the batch's
// logits ([B, classes], float32, on the CPU).
at::Tensor probe_teacher(const std::string& path, const at::Tensor& images, int classes,
                         c10::Device device, const std::string& expected_input);


}  // namespace condenser
