#include "data/shards/topk_kl.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace condenser {

std::vector<double> topk_reconstruction_kl(const std::vector<float>& logits, int64_t rows,
                                           int classes, int k, const std::vector<float>& values,
                                           const std::vector<int32_t>& indices,
                                           const std::vector<float>& logsumexp,
                                           double temperature) {
  const size_t n = static_cast<size_t>(rows);
  if (rows < 0 || classes <= 0 || k <= 0 || k > classes || !(temperature > 0) ||
      logits.size() != n * classes || values.size() != n * k || indices.size() != n * k ||
      logsumexp.size() != n) {
    throw RuntimeFailure("topk_reconstruction_kl: sizes do not match rows " +
                         std::to_string(rows) + ", classes " + std::to_string(classes) +
                         ", k " + std::to_string(k));
  }
  std::vector<double> out(n), log_p(static_cast<size_t>(classes));
  std::vector<char> kept(static_cast<size_t>(classes));
  for (size_t r = 0; r < n; ++r) {
    const float* x = logits.data() + r * classes;
    double m = -INFINITY;
    for (int c = 0; c < classes; ++c) m = std::max(m, x[c] / temperature);
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::exp(x[c] / temperature - m);
    for (int c = 0; c < classes; ++c) log_p[c] = x[c] / temperature - m - std::log(sum);
    std::fill(kept.begin(), kept.end(), 0);
    double kl = 0, kept_q = 0;
    for (int i = 0; i < k; ++i) {
      const int32_t c = indices[r * k + i];
      if (c < 0 || c >= classes) throw RuntimeFailure("topk_reconstruction_kl: bad class index");
      const double log_q = values[r * k + i] / temperature - double(logsumexp[r]);
      kept_q += std::exp(log_q);
      kl += std::exp(log_p[c]) * (log_p[c] - log_q);
      kept[c] = 1;
    }
    if (k < classes) {
      const double tail = std::max(1.0 - kept_q, kTopKTailFloor);
      const double log_q = std::log(tail / (classes - k));
      for (int c = 0; c < classes; ++c)
        if (!kept[c]) kl += std::exp(log_p[c]) * (log_p[c] - log_q);
    }
    out[r] = kl;
  }
  return out;
}

}  // namespace condenser
