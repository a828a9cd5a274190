#pragma once
// Forward-pass cost per sample of a model built from a ModelSpec, counted
// from its spec and its actual weights: a multiply-add is 2 FLOPs. Dense counts every weight;
// effective counts only nonzero weights (what a sparse kernel would pay), so
// unstructured pruning lowers `flops` and structured compaction lowers both.
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "trainers/model_spec.h"

namespace condenser {

struct LayerFlops {
  std::string name;  // the weight, e.g. l0_w or l4_0_w
  int64_t dense = 0;
  int64_t effective = 0;
};

struct ModelFlops {
  int64_t dense = 0;
  int64_t effective = 0;
  std::vector<LayerFlops> layers;  // conv and linear layers, in order
  bool per_token = false;          // language models: per token, not per sample
};

// `spec` gives the layer order and spatial sizes (channel counts come from
// the module's weights, so a compacted module is counted as it is).
// Layers inside residual bodies count under their own names (l4_0_w).
// Biases, BatchNorm, activations, pooling (global too) and residual adds
// are not counted.
//
// Language models (is_language_model(spec)) are counted per token at the
// spec's T = input_shape[0] (per_token = true): every weight matrix a
// position multiplies costs 2 x its entries (l<i>_qkv_w, _o_w, _fc1_w,
// _fc2_w, an untied head l<i>_w; the tied lm_head counts the embedding as
// "lm_head(l0_w)": 2 V D); attention in block i ("l<i>_attn") scores the t
// keys of position t and mixes their values, 2*2*t*H*d FLOPs, which averaged
// over the causal positions t = 1..T is 2*H*d*(T+1), with H = qkv rows /
// (3 d) of the module's weights (effective = dense). The embedding lookup,
// learned positions, biases, LayerNorm, GELU, softmax, rotary and residual
// adds are not counted.
ModelFlops model_flops(const ModelSpec& spec, const torch::jit::Module& module);

}  // namespace condenser
