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
// Language models (first layer an embedding; input_shape {T}, a batch of
// int64 ids [B, T]; output [B, T, V] logits, V = spec.vocab = classes):
//   embedding i:  l<i>_w [V, D] (normal 0.02); learned positions also
//                 l<i>_pos [T, D] (normal 0.02; T = input_shape[0] rows)
//   block i:      l<i>_ln1_w, l<i>_ln1_b [D] (LayerNorm, eps 1e-5; 1 and 0)
//                 l<i>_qkv_w [3*H*d, D], l<i>_qkv_b [3*H*d]: rows q then k then v,
//                   each H heads of d contiguous rows (head h: rows h*d..h*d+d-1)
//                 l<i>_o_w [D, H*d], l<i>_o_b [D]   (columns grouped by head)
//                 l<i>_ln2_w, l<i>_ln2_b [D]
//                 l<i>_fc1_w [M, D], l<i>_fc1_b [M], l<i>_fc2_w [D, M], l<i>_fc2_b [D]
//                 x + o(attn(ln1(x))), then x + fc2(gelu(fc1(ln2(x)))); causal
//                 softmax(q k^T / sqrt(d)) v; rotary (rotate-half, base 10000,
//                 angles in float64) on q and k when the embedding says so.
//                 Weights normal(0, 0.02), o and fc2 normal(0, 0.02/sqrt(2*blocks)),
//                 biases zero.
//   layer_norm i: l<i>_w, l<i>_b (1 and 0)
//   every layer norm (blocks' too) normalises over norm_width channels (below)
//   lm_head:      no parameters: logits = x @ l0_w^T (tied to the embedding)
//   linear i on [T, D]: l<i>_w [V, D], l<i>_b (normal 0.02, zero bias), per position
// The generated source depends only on the kinds, each block's head_dim and
// the positions kind: heads = qkv rows / (3*d), D and M come from the
// tensors, so a module rebuilt with fewer heads (qkv rows and o columns of
// whole heads removed), fewer MLP neurons (fc1 rows, fc2 columns) or a
// narrower D (every [.., D] tensor sliced alike) runs the same source.
//
// Shapes: images [C,H,W] take conv, pooling, batch_norm; global_avg_pool
// gives [C] and flatten [C*H*W]. Flat inputs ([F], tabular, or after flatten)
// take linear and batch_norm. A linear on an image is refused, not flattened
// silently: add flatten or global_avg_pool, so the layer list says what the
// model does (and structured pruning knows the boundary). Sequences [T, D]
// (after an embedding) take block, layer_norm, linear (per position),
// lm_head, activations and dropout; layer_norm also takes [F].
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
// Language models: input [T] without normalisation, spec.vocab == classes,
// the embedding first and only there, blocks with heads, mlp and head_dim
// set (even head_dim with rotary), the last layer lm_head or a linear with
// `classes` outputs. A repeated block is named by its YAML item.
void check_spec(const ModelSpec& spec, int64_t classes, const std::string& key);

// Per-sample output shape of one layer for a per-sample input shape; throws
// UsageError naming `where` when the layer does not fit. `vocab` is the
// spec's vocabulary, the width lm_head gives.
std::vector<int64_t> layer_output_shape(const LayerSpec& layer, const std::vector<int64_t>& in,
                                        const std::string& where, int64_t vocab = 0);

// The parameter-name prefix of item `index` of a list whose prefix is
// `parent` ("" for the top level): "l4", "l4_0".
std::string layer_prefix(const std::string& parent, size_t index);

// Trainable parameters of build_model(spec), from the shapes alone (a tied
// lm_head counts nothing: its weight is the embedding's).
int64_t parameter_count(const ModelSpec& spec);

// The generated TorchScript `forward` for a spec (exposed for tests and docs).
// It depends on the layer kinds, kernels, strides and normalisation, not on
// channel counts, so a compacted module runs the same source.
std::string model_source(const ModelSpec& spec);

// A language model's `probe(self, x) -> List[Tensor]`: the same computation
// as forward, returning per block (in layer order) the statistics pruning
// ranks by: mean |x| per channel entering each layer norm (then also before
// the final layer norm), mean L2 norm per attention head of its output, mean
// |activation| per MLP neuron, and 1 - cosine(block input, block output).
std::string model_probe_source(const ModelSpec& spec);

// Builds the module with freshly initialised parameters (Kaiming-normal
// weights, zero biases, identity BatchNorm; language models as above) drawn
// from `seed` alone. Throws UsageError (as layer_output_shape) when a layer
// does not fit its input.
torch::jit::Module build_model(const ModelSpec& spec, uint64_t seed);

// build_model for a language model (trainers/lm_build.cpp; build_model
// calls it when is_language_model(spec)).
torch::jit::Module build_language_model(const ModelSpec& spec, uint64_t seed);

// A language model's layer norms normalise over `norm_width` channels, an
// int attribute of the module: its width D, except while a width cut of
// embedding channels is a mask (trainers/pruning/lm_prune.h), when it is the
// number of channels kept. Every module running model_source of a language
// model needs it: add_norm_width registers it before define().
void add_norm_width(torch::jit::Module& module, int64_t width);
void set_norm_width(torch::jit::Module& module, int64_t width);
int64_t norm_width(const torch::jit::Module& module);

}  // namespace condenser
