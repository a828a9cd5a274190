#include "trainers/sparse_kd_function.h"

#include <torch/torch.h>

#include <limits>

namespace condenser {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class SparseKd : public torch::autograd::Function<SparseKd> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& student,
                            const at::Tensor& log_p, const at::Tensor& idx,
                            const at::Tensor& labels, double t, double alpha) {
    const at::Tensor z = t == 1.0 ? student : student / t;
    at::Tensor q, log_q_kept, ce;
    {
      const at::Tensor log_q = torch::log_softmax(z, 1);  // one fused kernel
      log_q_kept = log_q.gather(1, idx);
      if (alpha < 1.0 && t == 1.0) ce = -log_q.gather(1, labels.unsqueeze(1)).squeeze(1);
      q = log_q.exp();
    }
    q.scatter_(1, idx, 0.0);  // q now holds the classes outside K only
    const double tiny = student.scalar_type() == torch::kDouble ? std::numeric_limits<double>::min()
                                                                : std::numeric_limits<float>::min();
    const at::Tensor q_rest = q.sum(1).clamp_min(tiny);
    const at::Tensor p = log_p.exp();
    // The teacher's mass outside K; none where K is every class (indices are
    // distinct), where r > 0 is only rounding.
    const at::Tensor r = idx.size(1) == student.size(1) ? torch::zeros_like(q_rest)
                                                        : (1.0 - p.sum(1)).clamp_min(0.0);
    // r log(r / q_rest), 0 at r == 0 (also where every class is kept).
    const at::Tensor tail = torch::where(r > 0, r * (r.log() - q_rest.log()), torch::zeros_like(r));
    at::Tensor rows = ((p * (log_p - log_q_kept)).sum(1) + tail).mul_(alpha * t * t);
    at::Tensor y = labels.defined() ? labels : torch::empty({0}, torch::kInt64);
    if (alpha < 1.0) {
      if (t != 1.0) ce = -torch::log_softmax(student, 1).gather(1, y.unsqueeze(1)).squeeze(1);
      rows.add_(ce, 1.0 - alpha);
    }
    ctx->save_for_backward(
        {q, log_q_kept, p, r / q_rest, idx, y, alpha < 1.0 && t != 1.0 ? student : at::Tensor()});
    ctx->saved_data["t"] = t;
    ctx->saved_data["alpha"] = alpha;
    return rows.mean();
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const variable_list s = ctx->get_saved_variables();
    const at::Tensor &q_rest_only = s[0], &log_q_kept = s[1], &p = s[2], &ratio = s[3], &idx = s[4],
                     &y = s[5], &student = s[6];
    const double t = ctx->saved_data["t"].toDouble();
    const double alpha = ctx->saved_data["alpha"].toDouble();
    // At T = 1 the cross-entropy's softmax is q itself: fold it in.
    const double ce_in_q = alpha < 1.0 && t == 1.0 ? 1.0 - alpha : 0.0;
    // Every term scales by the incoming gradient over the row count: fold
    // that into the per-row factors, so the [R, C] gradient is written once.
    const at::Tensor g = grad_out[0] / static_cast<double>(q_rest_only.size(0));
    const at::Tensor q_kept = log_q_kept.exp();
    at::Tensor grad =
        q_rest_only * ((1.0 - ratio).mul_(alpha * t).add_(ce_in_q).mul_(g)).unsqueeze(1);
    grad.scatter_(1, idx, (q_kept - p).mul_(alpha * t).add_(q_kept, ce_in_q).mul_(g));
    if (alpha < 1.0) {
      if (t != 1.0) grad.add_(torch::softmax(student, 1).mul_(g), 1.0 - alpha);
      grad.scatter_add_(1, y.unsqueeze(1), (g * (alpha - 1.0)).expand({grad.size(0), 1}));
    }
    return {grad,         at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor sparse_kd_rows_fused(const at::Tensor& student, const at::Tensor& log_p,
                                const at::Tensor& indices, const at::Tensor& labels,
                                double temperature, double alpha) {
  return SparseKd::apply(student, log_p.detach().to(student.scalar_type()), indices, labels,
                         temperature, alpha);
}

}  // namespace condenser
