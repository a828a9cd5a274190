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
    module.save(tmp);
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
