#pragma once
// Distillation losses, per sample ([B, C]) or per token ([B, P, C], below).
#include <ATen/core/Tensor.h>

#include "data/text/token_file.h"  // kIgnoreToken (-100): the label of padding

#include <cstdint>

namespace condenser {

// Hinton et al.'s knowledge-distillation loss, averaged over the batch:
//   alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)
// where KL(p || q) = sum_c p_c (log p_c - log q_c). The T^2 keeps the soft
// term's gradient scale independent of T. student/teacher: [B, C] logits;
// labels: [B] int64. teacher_logits carries no gradient.
at::Tensor kd_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                   const at::Tensor& labels, double temperature, double alpha);

// Sparse (top-k) distillation: the teacher stored only its k largest logits per
// sample plus the log-partition at temperature T, so its distribution is known
// on the kept classes K and lumped into one remainder bucket elsewhere:
//   p_i    = exp(v_i / T - L)                 for the k kept classes i in K
//   r      = max(0, 1 - sum_i p_i)            teacher mass outside K
//   log q  = log_softmax(s / T)               student, all C classes
//   log q_rest = log sum_{c not in K} q_c   (a sum of those classes, never
//                1 minus the kept mass; see trainers/sparse_kd_function.h)
//   KL     = sum_i p_i (log p_i - log q_i) + r (log r - log q_rest)
//            (the r-term is 0 when r == 0, and when K covers every class:
//             there is no remainder then and r > 0 is only rounding)
//   loss   = alpha * T^2 * mean_batch(KL) + (1 - alpha) * CE(s, y)
// At k = C with exact L this is kd_loss(student, full teacher logits).
// student_logits: [B, C] float; topk_values: [B, k] raw teacher logits (not
// divided by T); topk_indices: [B, k] int64 or int32, distinct per row, in
// [0, C); teacher_logsumexp: [B], L = log sum_c exp(t_c / T) over all C
// classes at this T; labels: [B] int64 (unused when alpha == 1). The teacher
// tensors carry no gradient. Throws UsageError on mismatched shapes, k < 1,
// k > C, or non-integer indices.
at::Tensor sparse_kd_loss(const at::Tensor& student_logits, const at::Tensor& topk_values,
                          const at::Tensor& topk_indices, const at::Tensor& teacher_logsumexp,
                          const at::Tensor& labels, double temperature, double alpha);

// Token sequences (language models). A label of kIgnoreToken marks a padding
// position: it is left out of both terms, and every mean is over the valid
// tokens of the whole batch (not per sequence). With no valid token the loss
// is 0 (still attached to the graph, so backward gives zero gradients).
// The teacher tensors of padding positions are never read into the loss, so
// they may hold anything (NaN included).
//   kd_loss:        student, teacher [B, P, C]; labels [B, P]
//   sparse_kd_loss: student [B, P, C]; topk_values, topk_indices [B, P, k];
//                   teacher_logsumexp [B, P]; labels [B, P]
// (the overloads above dispatch on student_logits.dim() == 3); the labels are
// needed even at alpha == 1, for the padding. Per valid token the terms are
// exactly the [B, C] losses above.

// Mean cross-entropy over the valid tokens: logits [B, P, V], labels [B, P]
// int64 (kIgnoreToken = padding). 0 when no token is valid. UsageError on
// mismatched shapes.
at::Tensor token_cross_entropy(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace condenser
