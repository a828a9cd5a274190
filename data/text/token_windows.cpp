#include "data/text/token_windows.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/errors.h"

namespace condenser {

int64_t token_window_count(int64_t tokens, int64_t seq_len) {
  if (seq_len < 1) throw RuntimeFailure("token windows: seq_len " + std::to_string(seq_len));
  return tokens < 2 ? 0 : (tokens - 2) / seq_len + 1;
}

int64_t token_pad_input(const TokenFileInfo& info) {
  return info.pad_id >= 0 ? info.pad_id : info.eos_id;
}

TokenWindows make_token_windows(const std::vector<int32_t>& stream, int64_t seq_len,
                                int64_t pad_input, int64_t rows) {
  const int64_t n = static_cast<int64_t>(stream.size());
  const int64_t all = token_window_count(n, seq_len);
  const int64_t windows = rows < 0 ? all : std::min(rows, all);
  TokenWindows w;
  w.inputs = at::full({windows, seq_len}, pad_input, at::kLong);
  w.labels = at::full({windows, seq_len}, kIgnoreToken, at::kLong);
  int64_t* in = w.inputs.data_ptr<int64_t>();
  int64_t* out = w.labels.data_ptr<int64_t>();
  const int64_t positions = windows * seq_len;
  // inputs[p] = stream[p] while p < n; labels[p] = stream[p + 1] while p + 1 < n.
  for (int64_t p = 0, end = std::min(positions, n); p < end; ++p) in[p] = stream[size_t(p)];
  for (int64_t p = 0, end = std::min(positions, n - 1); p < end; ++p) {
    out[p] = stream[size_t(p + 1)];
  }
  return w;
}

ImageDataset load_token_split(const TokenFileInfo& info, const std::string& split,
                              int64_t seq_len) {
  const std::vector<int32_t> stream = read_split_tokens(info, split);
  TokenWindows w = make_token_windows(stream, seq_len, token_pad_input(info));
  ImageDataset d;
  d.images = std::move(w.inputs);
  d.labels = std::move(w.labels);
  d.num_classes = static_cast<int>(info.vocab_size);
  d.fingerprint = info.sha256;
  return d;
}

}  // namespace condenser
