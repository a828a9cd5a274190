#include "trainers/model_io.h"

#include <map>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"

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

std::string module_extra_file(const std::string& path, const std::string& name,
                              const std::string& what) {
  if (!path_exists(path)) throw UsageError(what + " '" + path + "' not found");
  torch::jit::ExtraFilesMap extra{{name, ""}};
  try {
    torch::jit::load(path, torch::kCPU, extra);
  } catch (const c10::Error& e) {
    throw UsageError(what + " '" + path + "' is not a TorchScript file that this LibTorch can " +
                     "load (" + e.what_without_backtrace() + ")");
  }
  return extra[name];
}

namespace {

void hash_text(Sha256& hash, const std::string& text) {
  const uint64_t n = text.size();  // length first: "ab"+"c" differs from "a"+"bc"
  hash.update(&n, sizeof n);
  hash.update(text.data(), text.size());
}

void hash_tensor(Sha256& hash, const std::string& name, const at::Tensor& value) {
  const at::Tensor t = value.detach().to(c10::kCPU).contiguous();
  std::string header = name + " " + std::string(c10::toString(t.scalar_type())) + " [";
  for (int64_t d : t.sizes()) header += std::to_string(d) + ",";
  hash_text(hash, header + "]");
  hash.update(t.data_ptr(), t.numel() * t.element_size());
}

}  // namespace

std::string module_identity(const torch::jit::Module& module) {
  Sha256 hash;
  std::map<std::string, at::Tensor> values;  // sorted: the order of registration may differ
  for (const auto& p : module.named_parameters(/*recurse=*/true)) values["p " + p.name] = p.value;
  for (const auto& b : module.named_buffers(/*recurse=*/true)) values["b " + b.name] = b.value;
  for (const auto& v : values) hash_tensor(hash, v.first, v.second);
  std::map<std::string, std::string> code;
  for (const auto& sub : module.named_modules()) {
    for (const auto& method : sub.value.get_methods()) {
      code[sub.name + "." + method.name()] = method.graph()->toString(/*print_source_locations=*/false);
    }
  }
  for (const auto& c : code) hash_text(hash, c.first + "\n" + c.second);
  return hash.hex_digest();
}

std::string last_line(const std::string& message) {
  std::istringstream lines(message);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  const std::size_t start = last.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : last.substr(start);
}

}  // namespace condenser
