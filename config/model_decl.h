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
//
// Language models (input [T] token ids, output [T, V] logits, V = classes):
//   - {embedding: 256, positions: rotary}  # first layer: token embedding [V, 256];
//                                          # positions: rotary (in attention) or learned
//   - {block: 4, mlp: 1024, head_dim: 64, repeat: 6}  # pre-norm transformer block with
//                                          # 4 heads; head_dim D/H and repeat 1 if left out;
//                                          # repeat R expands into R separate blocks
//   - layer_norm                           # over the last dimension
//   - lm_head                              # logits from the embedding (tied), or {linear: V}
// The parser fills a block's head_dim from the embedding before it (D must
// then be a multiple of the heads).
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
  kEmbedding,  // language models: token ids [T] -> [T, D]
  kBlock,      // a pre-norm transformer block [T, D] -> [T, D]
  kLayerNorm,  // over the last dimension ([F] or [T, D])
  kLMHead,     // logits tied to the embedding: [T, D] -> [T, V]
};

// How an embedding encodes positions: a learned [T, D] table added to the
// token embeddings, or rotary (RoPE, rotate-half) on q and k in attention.
enum class Positions { kNone, kLearned, kRotary };

struct LayerSpec {
  LayerKind kind;
  int64_t out = 0;      // conv: output channels; linear: output features
  int64_t kernel = 3;   // conv kernel; max/avg-pool window (= stride)
  int64_t padding = 1;  // conv padding
  double rate = 0.0;    // dropout probability
  int64_t stride = 1;   // conv stride
  std::vector<LayerSpec> body;  // residual: x + body(x); the body keeps the shape
  // Language models (embedding: `out` is D).
  int64_t heads = 0;     // block: attention heads H
  int64_t head_dim = 0;  // block: d per head (0: D/H, filled by the parser)
  int64_t mlp = 0;       // block: MLP hidden width M
  Positions positions = Positions::kNone;  // embedding
  int64_t item = -1;  // the YAML item a repeated block came from (-1: its own index)
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
  // Language models: the vocabulary V (= the data's classes): the
  // embedding's rows and lm_head's outputs. Set it with input_shape = {T}.
  int64_t vocab = 0;
};

// True when the layers start with an embedding (input: token ids).
bool is_language_model(const ModelSpec& spec);

// The YAML name of a kind ("conv", "batch_norm", ...).
std::string layer_kind_name(LayerKind kind);

// Parses a layer list (YAML text of the list, the value of `key`). Empty
// text is an empty list. Throws UsageError naming the item, e.g.
// "student.layers[4].residual[1]: unknown layer 'batchnorm'; did you mean
// 'batch_norm'?": unknown layers and options, sizes that are not positive
// integers, dropout outside [0, 1), an empty residual body, text that is not
// YAML or not a list, positions other than rotary/learned, a block without
// mlp or whose D is not a multiple of its heads (no head_dim given). Shapes
// are checked later, against the data (trainers/model_spec.h check_spec).
std::vector<LayerSpec> parse_model_layers(const std::string& yaml_text, const std::string& key);

// For the config schema: why the text is not a valid layer list (items named
// as layers[i]...), or nullopt.
std::optional<std::string> check_model_layers(const std::string& yaml_text);

}  // namespace condenser
