#pragma once
// The sparse (top-k) KD loss of trainers/losses.h on rows, as one autograd
// node. Autograd through the plain tensor formula makes about twenty passes
// over the [rows, C] logits (two logsumexps, masks, scatters and their
// backwards); for a language model's vocabulary those passes cost as much as
// the student. This node runs one fused log_softmax, one exp and one sum
// forward, writes the gradient once backward, and in closed form:
//   d loss_row / d s_j = alpha T (q_j c_j - p_j [j in K])
//                        + (1 - alpha) (softmax(s)_j - [j = y])
//   c_j = 1 for j in K,  1 - r / q_rest otherwise
// with q = softmax(s / T), q_rest its mass outside K. q_rest is the sum of
// those classes' probabilities (never 1 minus the kept ones, which cancels
// when the kept mass is close to 1), floored at the smallest normal number
// of the student's type so that a tail that underflows stays finite.
#include <ATen/core/Tensor.h>

namespace condenser {

// student: [R, C] logits (float or double, the only input with a gradient);
// log_p: [R, k] teacher log-probabilities of the kept classes at T (the
// teacher's remainder r = max(0, 1 - sum exp(log_p)), 0 when k = C);
// indices: [R, k] int64, distinct per row; labels: [R] int64 (read only when
// alpha < 1). Returns mean over rows of alpha T^2 KL + (1 - alpha) CE.
at::Tensor sparse_kd_rows_fused(const at::Tensor& student, const at::Tensor& log_p,
                                const at::Tensor& indices, const at::Tensor& labels,
                                double temperature, double alpha);

}  // namespace condenser
