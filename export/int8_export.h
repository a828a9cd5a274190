#pragma once
// Optional int8 export: dynamic quantization of a student's linear layers
// (weights stored as int8 per tensor, activations quantized on the fly by
// quantized::linear_dynamic), done on the TorchScript module itself, since
// quantize_dynamic is a Python-only (eager) transformation.
#include <torch/script.h>

#include <string>

#include "trainers/model_spec.h"

namespace condenser {

struct Int8Model {
  bool available = false;
  std::string reason;         // why not, when unavailable
  std::string engine;         // the quantized engine that packed the weights
  torch::jit::Module module;  // eval mode; same input and output as the student
  int64_t quantized_layers = 0;
};

// `student` must be built from `spec` (parameters l<i>_w / l<i>_b, l<i>_<j>_w
// in residual bodies, as build_model and compact() name them; a compacted
// student may come with its uncompacted spec). Every linear layer, residual
// bodies included, is quantized; convolutions, BatchNorm and biases stay
// float32. Unavailable (with the reason) when this LibTorch has
// no quantized engine or the student has no linear layer.
Int8Model quantize_linear_dynamic(const torch::jit::Module& student, const ModelSpec& spec);

}  // namespace condenser
