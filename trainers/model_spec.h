#pragma once
// Models as data: a ModelSpec (config/model_decl.h: a layer list, from the zoo
// or declared in YAML) is turned into a TorchScript module whose forward is
// generated source, so the model trains in C++, saves as a normal TorchScript
// file, loads in Python, and can be rebuilt with smaller tensors (structured
// pruning).
//
// Parameters are named by position: top-level layer i has l<i>_w, l<i>_b
// (BatchNorm also l<i>_mean, l<i>_var buffers); item j of the body of residual
// layer i is l<i>_<j> (l4_0_w, l4_3_w), nested bodies add further indices.
//
// Shapes: images [C,H,W] take conv, pooling, batch_norm; global_avg_pool
// gives [C] and flatten [C*H*W]. Flat inputs ([F], tabular, or after flatten)
// take linear and batch_norm. A linear on an image is refused, not flattened
// silently: add flatten or global_avg_pool, so the layer list says what the
// model does (and structured pruning knows the boundary).
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/model_decl.h"

namespace condenser {

// The built-in zoo: "cnn" (teacher, ~420k parameters on Fashion-MNIST),
// "small_cnn" (student, under 10 % of "cnn"), "mlp", adapted to
// `input_shape` (per sample) and `classes` outputs. The Fashion-MNIST pixel
// statistics normalise only the 1x28x28 shape; other data come normalised by
// the data loader. Throws UsageError listing the valid names, or naming the
// layer that does not fit the shape (the CNNs need images of at least 4x4).
ModelSpec zoo_spec(const std::string& name, const std::vector<int64_t>& input_shape = {1, 28, 28},
                   int64_t classes = 10);
std::vector<std::string> zoo_names();

// Checks that every layer fits its input (see the shapes above), that the
// residual bodies keep their shape, that the input shape is [F] or [C,H,W]
// with a normalisation of 0, 1 or C values (std > 0), and that the last layer
// is a linear with `classes` outputs. Throws UsageError naming key[i] (e.g.
// "student.layers[3]", "student.layers[4].residual[1]") and the shapes.
void check_spec(const ModelSpec& spec, int64_t classes, const std::string& key);

// Per-sample output shape of one layer for a per-sample input shape; throws
// UsageError naming `where` when the layer does not fit.
std::vector<int64_t> layer_output_shape(const LayerSpec& layer, const std::vector<int64_t>& in,
                                        const std::string& where);

// The parameter-name prefix of item `index` of a list whose prefix is
// `parent` ("" for the top level): "l4", "l4_0".
std::string layer_prefix(const std::string& parent, size_t index);

// Trainable parameters of build_model(spec), from the shapes alone.
int64_t parameter_count(const ModelSpec& spec);

// The generated TorchScript `forward` for a spec (exposed for tests and docs).
// It depends on the layer kinds, kernels, strides and normalisation, not on
// channel counts, so a compacted module runs the same source.
std::string model_source(const ModelSpec& spec);

// Builds the module with freshly initialised parameters (Kaiming-normal
// weights, zero biases, identity BatchNorm) drawn from `seed` alone. Throws
// UsageError (as layer_output_shape) when a layer does not fit its input.
torch::jit::Module build_model(const ModelSpec& spec, uint64_t seed);

}  // namespace condenser
