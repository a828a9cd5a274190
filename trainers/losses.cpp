#include "trainers/losses.h"

#include <torch/torch.h>

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

}  // namespace condenser
