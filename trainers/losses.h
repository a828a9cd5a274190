#pragma once
// Distillation losses.
#include <ATen/core/Tensor.h>

namespace condenser {

// Hinton et al.'s knowledge-distillation loss, averaged over the batch:
//   alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)
// where KL(p || q) = sum_c p_c (log p_c - log q_c). The T^2 keeps the soft
// term's gradient scale independent of T. student/teacher: [B, C] logits;
// labels: [B] int64. teacher_logits carries no gradient.
at::Tensor kd_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                   const at::Tensor& labels, double temperature, double alpha);

}  // namespace condenser
