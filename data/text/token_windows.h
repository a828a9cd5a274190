#pragma once
// Token streams as training samples: a split of n tokens gives
// ceil((n - 1) / T) windows of T = seq_len positions. Window i has inputs
// stream[i*T, i*T + T) and labels (the next tokens) stream[i*T + 1,
// i*T + T + 1). Positions past the end are padding: input = the pad id (eos
// when the tokenizer has no pad), label = kIgnoreToken (-100, skipped by the
// losses). So every next-token pair (stream[p], stream[p + 1]) is a label
// exactly once, and windows never overlap.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/text/token_file.h"

namespace condenser {

// ceil((tokens - 1) / seq_len); 0 when tokens < 2.
int64_t token_window_count(int64_t tokens, int64_t seq_len);

// The id inputs are padded with: pad, else eos.
int64_t token_pad_input(const TokenFileInfo& info);

struct TokenWindows {
  at::Tensor inputs;  // int64 [N, T]
  at::Tensor labels;  // int64 [N, T], kIgnoreToken past the end
};

// The first `rows` windows of `stream` (all when rows < 0).
TokenWindows make_token_windows(const std::vector<int32_t>& stream, int64_t seq_len,
                                int64_t pad_input, int64_t rows = -1);

// A split of a checked token file as samples: images = inputs, labels,
// num_classes = vocab_size, fingerprint = the file's SHA-256.
ImageDataset load_token_split(const TokenFileInfo& info, const std::string& split, int64_t seq_len);

}  // namespace condenser
