#pragma once
// Built-in models as data: a ModelSpec (a sequential list of layers) is turned
// into a TorchScript module whose forward is generated source, so the model
// trains in C++, saves as a normal TorchScript file, loads in Python, and can
// be rebuilt with smaller tensors (structured pruning).
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

namespace condenser {

enum class LayerKind { kConv, kBatchNorm, kReLU, kMaxPool, kFlatten, kLinear, kDropout };

struct LayerSpec {
  LayerKind kind;
  int64_t out = 0;      // conv: output channels; linear: output features
  int64_t kernel = 3;   // conv kernel; max-pool window (= stride)
  int64_t padding = 1;  // conv padding
  double rate = 0.0;    // dropout probability
};

struct ModelSpec {
  std::string name;                          // zoo name, also the TorchScript class name
  std::vector<int64_t> input_shape{1, 28, 28};  // per sample: channels, height, width
  double input_mean = 0.0;  // the module normalises its own input: (x - mean) / std
  double input_std = 1.0;
  std::vector<LayerSpec> layers;
};

// The built-in zoo: "cnn" (teacher, ~420k parameters), "small_cnn" (student,
// under 10 % of "cnn"), "mlp". Throws UsageError listing the valid names.
ModelSpec zoo_spec(const std::string& name);
std::vector<std::string> zoo_names();

// The generated TorchScript `forward` for a spec (exposed for tests and docs).
std::string model_source(const ModelSpec& spec);

// Builds the module with freshly initialised parameters (Kaiming-normal
// weights, zero biases, identity BatchNorm) drawn from `seed` alone.
torch::jit::Module build_model(const ModelSpec& spec, uint64_t seed);

}  // namespace condenser
