#pragma once
// A model as data, without LibTorch: the layer list a ModelSpec holds
// (trainers/model_spec.h turns it into TorchScript) and its YAML declaration,
// so `student.layers` / `teacher.layers` are checked when the config loads.
//
// YAML syntax: a list of layers, each a bare name or a one-kind map.
//   - {conv: 32, kernel: 3, padding: 1, stride: 1}  # output channels; kernel 3,
//                                                   # padding kernel/2, stride 1 if left out
//   - batch_norm                  # per channel (images) or per feature (tabular)
//   - relu                        # also gelu, tanh
//   - {max_pool: 2}               # window = stride; also {avg_pool: 2}; bare = 2
//   - global_avg_pool             # mean over H and W: [C,H,W] -> [C], no flatten needed
//   - {residual: [{conv: 32}, batch_norm, relu, {conv: 32}, batch_norm]}  # x + body(x)
//   - flatten                     # [C,H,W] -> [C*H*W]; a no-op on tabular input
//   - {linear: 128}               # output features; needs a flat input
//   - {dropout: 0.3}              # probability in [0, 1)
//   - {linear: 10}                # the last layer: a linear with one output per class
// Flow style works too: [{conv: 16}, relu, global_avg_pool, {linear: 10}].
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace condenser {

enum class LayerKind {
  kConv,
  kBatchNorm,
  kReLU,
  kMaxPool,
  kFlatten,
  kLinear,
  kDropout,
  kGELU,
  kTanh,
  kAvgPool,
  kGlobalAvgPool,
  kResidual,
};

struct LayerSpec {
  LayerKind kind;
  int64_t out = 0;      // conv: output channels; linear: output features
  int64_t kernel = 3;   // conv kernel; max/avg-pool window (= stride)
  int64_t padding = 1;  // conv padding
  double rate = 0.0;    // dropout probability
  int64_t stride = 1;   // conv stride
  std::vector<LayerSpec> body;  // residual: x + body(x); the body keeps the shape
};

struct ModelSpec {
  std::string name;  // zoo name or "student"/"teacher"; also the TorchScript class name
  // Per sample: [C, H, W] for images, [F] for tabular rows.
  std::vector<int64_t> input_shape{1, 28, 28};
  // The module normalises its own input: (x - mean) / std per channel (images)
  // or feature (tabular). One value applies to all; empty = no normalisation.
  std::vector<double> input_mean;
  std::vector<double> input_std;
  std::vector<LayerSpec> layers;
};

// The YAML name of a kind ("conv", "batch_norm", ...).
std::string layer_kind_name(LayerKind kind);

// Parses a layer list (YAML text of the list, the value of `key`). Empty
// text is an empty list. Throws UsageError naming the item, e.g.
// "student.layers[4].residual[1]: unknown layer 'batchnorm'; did you mean
// 'batch_norm'?": unknown layers and options, sizes that are not positive
// integers, dropout outside [0, 1), an empty residual body, text that is not
// YAML or not a list. Shapes are checked later, against the data
// (trainers/model_spec.h check_spec).
std::vector<LayerSpec> parse_model_layers(const std::string& yaml_text, const std::string& key);

// For the config schema: why the text is not a valid layer list (items named
// as layers[i]...), or nullopt.
std::optional<std::string> check_model_layers(const std::string& yaml_text);

}  // namespace condenser
