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

}  // namespace condenser
