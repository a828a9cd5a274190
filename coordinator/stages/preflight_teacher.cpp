#include "coordinator/stages/preflight_teacher.h"

#include <c10/util/Exception.h>
#include <sys/stat.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <sstream>

#include "core/errors.h"
#include "trainers/model_io.h"

namespace condenser {
namespace {

std::string shape_text(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// One forward pass; any failure inside the model is the user's teacher not
// fitting this data, said in one line.
at::Tensor run_once(torch::jit::Module& teacher, const at::Tensor& x, const std::string& path,
                    c10::Device device, const std::string& expected_input) {
  const auto fails = [&](const std::string& error) {
    return UsageError("teacher '" + path + "' fails on " + shape_text(x) + " " +
                      (x.scalar_type() == at::kLong ? "int64" : "float32") + " inputs: " + last_line(error) +
                      "; it must take " + expected_input +
                      " for any N and return [N, classes] logits");
  };
  c10::IValue out;
  try {
    torch::NoGradGuard no_grad;
    out = teacher.forward({x.to(device)});
  } catch (const c10::Error& e) {
    throw fails(e.what_without_backtrace());
  } catch (const std::exception& e) {  // the interpreter's own errors (JITException)
    throw fails(e.what());
  }
  if (!out.isTensor()) {
    throw UsageError("teacher '" + path + "' returns " + out.tagKind() +
                     ", not a tensor of logits; its forward must return [N, classes]");
  }
  return out.toTensor().detach().to(c10::kCPU).to(torch::kFloat32);
}

// Token windows [N, T] give one distribution per position: [N, T, V].
void check_sequence_output(const at::Tensor& out, const at::Tensor& x, int classes,
                           const std::string& path) {
  const int64_t batch = x.size(0), positions = x.size(1);
  if (out.dim() != 3 || out.size(0) != batch || out.size(1) != positions ||
      out.size(2) != classes) {
    throw UsageError("teacher '" + path + "' returns shape " + shape_text(out) + " for " +
                     std::to_string(batch) + " windows of " + std::to_string(positions) +
                     " tokens; expected [" + std::to_string(batch) + ", " +
                     std::to_string(positions) + ", " + std::to_string(classes) +
                     "] logits (one distribution over the " + std::to_string(classes) +
                     "-token vocabulary per position: is it the tokenizer's vocabulary?)");
  }
}

void check_output(const at::Tensor& out, const at::Tensor& x, int classes,
                  const std::string& path) {
  const int64_t batch = x.size(0);
  if (x.dim() == 2 && x.scalar_type() == at::kLong) {
    check_sequence_output(out, x, classes, path);
  } else if (out.dim() != 2 || out.size(0) != batch || out.size(1) != classes) {
    throw UsageError("teacher '" + path + "' returns shape " + shape_text(out) + " for " +
                     std::to_string(batch) + " images; expected [" + std::to_string(batch) +
                     ", " + std::to_string(classes) + "] logits (" + std::to_string(classes) +
                     " classes, and any batch size: was it traced or written for a fixed batch?)");
  }
  if (!torch::isfinite(out).all().item<bool>()) {
    throw UsageError("teacher '" + path + "' returns NaN or infinite logits for the first " +
                     "training images; check its weights (a diverged or damaged model)");
  }
}

}  // namespace

at::Tensor probe_teacher(const std::string& path, const at::Tensor& images, int classes,
                         c10::Device device, const std::string& expected_input) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    throw UsageError("teacher.path '" + path + "' is not a regular file; give a TorchScript "
                     "file saved with torch.jit.save");
  }
  torch::jit::Module teacher = load_module(path, "teacher");
  teacher.eval();
  teacher.to(device);
  const int64_t batch = images.size(0);
  const at::Tensor together = run_once(teacher, images, path, device, expected_input);
  check_output(together, images, classes, path);
  const at::Tensor alone = run_once(teacher, images.slice(0, 0, 1), path, device, expected_input);
  check_output(alone, images.slice(0, 0, 1), classes, path);
  // Eval-mode outputs of one image do not depend on its batch mates; float
  // kernels for other batch sizes may differ in the last bits.
  const double scale = 1.0 + alone.abs().max().item<double>();
  const double diff = (together[0] - alone[0]).abs().max().item<double>();
  if (diff > 1e-3 * scale) {
    throw UsageError("teacher '" + path + "' gives the first training image other logits in a "
                     "batch of " + std::to_string(batch) + " than alone (max difference " +
                     std::to_string(diff) + "); a sample's logits must not depend on its batch "
                     "(BatchNorm in training mode? save the model after model.eval())");
  }
  return together;
}

}  // namespace condenser
