#pragma once
// Saving and loading TorchScript modules safely.
#include <torch/script.h>

#include <string>

namespace condenser {

// Saves in eval mode (what a user deploys) to `path + ".tmp"`, fsyncs and
// renames, so `path` is always a complete file. Restores the training flag.
void save_module(torch::jit::Module& module, const std::string& path);

// Loads a TorchScript file onto the CPU. `what` names it in errors ("teacher
// 'x.pt'"): a missing or unreadable file is a UsageError saying so.
torch::jit::Module load_module(const std::string& path, const std::string& what);

// The extra file `name` stored in a TorchScript archive (torch.jit.save's
// _extra_files), or "" when it has none; e.g. an exported language model's
// "tokenizer.model". Errors as load_module.
std::string module_extra_file(const std::string& path, const std::string& name,
                              const std::string& what);

// A model's identity: SHA-256 over every parameter and buffer (name, dtype,
// shape, bytes, in name order) and the code of every method of every
// submodule (graphs without source locations). Unlike the file's hash it
// does not change when the same module is saved again (torch.jit.save
// writes a different file each time), so unchanged soft labels stay valid.
// The module may live on any device; values are hashed as stored (CPU copy).
std::string module_identity(const torch::jit::Module& module);

// The last non-empty line of a (TorchScript) error message: the line that
// says what failed, without the interpreter's traceback.
std::string last_line(const std::string& message);

}  // namespace condenser
