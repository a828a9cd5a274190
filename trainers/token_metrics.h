#pragma once
// Next-token metrics of a language model. A sequence set holds windows of
// token ids: inputs [N, T] int64 and labels [N, T] int64, the token that
// follows each input position, with kIgnoreToken where a window runs past
// the end of its split (padding: scored by nothing). The model maps [B, T]
// ids to [B, T, V] logits.
#include <torch/script.h>

#include <cstdint>

#include "data/text/token_file.h"  // kIgnoreToken: the label of padding
#include "trainers/batch_source.h"

namespace condenser {

class Communicator;

// Windows per evaluation batch: 32 x 128 positions x a 4096-token
// vocabulary is 64 MiB of float32 logits.
constexpr int64_t kSequenceEvalRows = 32;

// Whether a set holds token windows (labels [N, T]) rather than one class per sample.
inline bool is_sequence_set(const LabelledSet& set) {
  return set.labels.defined() && set.labels.dim() == 2;
}

struct TokenScore {
  double nll_sum = 0.0;  // natural-log loss of the true next token, summed over scored tokens
  int64_t correct = 0;   // scored tokens whose argmax is the true next token
  int64_t tokens = 0;    // scored tokens (padding excluded)

  double mean_nll() const { return tokens > 0 ? nll_sum / double(tokens) : 0.0; }
  double perplexity() const;      // exp(mean_nll)
  double bits_per_token() const;  // mean_nll / ln 2
  double accuracy() const { return tokens > 0 ? double(correct) / double(tokens) : 0.0; }
};

// Scores the listed windows of `set` in eval mode without gradients,
// `batch_rows` windows at a time (the [B, T, V] logits of one batch are the
// only large tensor held). With a communicator of several ranks each scores
// its rank_share and the sums are all-reduced: every rank gets the total.
TokenScore score_tokens(torch::jit::Module& module, const LabelledSet& set, int64_t batch_rows,
                        Communicator* comm = nullptr);

// Sums of one batch: logits [B, T, V], labels [B, T] (on the logits' device).
TokenScore score_batch(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace condenser
