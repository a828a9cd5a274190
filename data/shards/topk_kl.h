#pragma once
// How much a top-k shard loses: KL(teacher || reconstructed) per stored
// distribution, where the teacher is the full softmax of the original logits
// at temperature T and the reconstruction is what a shard gives back:
//   q_i     = exp(v_i / T - L)             for the k stored classes (v decoded)
//   tail    = max(1 - sum_i q_i, 1e-12)    spread evenly: q_c = tail / (C - k)
//             over every other class (no tail when k == C)
//   KL      = sum_c p_c (log p_c - log q_c), p_c = softmax(logits / T)_c
// The floor keeps the KL finite when rounding makes the kept mass reach 1.
// Used by `condenser bench topk_kl`; checked against PyTorch in
// tests/interop/topk_kl_reference.py. No LibTorch.
#include <cstdint>
#include <vector>

namespace condenser {

constexpr double kTopKTailFloor = 1e-12;

// logits: rows * classes (row-major, the original teacher logits); values and
// indices: rows * k (as read back from a shard); logsumexp: rows (as stored).
// Returns rows KL values in nats, computed in double. RuntimeFailure on
// mismatched sizes or indices outside [0, classes).
std::vector<double> topk_reconstruction_kl(const std::vector<float>& logits, int64_t rows,
                                           int classes, int k, const std::vector<float>& values,
                                           const std::vector<int32_t>& indices,
                                           const std::vector<float>& logsumexp,
                                           double temperature);

}  // namespace condenser
