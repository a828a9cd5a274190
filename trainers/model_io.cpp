#include "trainers/model_io.h"

#include <sstream>

#include "core/errors.h"
#include "core/files.h"

namespace condenser {

void save_module(torch::jit::Module& module, const std::string& path) {
  const bool was_training = module.is_training();
  module.eval();
  // Serialised in memory, then written by atomic_write_file: LibTorch's file
  // writer aborts the process (an exception from a destructor) on a full disk.
  std::ostringstream bytes;
  try {
    // Saved files hold CPU tensors, so they load anywhere (map_location-free).
    bool on_cpu = true;
    for (const auto& p : module.parameters()) on_cpu = on_cpu && p.device().is_cpu();
    if (on_cpu) {
      module.save(bytes);
    } else {
      torch::jit::Module copy = module.clone();
      copy.to(c10::kCPU);
      copy.save(bytes);
    }
  } catch (const c10::Error& e) {
    module.train(was_training);
    throw RuntimeFailure("cannot save model to '" + path + "': " + e.what_without_backtrace());
  }
  module.train(was_training);
  atomic_write_file(path, bytes.str());  // the cause (e.g. ENOSPC) named, no .tmp left
}

torch::jit::Module load_module(const std::string& path, const std::string& what) {
  if (!path_exists(path)) throw UsageError(what + " '" + path + "' not found");
  try {
    return torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw UsageError(what + " '" + path + "' is not a TorchScript file that this LibTorch can " +
                     "load (" + e.what_without_backtrace() +
                     "); save it with torch.jit.save(torch.jit.script(model), path)");
  }
}

}  // namespace condenser
