#include "trainers/model_io.h"

#include <filesystem>

#include "core/errors.h"
#include "core/files.h"

namespace condenser {

void save_module(torch::jit::Module& module, const std::string& path) {
  const bool was_training = module.is_training();
  module.eval();
  const std::string tmp = path + ".tmp";
  try {
    // Saved files hold CPU tensors, so they load anywhere (map_location-free).
    bool on_cpu = true;
    for (const auto& p : module.parameters()) on_cpu = on_cpu && p.device().is_cpu();
    if (on_cpu) {
      module.save(tmp);
    } else {
      torch::jit::Module copy = module.clone();
      copy.to(c10::kCPU);
      copy.save(tmp);
    }
  } catch (const c10::Error& e) {
    module.train(was_training);
    throw RuntimeFailure("cannot save model to '" + tmp + "': " + e.what_without_backtrace());
  }
  module.train(was_training);
  fsync_file(tmp);
  std::filesystem::rename(tmp, path);
  fsync_dir(parent_dir(path));
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
