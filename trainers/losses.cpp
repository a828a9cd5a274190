#include "trainers/losses.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/errors.h"

namespace condenser {

at::Tensor kd_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
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

namespace {

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

}  // namespace

at::Tensor sparse_kd_loss(const at::Tensor& student_logits, const at::Tensor& topk_values,
                          const at::Tensor& topk_indices, const at::Tensor& teacher_logsumexp,
                          const at::Tensor& labels, double temperature, double alpha) {
  check_sparse_inputs(student_logits, topk_values, topk_indices, teacher_logsumexp);
  const double t = temperature;
  const at::Tensor idx = topk_indices.to(torch::kInt64);
  // Teacher side, no gradient: log p_i = v_i / T - L, remainder r.
  const at::Tensor log_p = topk_values.detach().to(torch::kFloat32) / t -
                           teacher_logsumexp.detach().to(torch::kFloat32).unsqueeze(1);
  const at::Tensor p = log_p.exp();
  at::Tensor r = (1.0 - p.sum(1)).clamp_min(0.0);

  // Student side: kept log q_i, and the exact log mass of the other classes.
  const at::Tensor z = student_logits / t;
  const at::Tensor lse_all = torch::logsumexp(z, 1);
  const at::Tensor log_q_kept = z.gather(1, idx) - lse_all.unsqueeze(1);
  const at::Tensor kept =
      torch::zeros_like(z, z.options().dtype(torch::kBool)).scatter_(1, idx, true);
  const at::Tensor all_kept = kept.all(1);  // rows with no remainder classes
  // Rows with every class kept would be all -inf, whose logsumexp has a NaN
  // gradient; fill them with 0 (any finite value) and drop them below.
  const at::Tensor rest_logits =
      z.masked_fill(kept, -INFINITY).masked_fill(all_kept.unsqueeze(1), 0.0);
  const at::Tensor log_q_rest = torch::where(all_kept, torch::zeros_like(lse_all),
                                             torch::logsumexp(rest_logits, 1) - lse_all);
  r = torch::where(all_kept, torch::zeros_like(r), r);

  // xlogy(r, r) is 0 at r == 0, so the remainder term vanishes there.
  const at::Tensor kl = (p * (log_p - log_q_kept)).sum(1) + torch::xlogy(r, r) - r * log_q_rest;
  at::Tensor loss = kl.mean().mul(alpha * t * t);
  if (alpha < 1.0) {
    loss = loss + torch::nll_loss(torch::log_softmax(student_logits, 1), labels) * (1.0 - alpha);
  }
  return loss;
}

}  // namespace condenser
