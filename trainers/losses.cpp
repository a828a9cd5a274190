#include "trainers/losses.h"

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "trainers/sparse_kd_function.h"

namespace condenser {

namespace {

at::Tensor kd_loss_rows(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                        const at::Tensor& labels, double temperature, double alpha) {
  const double t = temperature;
  const at::Tensor log_q = torch::log_softmax(student_logits / t, /*dim=*/1);
  const at::Tensor log_p = torch::log_softmax(teacher_logits.detach().to(torch::kFloat32) / t, 1);
  const at::Tensor kl = (log_p.exp() * (log_p - log_q)).sum(1).mean();
  at::Tensor loss = kl.mul(alpha * t * t);
  if (alpha < 1.0) {
    loss = loss + torch::nll_loss(torch::log_softmax(student_logits, 1), labels) * (1.0 - alpha);
  }
  return loss;
}

std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

void check_sparse_inputs(const at::Tensor& s, const at::Tensor& v, const at::Tensor& idx,
                         const at::Tensor& lse) {
  const std::string shapes = "student " + shape_of(s) + ", topk_values " + shape_of(v) +
                             ", topk_indices " + shape_of(idx) + ", teacher_logsumexp " +
                             shape_of(lse);
  if (s.dim() != 2 || v.dim() != 2 || idx.sizes() != v.sizes() || lse.dim() != 1 ||
      v.size(0) != s.size(0) || lse.size(0) != s.size(0)) {
    throw UsageError(
        "sparse_kd_loss: expected student [B, C], topk_values and topk_indices "
        "[B, k], teacher_logsumexp [B]; got " +
        shapes);
  }
  if (v.size(1) < 1 || v.size(1) > s.size(1)) {
    throw UsageError("sparse_kd_loss: k must be in [1, C]; got " + shapes);
  }
  if (idx.scalar_type() != torch::kInt64 && idx.scalar_type() != torch::kInt32) {
    throw UsageError("sparse_kd_loss: topk_indices must be int64 or int32");
  }
}

at::Tensor sparse_kd_rows(const at::Tensor& student_logits, const at::Tensor& topk_values,
                          const at::Tensor& topk_indices, const at::Tensor& teacher_logsumexp,
                          const at::Tensor& labels, double temperature, double alpha) {
  check_sparse_inputs(student_logits, topk_values, topk_indices, teacher_logsumexp);
  const double t = temperature;
  const at::Tensor idx = topk_indices.to(torch::kInt64);
  // Teacher side, no gradient: log p_i = v_i / T - L.
  const at::Tensor log_p = topk_values.detach().to(torch::kFloat32) / t -
                           teacher_logsumexp.detach().to(torch::kFloat32).unsqueeze(1);
  return sparse_kd_rows_fused(student_logits, log_p, idx, labels, t, alpha);
}

// Rows [B * P] of the valid (not kIgnoreToken) tokens, as int64 indices.
at::Tensor valid_tokens(const at::Tensor& labels) {
  return torch::nonzero(labels.reshape(-1) != kIgnoreToken).reshape(-1);
}

// Flattens [B, P, ...] to [B * P, ...] and keeps the rows `keep` (a view,
// not a copy, when every row is kept).
at::Tensor tokens(const at::Tensor& t, const at::Tensor& keep) {
  std::vector<int64_t> shape = {t.size(0) * t.size(1)};
  for (int64_t d = 2; d < t.dim(); ++d) shape.push_back(t.size(d));
  const at::Tensor rows = t.reshape(shape);
  if (keep.numel() == rows.size(0)) return rows;  // keep is 0..n-1 in order
  return rows.index_select(0, keep.to(t.device()));
}

// Zero that still depends on the student, so backward() works with no valid token.
at::Tensor zero_loss(const at::Tensor& student) { return student.sum() * 0.0; }

struct TokenInput {
  const char* name;
  at::Tensor tensor;
  int rank;  // [B, P, ...]
};

void check_token_shapes(const char* fn, const at::Tensor& s, const at::Tensor& labels,
                        const std::vector<TokenInput>& teacher) {
  std::string shapes = std::string("student ") + shape_of(s) + ", labels " + shape_of(labels);
  bool ok = s.dim() == 3 && labels.dim() == 2 && labels.size(0) == s.size(0) &&
            labels.size(1) == s.size(1) && labels.scalar_type() == torch::kInt64;
  for (const TokenInput& in : teacher) {
    const at::Tensor& t = in.tensor;
    shapes += std::string(", ") + in.name + " " + shape_of(t);
    ok = ok && t.dim() == in.rank && t.size(0) == s.size(0) && t.size(1) == s.size(1);
  }
  if (!ok) {
    throw UsageError(std::string(fn) +
                     ": token inputs must be student [B, P, C], teacher [B, P, C] or top-k "
                     "[B, P, k] with logsumexp [B, P], labels int64 [B, P]; got " +
                     shapes);
  }
}

}  // namespace

at::Tensor kd_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                   const at::Tensor& labels, double temperature, double alpha) {
  if (student_logits.dim() != 3) {
    return kd_loss_rows(student_logits, teacher_logits, labels, temperature, alpha);
  }
  check_token_shapes("kd_loss", student_logits, labels, {{"teacher", teacher_logits, 3}});
  if (teacher_logits.size(2) != student_logits.size(2)) {
    throw UsageError("kd_loss: teacher has " + std::to_string(teacher_logits.size(2)) +
                     " classes, student " + std::to_string(student_logits.size(2)));
  }
  const at::Tensor keep = valid_tokens(labels);
  if (keep.numel() == 0) return zero_loss(student_logits);
  return kd_loss_rows(tokens(student_logits, keep), tokens(teacher_logits, keep),
                      tokens(labels, keep), temperature, alpha);
}

at::Tensor sparse_kd_loss(const at::Tensor& student_logits, const at::Tensor& topk_values,
                          const at::Tensor& topk_indices, const at::Tensor& teacher_logsumexp,
                          const at::Tensor& labels, double temperature, double alpha) {
  if (student_logits.dim() != 3) {
    return sparse_kd_rows(student_logits, topk_values, topk_indices, teacher_logsumexp, labels,
                          temperature, alpha);
  }
  check_token_shapes("sparse_kd_loss", student_logits, labels,
                     {{"topk_values", topk_values, 3},
                      {"topk_indices", topk_indices, 3},
                      {"teacher_logsumexp", teacher_logsumexp, 2}});
  const at::Tensor keep = valid_tokens(labels);
  if (keep.numel() == 0) return zero_loss(student_logits);
  return sparse_kd_rows(tokens(student_logits, keep), tokens(topk_values, keep),
                        tokens(topk_indices, keep), tokens(teacher_logsumexp, keep),
                        tokens(labels, keep), temperature, alpha);
}

at::Tensor token_cross_entropy(const at::Tensor& logits, const at::Tensor& labels) {
  check_token_shapes("token_cross_entropy", logits, labels, {});
  const at::Tensor keep = valid_tokens(labels);
  if (keep.numel() == 0) return zero_loss(logits);
  return torch::nll_loss(torch::log_softmax(tokens(logits, keep), 1), tokens(labels, keep));
}

}  // namespace condenser
